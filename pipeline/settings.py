"""Every LCD_* environment variable the pipeline reads, and nothing else reads them.

Each accessor reads the environment when it is called (tests change it, users set it per run), so
nothing is cached at import. The ones that take an `env` mapping read it instead of os.environ (tests).
The table of variables, their types and defaults is in README.md ("Configuration").
Prefect's own PREFECT_* variables are Prefect's settings: pipeline/cli/common.py sets its quiet
defaults and pipeline/cli/serve.py checks PREFECT_API_URL; they are not read here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_MAX_FILE_BYTES = 50 << 20  # the largest real LCD source is well under 5 MiB
LOCK_TIMEOUT_ENV = "LCD_LOCK_TIMEOUT"
DASK_ADDRESS_ENV = "LCD_DASK_ADDRESS"
API_URL_ENV = "LCD_API_URL"
# BundleLimits field -> (variable, type); pipeline/ingest/safezip.py holds the defaults.
BUNDLE_LIMIT_ENV: dict[str, tuple[str, type]] = {
    "max_archive_bytes": ("LCD_BUNDLE_MAX_ARCHIVE_BYTES", int),
    "max_total_bytes": ("LCD_BUNDLE_MAX_BYTES", int),
    "max_ratio": ("LCD_BUNDLE_MAX_RATIO", float),
    "max_members": ("LCD_BUNDLE_MAX_MEMBERS", int),
    "max_field_bytes": ("LCD_BUNDLE_MAX_FIELD_BYTES", int),
}


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def db() -> Path | None:
    """LCD_DB: the warehouse file when --db is not given (default: pipeline.paths.DEFAULT_DB)."""
    value = os.environ.get("LCD_DB")
    return Path(value) if value else None


def rules_only() -> bool:
    """LCD_RULES_ONLY=1: extract with the rules alone (no trained NER, no coverage classifier)."""
    return os.environ.get("LCD_RULES_ONLY") == "1"


def no_icd10_linking() -> bool:
    """LCD_NO_ICD10_LINKING=1: keep only the ICD-10 codes written in the policy, link no names."""
    return os.environ.get("LCD_NO_ICD10_LINKING") == "1"


def cache_root() -> Path:
    """LCD_CACHE_DIR: the cache folder (ICD-10 index), else $XDG_CACHE_HOME (or ~/.cache)/lcd-pipeline."""
    if os.environ.get("LCD_CACHE_DIR"):
        return Path(os.environ["LCD_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lcd-pipeline"


def reports_dir() -> Path | None:
    """LCD_REPORTS_DIR: where change reports are written (default: pipeline.paths.REPORTS_DIR)."""
    value = os.environ.get("LCD_REPORTS_DIR")
    return Path(value) if value else None


def max_file_bytes(env: Mapping[str, str] | None = None) -> int:
    """LCD_MAX_FILE_BYTES: the size limit for one source file, default 50 MiB; ValueError when malformed."""
    raw = _env(env).get("LCD_MAX_FILE_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_BYTES
    value = int(raw)
    if value <= 0:
        raise ValueError(f"LCD_MAX_FILE_BYTES must be a positive number of bytes, got {raw!r}")
    return value


def bundle_limits(env: Mapping[str, str] | None = None) -> dict[str, int | float]:
    """LCD_BUNDLE_MAX_{ARCHIVE_BYTES,BYTES,RATIO,MEMBERS,FIELD_BYTES}: the MCD zip limits that are set, by
    BundleLimits field; ValueError when one is not a positive number."""
    env = _env(env)
    values: dict[str, int | float] = {}
    for field_name, (variable, kind) in BUNDLE_LIMIT_ENV.items():
        if env.get(variable):
            value = kind(env[variable])
            if value <= 0:
                raise ValueError(f"{variable} must be positive, got {env[variable]!r}")
            values[field_name] = value
    return values


def pdf_mode() -> str | None:
    """LCD_PDF_MODE: the PDF reader mode when none is passed (auto, fast, layout; checked by the reader)."""
    return os.environ.get("LCD_PDF_MODE") or None


def lock_timeout() -> float | None:
    """LCD_LOCK_TIMEOUT: seconds to wait for another run's warehouse lock when --lock-timeout is not given."""
    value = os.environ.get(LOCK_TIMEOUT_ENV)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"${LOCK_TIMEOUT_ENV} must be a number of seconds, got {value!r}") from None


def dask_address() -> str | None:
    """LCD_DASK_ADDRESS: the Dask scheduler to extract on when --dask-address is not given."""
    return os.environ.get(DASK_ADDRESS_ENV) or None


def api_url() -> str | None:
    """LCD_API_URL: the CMS Coverage API base URL for lcd sync / lcd serve when --api-url is not given."""
    return os.environ.get(API_URL_ENV) or None


RUN_ID_ENV = "LCD_RUN_ID"  # set by a run for the processes it starts (pipeline.orchestration.lifetime), never by users


def run_ids(env: Mapping[str, str] | None = None) -> list[str]:
    """LCD_RUN_ID: the ids of the lcd runs an environment (default: this process's) belongs to,
    outermost first (':'-separated); the marker by which a run's processes are found and ended."""
    return [part for part in _env(env).get(RUN_ID_ENV, "").split(":") if part]
