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
    policy_texts,
    section_name_at,
)
from pipeline.warehouse.db import as_utc_naive, insert_arrow, next_keys, transaction, utc_now
from pipeline.warehouse.read import next_version_key, previous_version_key, sections_of, version_row, versions_of

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
        ("parent_change_key", pa.int32()),
    ]
)


def snapshot(con: duckdb.DuckDBPyConnection, version_key: int) -> PolicySnapshot:
    """The facts of one loaded version, with their sentences and section names."""
    found = snapshots(con, [version_key])
    if version_key not in found:
        raise KeyError(f"no version with version_key {version_key}")
    return found[version_key]


def snapshots(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> dict[int, PolicySnapshot]:
    """The snapshots of many loaded versions, one query per table for all of them (missing keys are absent)."""
    keys = sorted(set(version_keys))
    versions = {
        key: (lcd_id, version)
        for key, lcd_id, version in con.execute(
            "select version_key, lcd_id, version from lcd_versions where version_key in (select unnest(?))", [keys]
        ).fetchall()
    }
    sections = {key: [] for key in versions} | sections_of(con, keys)
    texts = dict(_rows(con, _TEXTS_SQL, keys))

    def where(key: int, offset: int | None, kind: str) -> str:
        return section_name_at(tuple(sections[key]), offset, kind)

    facts: dict[int, dict[str, list]] = {key: {"i": [], "d": [], "t": [], "c": []} for key in versions}
    for key, name, normalized, coverage, section, sentence, start in _rows(con, _INDICATIONS_SQL, keys):
        facts[key]["i"].append(IndicationFact(name, normalized, coverage, section, where(key, start, section), sentence, start))
    for key, indication, drug, low, high, unit, frequency, phase, section, text, start, sentence in _rows(con, _DOSES_SQL, keys):
        facts[key]["d"].append(DoseFact(indication, drug, low, high, unit, frequency, phase, section, where(key, start, section), text, sentence))
    for key, indication, measure, comparator, value, high, unit, polarity, section, text, start, sentence in _rows(con, _THRESHOLDS_SQL, keys):
        facts[key]["t"].append(ThresholdFact(indication, measure, comparator, value, high, unit, polarity, section, where(key, start, section), text, sentence))
    for key, normalized, name, kind, text, section, start in _rows(con, _CRITERIA_SQL, keys):
        facts[key]["c"].append(CriterionFact(normalized, name, kind, text, section or "other", where(key, start, section or "other")))
    return {
        key: PolicySnapshot(
            lcd_id=lcd_id,
            version=version,
            version_key=key,
            indications=tuple(facts[key]["i"]),
            doses=tuple(facts[key]["d"]),
            thresholds=tuple(facts[key]["t"]),
            criteria=tuple(facts[key]["c"]),
            policy_text=policy_texts(texts.get(key, ""), tuple(sections[key])),
        )
        for key, (lcd_id, version) in versions.items()
    }


def _rows(con: duckdb.DuckDBPyConnection, sql: str, keys: list[int]) -> list[tuple]:
    """The rows of one snapshot query for these versions (version_key first)."""
    return con.execute(sql, [keys]).fetchall()


_TEXTS_SQL = """
select
    version_key,
    text
from version_texts
where version_key in (select unnest(?))
"""

_INDICATIONS_SQL = """
select
    version_key,
    name,
    normalized_name,
    coverage,
    section,
    sentence,
    char_start
from indications
where version_key in (select unnest(?))
order by version_key, char_start, indication_key
"""

_DOSES_SQL = """
select
    d.version_key,
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
where d.version_key in (select unnest(?))
order by d.version_key, d.char_start, d.dose_key
"""

_THRESHOLDS_SQL = """
select
    t.version_key,
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
where t.version_key in (select unnest(?))
order by t.version_key, t.char_start, t.threshold_key
"""

_CRITERIA_SQL = """
select
    c.version_key,
    i.normalized_name,
    i.name,
    c.kind,
    c.text,
    c.section,
    c.char_start
from criteria as c
left join indications as i
    on i.indication_key = c.indication_key
where c.version_key in (select unnest(?))
order by c.version_key, c.char_start, c.criterion_key
"""


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
        _drop_stale_pairs(con, [version.lcd_id])
    return changes


DIFF_CHUNK = 200  # versions whose snapshots are held at once: memory stays flat however many are new


def diff_versions(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> int:
    """What `diff_version` does for each of these versions, in bulk: neighbours found in one query,
    snapshots read a chunk at a time, changes written one transaction per chunk. Returns the number of
    changes between each version and the one before it."""
    wanted = list(dict.fromkeys(version_keys))
    count = 0
    for i in range(0, len(wanted), DIFF_CHUNK):
        count += _diff_chunk(con, wanted[i : i + DIFF_CHUNK])
    return count


def _diff_chunk(con: duckdb.DuckDBPyConnection, keys: list[int]) -> int:
    with transaction(con):
        return rediff_neighbours(con, keys)


def rediff_neighbours(con: duckdb.DuckDBPyConnection, keys: list[int]) -> int:
    """Recompute and store the changes of every consecutive pair with one of these versions at either end
    (and drop pairs of their LCDs that are no longer consecutive), inside the caller's transaction: the
    facts just written and the diffs of them then commit together. Returns the number of changes between
    each version and the one before it."""
    rows = con.execute(
        """
        with neighbours as (
            select
                version_key,
                lcd_id,
                lag(version_key) over by_order as previous_key,
                lead(version_key) over by_order as next_key
            from lcd_versions
            where lcd_id in (select lcd_id from lcd_versions where version_key in (select unnest(?)))
            window by_order as (partition by lcd_id order by version_order, version_key)
        )
        select version_key, lcd_id, previous_key, next_key
        from neighbours
        where version_key in (select unnest(?))
        """,
        [keys, keys],
    ).fetchall()
    found = {row[0]: row[1:] for row in rows}
    missing = [key for key in keys if key not in found]
    if missing:
        raise KeyError(f"no version with version_key {missing[0]}")
    pairs: dict[tuple[int, int], str] = {}  # (from, to) -> lcd_id, in the order diff_version would write them
    counted: list[tuple[int, int]] = []
    for key in keys:
        lcd_id, previous, following = found[key]
        if previous is not None:
            pairs[(previous, key)] = lcd_id
            counted.append((previous, key))
        if following is not None:
            pairs[(key, following)] = lcd_id
    if not pairs:
        return 0
    snaps = snapshots(con, [k for pair in pairs for k in pair])
    changes = {pair: diff_snapshots(snaps[pair[0]], snaps[pair[1]]) for pair in pairs}
    for (from_key, to_key), lcd_id in pairs.items():
        _replace_changes(con, lcd_id, from_key, to_key, changes[(from_key, to_key)], None)
    _drop_stale_pairs(con, sorted(set(pairs.values())))
    return sum(len(changes[pair]) for pair in counted)


def rediff_lcd(con: duckdb.DuckDBPyConnection, lcd_id: str) -> int:
    """Recompute the stored changes of every consecutive version pair of `lcd_id`; returns the count."""
    keys = [row.version_key for row in versions_of(con, lcd_id)]
    pairs = list(zip(keys, keys[1:]))
    diffs = [(old, new, diff_between(con, old, new)) for old, new in pairs]
    with transaction(con):
        count = sum(_replace_changes(con, lcd_id, old, new, changes, None) for old, new, changes in diffs)
        _drop_stale_pairs(con, [lcd_id])
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
    keys = next_keys(con, "policy_changes_seq", count)
    return insert_arrow(
        con,
        "policy_changes",
        POLICY_CHANGES,
        {
            "change_key": keys,
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
            # A fact change of an indication added or removed in the same revision points to that change.
            "parent_change_key": [keys[c.parent] if c.parent is not None else None for c in changes],
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


def _drop_stale_pairs(con: duckdb.DuckDBPyConnection, lcd_ids: list[str]) -> None:
    """Delete stored changes whose versions are no longer neighbours (a version arrived in between)."""
    con.execute(
        """
        delete from diff_state
        where lcd_id in (select unnest(?))
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
        [lcd_ids],
    )
    con.execute(
        """
        delete from policy_changes
        where lcd_id in (select unnest(?))
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
        [lcd_ids],
    )
