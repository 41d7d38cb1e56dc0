"""Prefect and Dask: the ingestion and sync flows, the scheduled `lcd serve` deployment, where extraction
tasks run (this process, a local or a remote Dask cluster), and the lifetime of the processes a run starts.

Nothing outside this package and the CLI imports Prefect; importing the package itself imports nothing."""
