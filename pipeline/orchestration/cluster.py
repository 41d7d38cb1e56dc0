"""Where `lcd ingest` runs its extraction tasks: in this process, on a local Dask cluster of N worker
processes, or on an existing Dask cluster (`--dask-address` / LCD_DASK_ADDRESS).

Only the parse+extract task ever leaves this process: sources are read and the warehouse is written
here, so the workers need the package and its models/, not the files or the DuckDB file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pipeline import settings

# Below this many batches a local cluster costs more to start (~3 s, plus loading the model in every
# worker) than a second core saves.
AUTO_CLUSTER_MIN_BATCHES = 4


class ClusterError(Exception):
    """The Dask cluster asked for cannot be used (bad address, unreachable scheduler, no workers)."""


@dataclass(frozen=True)
class Execution:
    """How a run executes its extraction tasks: the Prefect task runner (None: Prefect's default thread
    pool in this process), how many batches may be in flight, and a one-line description for the summary."""

    task_runner: Any
    in_flight: int
    description: str
    processes: int = 1  # processes extracting at once


def resolve_workers(workers: str | int | None, batches: int, cpus: int | None = None) -> int:
    """The number of local worker processes for `--workers` ("auto", or N >= 0; 0 means this process).

    "auto" uses every core once the run has enough batches to pay for starting the workers."""
    cpus = cpus or os.cpu_count() or 1
    if workers is None or workers == "auto":
        return cpus if cpus > 1 and batches >= AUTO_CLUSTER_MIN_BATCHES else 0
    try:
        count = int(workers)
    except ValueError:
        raise ClusterError(f"--workers must be a number or 'auto', got {workers!r}") from None
    if count < 0:
        raise ClusterError(f"--workers must be 0 or more, got {count}")
    return count


def normalize_address(address: str) -> str:
    """A scheduler address as Dask wants it ("tcp://host:port"); a bare "host:port" gets tcp://."""
    address = address.strip()
    if not address:
        raise ClusterError("empty Dask scheduler address")
    if "://" not in address:
        address = f"tcp://{address}"
    scheme, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in {"tcp", "tls", "inproc", "ucx", "ws", "wss"} or not host or not port.isdigit():
        raise ClusterError(f"not a Dask scheduler address: {address!r} (expected tcp://HOST:PORT)")
    return address


def cluster_threads(address: str, timeout: float = 10.0) -> int:
    """The number of worker threads an existing cluster offers; ClusterError when it cannot be reached or has none."""
    from distributed import Client

    try:
        with Client(address, timeout=timeout, set_as_default=False) as client:
            threads = sum(client.nthreads().values())
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    if threads == 0:
        raise ClusterError(f"the Dask cluster at {address} has no workers")
    return threads


def plan_execution(address: str | None, workers: str | int | None, batches: int) -> Execution:
    """The task runner for a run: an existing cluster when an address is given (flag, then LCD_DASK_ADDRESS),
    else a local cluster of `workers` processes, else this process."""
    address = address or settings.dask_address()
    if address:
        from prefect_dask import DaskTaskRunner

        address = normalize_address(address)
        threads = cluster_threads(address)
        # Two batches per worker thread keep every worker busy while this process loads results.
        return Execution(DaskTaskRunner(address=address), 2 * threads, f"Dask cluster {address} ({threads} worker threads)", threads)
    count = resolve_workers(workers, batches)
    if count == 0:
        # One batch extracts in a worker thread while this thread loads the one before it; never two at
        # once, as one spaCy pipeline is shared by the process.
        return Execution(None, 1, "this process")
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": count, "threads_per_worker": 1, "processes": True, "dashboard_address": None},
    )
    return Execution(runner, 2 * count, f"local Dask cluster of {count} process{'es' if count > 1 else ''}", count)
