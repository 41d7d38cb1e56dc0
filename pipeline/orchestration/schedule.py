"""Defaults of the scheduled update (kept apart from pipeline.orchestration.serve so the CLI does not import Prefect)."""

DEFAULT_CRON = "0 6 * * 1"  # weekly, Mondays 06:00 (server time zone): CMS publishes LCD changes weekly
DEFAULT_DEPLOYMENT = "lcd-weekly-update"
