"""Helpers for tests that run the real `lcd` command in subprocesses against one Prefect API."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from tests.conftest import RAW_DOCS

LCD = [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main())"]

# Both IVIG versions (the only LCD with two) and nine other documents: 11 versions, 6 batches of 2.
CRASH_CORPUS = (
    "A56781",
    "IVIG-OFFLABEL",
    "L33438",
    "L33575",
    "L33610",
    "L33612",
    "L33739",
    "L34648",
    "L38213",
    "NCD30.3",
)


def copy_corpus(target: Path, folders: tuple[str, ...] = CRASH_CORPUS) -> Path:
    """Copy some raw_docs/<LCD_ID>/ folders into `target`."""
    for name in folders:
        shutil.copytree(RAW_DOCS / name, target / name)
    return target


def lcd_env(api_url: str, prefect_home: Path, **extra: str) -> dict[str, str]:
    """The environment of an `lcd` subprocess: the session's Prefect API (no temporary server per run)."""
    # In-process `main()` calls of other tests quiet Prefect through os.environ; the kill points are
    # found from Prefect's INFO task lines, so the subprocess gets its logging settings afresh.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_LOGGING_") and k != "LCD_LOCK_TIMEOUT"}
    env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(prefect_home), PREFECT_LOGGING_LEVEL="INFO")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    env.update(extra)
    return env


def warehouse_state(db: Path) -> dict:
    """What must be equal between a clean run and a killed-then-rerun one (keys differ, content not)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        versions = con.execute("select lcd_id, version, source_sha256 from lcd_versions order by all").fetchall()
        facts = con.execute(
            """
            select
                v.source_sha256,
                (select count(*) from indications as i where i.version_key = v.version_key),
                (select count(*) from doses as d where d.version_key = v.version_key),
                (select count(*) from thresholds as t where t.version_key = v.version_key),
                (select count(*) from criteria as c where c.version_key = v.version_key),
                (select count(*) from version_sections as s where s.version_key = v.version_key),
                (select count(*) from version_texts as x where x.version_key = v.version_key),
                v.version_order
            from lcd_versions as v
            order by all
            """
        ).fetchall()
        changes = con.execute(
            """
            select
                c.lcd_id,
                f.version,
                t.version,
                c.change_type,
                c.subject,
                c.before,
                c.after
            from policy_changes as c
            left join lcd_versions as f
                on f.version_key = c.from_version_key
            join lcd_versions as t
                on t.version_key = c.to_version_key
            order by all
            """
        ).fetchall()
        orphans = {
            table: con.execute(
                f"select count(*) from {table} where version_key not in (select version_key from lcd_versions)"
            ).fetchone()[0]
            for table in ("version_texts", "version_sections", "indications", "doses", "thresholds", "criteria")
        }
        orphans["policy_changes"] = con.execute(
            """
            select count(*) from policy_changes
            where to_version_key not in (select version_key from lcd_versions)
                or from_version_key not in (select version_key from lcd_versions)
            """
        ).fetchone()[0]
        duplicates = con.execute(
            "select count(*) - count(distinct source_sha256) from lcd_versions"
        ).fetchone()[0]
        undiffed = con.execute(
            """
            select count(*)
            from lcd_versions as older
            join lcd_versions as newer
                on newer.lcd_id = older.lcd_id
                and newer.version_order = older.version_order + 1
            where not exists (
                select 1 from diff_state as d
                where d.from_version_key = older.version_key
                    and d.to_version_key = newer.version_key
            )
            """
        ).fetchone()[0]
    finally:
        con.close()
    return {
        "versions": versions,
        "facts": facts,
        "changes": changes,
        "orphans": orphans,
        "duplicates": duplicates,
        "undiffed_pairs": undiffed,
    }


def run_lcd(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `lcd ARGS` to completion."""
    return subprocess.run([*LCD, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=RAW_DOCS.parent)


def warehouse_content(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, all columns but the load timestamps, in key order: two warehouses built
    from the same files in the same batch order must be equal row for row, keys included."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [row[0] for row in con.execute("select table_name from duckdb_tables() order by all").fetchall()]
        out = {}
        for table in tables:
            columns = [
                name
                for name, kind in con.execute(
                    "select column_name, data_type from duckdb_columns() where table_name = ? order by column_index", [table]
                ).fetchall()
                if not kind.startswith("TIMESTAMP")
            ]
            quoted = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"select {quoted} from {table} order by all").fetchall()
    finally:
        con.close()
    return out


def kill_when(command: list[str], env: dict[str, str] | None, reached: Callable[[str], bool], delay: float = 0.0) -> list[str]:
    """Start COMMAND, SIGKILL it `delay` s after the first stderr line `reached` accepts; the lines seen.
    Fails when the process ended before the kill."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=RAW_DOCS.parent)
    seen: list[str] = []
    try:
        for line in process.stderr:
            seen.append(line.rstrip())
            if reached(line):
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before the kill point:\n" + "\n".join(seen[-20:])
    return seen
