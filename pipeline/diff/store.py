"""Reading snapshots from the warehouse and writing policy changes back."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.diff.compare import diff_snapshots
from pipeline.diff.facts import (
    CriterionFact,
    DoseFact,
    IndicationFact,
    PolicyChange,
    PolicySnapshot,
    ThresholdFact,
    section_name_at,
)
from pipeline.model import Section
from pipeline.warehouse.db import as_utc_naive, insert_arrow, next_keys, transaction, utc_now
from pipeline.warehouse.read import next_version_key, previous_version_key, version_row, versions_of

POLICY_CHANGES = pa.schema(
    [
        ("change_key", pa.int32()),
        ("lcd_id", pa.string()),
        ("from_version_key", pa.int32()),
        ("to_version_key", pa.int32()),
        ("change_type", pa.string()),
        ("subject", pa.string()),
        ("before", pa.string()),
        ("after", pa.string()),
        ("detected_at", pa.timestamp("us")),
        ("before_sentence", pa.string()),
        ("after_sentence", pa.string()),
        ("indication", pa.string()),
        ("section", pa.string()),
    ]
)


def snapshot(con: duckdb.DuckDBPyConnection, version_key: int) -> PolicySnapshot:
    """The facts of one loaded version, with their sentences and section names."""
    version = version_row(con, version_key)
    if version is None:
        raise KeyError(f"no version with version_key {version_key}")
    sections = _sections(con, version_key)

    def where(offset: int | None, kind: str) -> str:
        return section_name_at(sections, offset, kind)

    indications = [
        IndicationFact(name, normalized, coverage, section, where(start, section), sentence, start)
        for name, normalized, coverage, section, sentence, start in con.execute(
            """
            select
                name,
                normalized_name,
                coverage,
                section,
                sentence,
                char_start
            from indications
            where version_key = ?
            order by char_start, indication_key
            """,
            [version_key],
        ).fetchall()
    ]
    doses = [
        DoseFact(indication, drug, low, high, unit, frequency, phase, section, where(start, section), text, sentence)
        for indication, drug, low, high, unit, frequency, phase, section, text, start, sentence in con.execute(
            """
            select
                i.normalized_name,
                d.drug,
                d.amount_low,
                d.amount_high,
                d.unit,
                d.frequency,
                d.phase,
                d.section,
                d.text,
                d.char_start,
                d.sentence
            from doses as d
            left join indications as i
                on i.indication_key = d.indication_key
            where d.version_key = ?
            order by d.char_start, d.dose_key
            """,
            [version_key],
        ).fetchall()
    ]
    thresholds = [
        ThresholdFact(indication, measure, comparator, value, high, unit, polarity, section, where(start, section), text, sentence)
        for indication, measure, comparator, value, high, unit, polarity, section, text, start, sentence in con.execute(
            """
            select
                i.normalized_name,
                t.measure,
                t.comparator,
                t.value,
                t.value_high,
                t.unit,
                t.polarity,
                t.section,
                t.text,
                t.char_start,
                t.sentence
            from thresholds as t
            left join indications as i
                on i.indication_key = t.indication_key
            where t.version_key = ?
            order by t.char_start, t.threshold_key
            """,
            [version_key],
        ).fetchall()
    ]
    criteria = [
        CriterionFact(normalized, name, kind, text, section or "other", where(start, section or "other"))
        for normalized, name, kind, text, section, start in con.execute(
            """
            select
                i.normalized_name,
                i.name,
                c.kind,
                c.text,
                c.section,
                c.char_start
            from criteria as c
            left join indications as i
                on i.indication_key = c.indication_key
            where c.version_key = ?
            order by c.char_start, c.criterion_key
            """,
            [version_key],
        ).fetchall()
    ]
    return PolicySnapshot(
        lcd_id=version.lcd_id,
        version=version.version,
        version_key=version_key,
        indications=tuple(indications),
        doses=tuple(doses),
        thresholds=tuple(thresholds),
        criteria=tuple(criteria),
    )


def diff_between(con: duckdb.DuckDBPyConnection, from_key: int, to_key: int) -> list[PolicyChange]:
    """The changes between any two loaded versions, without writing them (for `lcd diff --from --to`)."""
    return diff_snapshots(snapshot(con, from_key), snapshot(con, to_key))


def write_changes(
    con: duckdb.DuckDBPyConnection,
    lcd_id: str,
    from_key: int | None,
    to_key: int,
    changes: list[PolicyChange],
    detected_at: datetime | None = None,
) -> int:
    """Replace the stored changes of the (from_key, to_key) pair with `changes`; returns the count."""
    with transaction(con):
        return _replace_changes(con, lcd_id, from_key, to_key, changes, detected_at)


def diff_version(con: duckdb.DuckDBPyConnection, version_key: int) -> list[PolicyChange]:
    """Diff a version against the previous one of its LCD, store the changes, and return them.

    Idempotent. A version loaded out of order also re-diffs its successor against it and drops stored
    pairs that are no longer consecutive. The first version of an LCD has nothing to compare: [].
    """
    version = version_row(con, version_key)
    if version is None:
        raise KeyError(f"no version with version_key {version_key}")
    previous = previous_version_key(con, version_key)
    following = next_version_key(con, version_key)
    changes = diff_between(con, previous, version_key) if previous is not None else []
    later = diff_between(con, version_key, following) if following is not None else []
    with transaction(con):
        if previous is not None:
            _replace_changes(con, version.lcd_id, previous, version_key, changes, None)
        if following is not None:
            _replace_changes(con, version.lcd_id, version_key, following, later, None)
        _drop_stale_pairs(con, version.lcd_id)
    return changes


def diff_versions(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> int:
    """`diff_version` for each of these versions that has another version of its LCD to compare with;
    returns the number of changes stored. The only version of an LCD is skipped in one query for all."""
    if not version_keys:
        return 0
    comparable = con.execute(
        """
        select v.version_key
        from lcd_versions as v
        where v.version_key in (select unnest(?))
            and exists (
                select 1 from lcd_versions as other
                where other.lcd_id = v.lcd_id and other.version_key <> v.version_key
            )
        """,
        [list(version_keys)],
    ).fetchall()
    wanted = {row[0] for row in comparable}
    return sum(len(diff_version(con, key)) for key in version_keys if key in wanted)


def rediff_lcd(con: duckdb.DuckDBPyConnection, lcd_id: str) -> int:
    """Recompute the stored changes of every consecutive version pair of `lcd_id`; returns the count."""
    keys = [row.version_key for row in versions_of(con, lcd_id)]
    pairs = list(zip(keys, keys[1:]))
    diffs = [(old, new, diff_between(con, old, new)) for old, new in pairs]
    with transaction(con):
        count = sum(_replace_changes(con, lcd_id, old, new, changes, None) for old, new, changes in diffs)
        _drop_stale_pairs(con, lcd_id)
    return count


def _replace_changes(
    con: duckdb.DuckDBPyConnection,
    lcd_id: str,
    from_key: int | None,
    to_key: int,
    changes: list[PolicyChange],
    detected_at: datetime | None,
) -> int:
    """Delete then bulk-insert the changes of one version pair, inside the caller's transaction."""
    con.execute(
        """
        delete from policy_changes
        where lcd_id = ?
            and from_version_key is not distinct from ?
            and to_version_key = ?
        """,
        [lcd_id, from_key, to_key],
    )
    moment = as_utc_naive(detected_at) if detected_at else utc_now()
    if from_key is not None:
        _mark_diffed(con, lcd_id, from_key, to_key, moment)
    count = len(changes)
    return insert_arrow(
        con,
        "policy_changes",
        POLICY_CHANGES,
        {
            "change_key": next_keys(con, "policy_changes_seq", count),
            "lcd_id": [lcd_id] * count,
            "from_version_key": [from_key] * count,
            "to_version_key": [to_key] * count,
            "change_type": [c.change_type for c in changes],
            "subject": [c.subject for c in changes],
            "before": [c.before for c in changes],
            "after": [c.after for c in changes],
            "detected_at": [moment] * count,
            "before_sentence": [c.before_sentence for c in changes],
            "after_sentence": [c.after_sentence for c in changes],
            "indication": [c.indication for c in changes],
            "section": [c.section for c in changes],
        },
    )


def pending_pairs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """Consecutive version pairs (lcd_id, from_key, to_key) never diffed: a run was killed after loading.

    A pair counts as diffed when diff_state has it, or when policy_changes has rows for it (warehouses
    built before diff_state existed; changes are written in one transaction, so rows mean done).
    """
    return con.execute(
        """
        with pairs as (
            select
                older.lcd_id,
                older.version_key as from_version_key,
                newer.version_key as to_version_key
            from lcd_versions as older
            join lcd_versions as newer
                on newer.lcd_id = older.lcd_id
                and newer.version_order = older.version_order + 1
        ),
        final as (
            select * from pairs
            where not exists (
                    select 1 from diff_state as d
                    where d.from_version_key = pairs.from_version_key
                        and d.to_version_key = pairs.to_version_key
                )
                and not exists (
                    select 1 from policy_changes as c
                    where c.from_version_key = pairs.from_version_key
                        and c.to_version_key = pairs.to_version_key
                )
        )
        select * from final
        order by lcd_id, from_version_key
        """
    ).fetchall()


def diff_pending(con: duckdb.DuckDBPyConnection) -> int:
    """Diff every pending pair (see pending_pairs) and store the changes; returns how many were found."""
    count = 0
    for lcd_id, from_key, to_key in pending_pairs(con):
        count += write_changes(con, lcd_id, from_key, to_key, diff_between(con, from_key, to_key))
    return count


def _mark_diffed(con: duckdb.DuckDBPyConnection, lcd_id: str, from_key: int, to_key: int, moment: datetime) -> None:
    """Record in diff_state that the pair has been diffed, inside the caller's transaction."""
    con.execute("delete from diff_state where from_version_key = ? and to_version_key = ?", [from_key, to_key])
    con.execute(
        "insert into diff_state (lcd_id, from_version_key, to_version_key, diffed_at) values (?, ?, ?, ?)",
        [lcd_id, from_key, to_key, moment],
    )


def _drop_stale_pairs(con: duckdb.DuckDBPyConnection, lcd_id: str) -> None:
    """Delete stored changes whose versions are no longer neighbours (a version arrived in between)."""
    con.execute(
        """
        delete from diff_state
        where lcd_id = ?
            and not exists (
                select 1
                from lcd_versions as older
                join lcd_versions as newer
                    on newer.lcd_id = older.lcd_id
                    and newer.version_order = older.version_order + 1
                where older.version_key = diff_state.from_version_key
                    and newer.version_key = diff_state.to_version_key
            )
        """,
        [lcd_id],
    )
    con.execute(
        """
        delete from policy_changes
        where lcd_id = ?
            and not exists (
                select 1
                from lcd_versions as older
                join lcd_versions as newer
                    on newer.lcd_id = older.lcd_id
                    and newer.version_order = older.version_order + 1
                where older.version_key = policy_changes.from_version_key
                    and newer.version_key = policy_changes.to_version_key
            )
        """,
        [lcd_id],
    )


def _sections(con: duckdb.DuckDBPyConnection, version_key: int) -> tuple[Section, ...]:
    """The stored sections of a version."""
    rows = con.execute(
        """
        select
            name,
            heading,
            kind,
            char_start,
            char_end
        from version_sections
        where version_key = ?
        order by char_start
        """,
        [version_key],
    ).fetchall()
    return tuple(Section(*row) for row in rows)

