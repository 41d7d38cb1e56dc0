"""Opening the warehouse, applying its schema, and running work in one transaction."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline import settings
from pipeline.paths import DEFAULT_DB, SCHEMA_PATH, VIEWS_DIR


def default_db_path() -> Path:
    """The database file: $LCD_DB if set, else warehouse/lcd.duckdb (of the checkout, else of the current folder)."""
    return settings.db() or DEFAULT_DB.absolute()


def schema_sql() -> str:
    """The text of warehouse/schema.sql (shipped with the package)."""
    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"warehouse schema not found at {SCHEMA_PATH} (the package was built without its data)")
    return SCHEMA_PATH.read_text(encoding="utf-8")


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet (the schema is idempotent), and bring a
    warehouse built by an earlier release up to it."""
    con.execute(schema_sql())
    _upgrade_policy_changes(con)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute("select column_name from duckdb_columns() where table_name = ? order by column_index", [table]).fetchall()]


def _upgrade_policy_changes(con: duckdb.DuckDBPyConnection) -> None:
    """policy_changes before `text_changed` and `parent_change_key`: rebuilt with the current definition
    (DuckDB cannot alter a check constraint), rows and keys kept, in one transaction."""
    old = _columns(con, "policy_changes")
    if "parent_change_key" in old:
        return
    with transaction(con):
        for (view,) in con.execute("select view_name from duckdb_views() where not internal").fetchall():
            con.execute(f'drop view if exists "{view}"')  # recreated by apply_views
        con.execute("alter table policy_changes rename to policy_changes_before_upgrade")
        con.execute(schema_sql())
        columns = ", ".join(old)
        con.execute(f"insert into policy_changes ({columns}) select {columns} from policy_changes_before_upgrade")
        con.execute("drop table policy_changes_before_upgrade")


def view_files() -> list[Path]:
    """warehouse/views/*.sql in name order: the order they are created in (a view may use earlier ones)."""
    return sorted(VIEWS_DIR.glob("*.sql"))


_CREATE_VIEW_RE = re.compile(r"^create or replace view (\w+)", re.IGNORECASE | re.MULTILINE)


def view_names() -> list[str]:
    """The analyst views' names, in creation order."""
    return [_view_name(path) for path in view_files()]


def _view_name(path: Path) -> str:
    match = _CREATE_VIEW_RE.search(path.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f"{path}: a view file must contain `create or replace view <name>`")
    return match.group(1)


def apply_views(con: duckdb.DuckDBPyConnection, temporary: bool = False) -> list[str]:
    """(Re)create every analyst view of warehouse/views/ in name order; returns their names.

    `temporary` creates them as temp views, which a read-only connection to a warehouse file built
    before the views existed can still do.
    """
    names = []
    for path in view_files():
        sql = path.read_text(encoding="utf-8")
        if temporary:
            sql = _CREATE_VIEW_RE.sub(r"create or replace temp view \1", sql, count=1)
        con.execute(sql)
        names.append(_view_name(path))
    return names


def connect(db_path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating its folder) the warehouse at `db_path` and apply the schema and the views.

    `read_only` opens an existing file for analysts' queries and leaves the schema untouched.
    """
    path = Path(db_path)
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    apply_schema(con)
    apply_views(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: commit at the end, roll back on any exception."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp the warehouse stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def as_utc_naive(moment: datetime) -> datetime:
    """`moment` in naive UTC (naive input is taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def next_keys(con: duckdb.DuckDBPyConnection, sequence: str, count: int) -> list[int]:
    """`count` fresh keys from `sequence`, drawn in one query."""
    if count == 0:
        return []
    rows = con.execute(f"select nextval('{sequence}') from range(?)", [count]).fetchall()
    return [row[0] for row in rows]


def insert_arrow(
    con: duckdb.DuckDBPyConnection,
    table: str,
    schema: pa.Schema,
    columns: Mapping[str, Sequence[object]],
) -> int:
    """Bulk-insert `columns` into `table` through one registered Arrow table; returns the row count.

    Call it inside `transaction()`: a failed insert is then rolled back together with the registration.

    `table` and `schema` come from code, never from data; every value travels inside the Arrow table.
    """
    data = pa.table({name: columns[name] for name in schema.names}, schema=schema)
    if data.num_rows == 0:
        return 0
    view = f"_staged_{table}"
    names = ",\n    ".join(schema.names)
    con.register(view, data)
    con.execute(f"insert into {table} (\n    {names}\n)\nselect\n    {names}\nfrom {view}")
    # Only on success: after a failed insert the transaction is aborted, and its rollback drops the
    # registration made inside it.
    con.unregister(view)
    return data.num_rows
