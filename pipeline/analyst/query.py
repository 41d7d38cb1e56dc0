"""The warehouse for analysts' tools: read-only SQL printed as a table, CSV or JSON; Parquet export.

`run_query` returns the whole result; `render_table` (rich), `write_csv` and `write_json` print it.
The table is for reading: long cells are cut at `max_width` characters and line breaks flattened;
CSV and JSON are for other tools and keep every value whole. `export_parquet` writes every table and
analyst view as a Parquet file for BI tools.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO

import duckdb

from pipeline.warehouse.db import apply_views, view_names

FORMATS = ("table", "csv", "json")
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


@dataclass(frozen=True)
class QueryResult:
    """Column names and types, and every row, of one statement's result."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple, ...]


def open_read_only(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """The warehouse opened read-only, with the analyst views (as temp views if the file predates them).

    FileNotFoundError when there is no warehouse file at `db_path`.
    """
    path = Path(db_path)
    if not path.is_file():
        raise FileNotFoundError(f"no warehouse at {path}: run `lcd ingest` first")
    con = duckdb.connect(str(path), read_only=True)
    present = {row[0] for row in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    has_tables = con.execute("select count(*) from duckdb_tables() where table_name = 'lcd_versions'").fetchall()[0][0]
    if has_tables and not set(view_names()) <= present:
        apply_views(con, temporary=True)
    return con


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> QueryResult:
    """Run `sql` (several statements: the last one's result) and fetch everything it returns."""
    cursor = con.execute(sql)
    if cursor.description is None:
        return QueryResult((), (), ())
    columns = tuple(d[0] for d in cursor.description)
    types = tuple(str(d[1]) for d in cursor.description)
    return QueryResult(columns, types, tuple(cursor.fetchall()))


def render_table(result: QueryResult, out: IO[str], max_width: int = 60, max_rows: int = 0, color: bool = False) -> None:
    """Print `result` as a table, cells cut at `max_width` characters (0: whole), then the row count.

    `max_rows` > 0 prints only the first rows and says so.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    shown = result.rows[:max_rows] if max_rows > 0 else result.rows
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, header_style="bold" if color else "", pad_edge=False)
    for name, type_name in zip(result.columns, result.types):
        numeric = type_name.upper().startswith(_NUMERIC_TYPES) and not type_name.endswith("]")
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in shown:
        # Text, not str: a cell holding "[b]" is data, not rich markup.
        table.add_row(*(Text(cell_text(value, max_width)) for value in row))
    # A pipe or a file gets the table at its natural width instead of folded into 80 columns.
    console = Console(file=out, width=None if out.isatty() else 100_000, no_color=not color, highlight=False)
    if result.columns:
        console.print(table)
    console.print(_row_count(len(result.rows), len(shown)))


def cell_text(value: object, max_width: int = 60) -> str:
    """One value as a single line of at most `max_width` characters (0: no limit)."""
    if value is None:
        text = "NULL"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(cell_text(v, 0) for v in value) + "]"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="seconds")
    elif isinstance(value, (date, time)):
        text = value.isoformat()
    else:
        text = str(value)
    text = " ".join(text.split()) if ("\n" in text or "\r" in text or "\t" in text) else text
    if max_width and len(text) > max_width:
        return text[: max_width - 1] + "…"
    return text


def _row_count(total: int, shown: int) -> str:
    noun = "row" if total == 1 else "rows"
    if shown < total:
        return f"{total} {noun} (showing the first {shown}; --max-rows 0 shows all, --format csv writes all)"
    return f"{total} {noun}"


def write_csv(result: QueryResult, out: IO[str]) -> None:
    """`result` as CSV with a header; NULL is an empty field, lists are JSON arrays."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([_csv_field(value) for value in row])


def _csv_field(value: object) -> object:
    """NULL as an empty field, a list or struct as JSON, anything else as itself (dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_plain(value), ensure_ascii=False)
    return _plain(value)


def write_json(result: QueryResult, out: IO[str]) -> None:
    """`result` as a JSON array of objects, one per row."""
    records = [{name: _plain(value) for name, value in zip(result.columns, row)} for row in result.rows]
    json.dump(records, out, ensure_ascii=False, indent=2)
    out.write("\n")


def _plain(value: object) -> object:
    """A JSON-friendly value: dates as ISO strings, decimals as floats, nested values converted."""
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return value


def first_line(error: BaseException) -> str:
    """DuckDB's error message reduced to its first non-empty line."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def exported_names(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(kind, name) of every warehouse table (sorted) then every analyst view (creation order)."""
    tables = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where not temporary and schema_name = 'main' order by table_name"
        ).fetchall()
    ]
    views = {row[0] for row in con.execute("select view_name from duckdb_views() where not internal").fetchall()}
    return [("table", name) for name in tables] + [("view", name) for name in view_names() if name in views]


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: str | Path) -> list[tuple[str, str, Path, int]]:
    """Write every table and analyst view to `<out_dir>/<name>.parquet`; (kind, name, path, rows) each."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, name in exported_names(con):
        path = folder / f"{name}.parquet"
        literal = str(path).replace("'", "''")
        rows = con.execute(f"copy (select * from \"{name}\") to '{literal}' (format parquet)").fetchall()[0][0]
        written.append((kind, name, path, int(rows)))
    return written


def print_result(result: QueryResult, out: IO[str], fmt: str = "table", max_width: int = 60, max_rows: int = 0) -> None:
    """Print `result` in one of FORMATS."""
    if fmt == "csv":
        write_csv(result, out)
    elif fmt == "json":
        write_json(result, out)
    else:
        render_table(result, out, max_width=max_width, max_rows=max_rows, color=out.isatty())

