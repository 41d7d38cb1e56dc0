"""Policy differences between two LCDs, e.g. the same policy issued by two MACs.

`compare_snapshots` is pure. It runs the version diff of pipeline.diff from LCD A's snapshot to LCD B's
and reads each change as a difference between the two policies: what the diff calls added is only in
B, removed is only in A, changed differs. Facts are therefore aligned exactly as between two versions
of one LCD -- by meaning (normalized indication, drug/phase/unit, measure/polarity), policy sections
only -- so wording, punctuation, capitalisation and layout differences between two documents do not
show up, and a number written "2" in one and "two" in the other is the same number.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from pipeline.diff import POLICY_SECTION, PolicyChange, PolicySnapshot, diff_snapshots, fold, snapshot
from pipeline.diff.compare import merge_indications
from pipeline.report.text import one_line
from pipeline.warehouse.read import VersionRow, version_key_of, versions_of

FACT_TYPES = ("indication", "dose", "threshold", "criterion")
SIDES = ("only_a", "only_b", "differs")

# The diff's view (from A to B) of a change, read as a difference between A and B.
_SIDE_OF_ACTION = {"added": "only_b", "removed": "only_a", "changed": "differs"}


@dataclass(frozen=True)
class PolicyLabel:
    """Which policy a side of the comparison is."""

    lcd_id: str
    version: str
    title: str | None = None
    contractor: str | None = None


@dataclass(frozen=True)
class PolicyCounts:
    """How many policy facts one side states (indications merged by normalized name)."""

    indications: int
    doses: int
    thresholds: int
    criteria: int


@dataclass(frozen=True)
class PolicyDifference:
    """One way the two policies differ."""

    fact_type: str  # one of FACT_TYPES
    side: str  # one of SIDES
    subject: str  # indication name, '<drug> <phase> dose', the threshold's measure, or the criterion's indication
    indication: str | None  # normalized name of the indication concerned, None if policy-wide
    a_value: str | None  # readable value in A (coverage, dose, limit, criterion text); None if only in B
    b_value: str | None
    a_sentence: str | None
    b_sentence: str | None


@dataclass(frozen=True)
class PolicyComparison:
    """Everything `lcd compare` shows: both sides, their fact counts, and their differences."""

    a: PolicyLabel
    b: PolicyLabel
    a_counts: PolicyCounts
    b_counts: PolicyCounts
    differences: tuple[PolicyDifference, ...]

    @property
    def same_policy(self) -> bool:
        """Whether the two state the same policy."""
        return not self.differences

    def select(self, fact_type: str, side: str) -> list[PolicyDifference]:
        """The differences of one fact type on one side, in the diff's order."""
        return [d for d in self.differences if d.fact_type == fact_type and d.side == side]


def compare_snapshots(a: PolicySnapshot, b: PolicySnapshot) -> PolicyComparison:
    """The policy differences between snapshot `a` and snapshot `b` (any two versions of any LCDs)."""
    return PolicyComparison(
        a=PolicyLabel(a.lcd_id, a.version),
        b=PolicyLabel(b.lcd_id, b.version),
        a_counts=policy_counts(a),
        b_counts=policy_counts(b),
        differences=tuple(difference_of(change) for change in diff_snapshots(a, b)),
    )


def policy_counts(snap: PolicySnapshot) -> PolicyCounts:
    """The policy facts a snapshot states, counted the way the diff sees them."""

    def policy(facts: tuple) -> list:
        return [fact for fact in facts if fact.section == POLICY_SECTION]

    return PolicyCounts(
        indications=len(merge_indications(snap.indications)),
        doses=len(policy(snap.doses)),
        thresholds=len(policy(snap.thresholds)),
        criteria=len(policy(snap.criteria)),
    )


def difference_of(change: PolicyChange) -> PolicyDifference:
    """A change from A to B, read as a difference between A and B."""
    if change.change_type == "coverage_changed":
        fact_type, action = "indication", "changed"
    else:
        fact_type, action = change.change_type.split("_", 1)
    return PolicyDifference(
        fact_type=fact_type,
        side=_SIDE_OF_ACTION[action],
        subject=change.subject,
        indication=change.indication,
        a_value=change.before,
        b_value=change.after,
        a_sentence=change.before_sentence,
        b_sentence=change.after_sentence,
    )


def compare_lcds(
    con: duckdb.DuckDBPyConnection,
    lcd_a: str,
    lcd_b: str,
    version_a: str | None = None,
    version_b: str | None = None,
) -> PolicyComparison:
    """Compare two loaded LCDs (their latest versions unless given); LookupError if one is missing."""
    row_a = _version(con, lcd_a, version_a)
    row_b = _version(con, lcd_b, version_b)
    comparison = compare_snapshots(snapshot(con, row_a.version_key), snapshot(con, row_b.version_key))
    return replace(comparison, a=_label(row_a), b=_label(row_b))


def _version(con: duckdb.DuckDBPyConnection, lcd_id: str, version: str | None) -> VersionRow:
    """The requested (default: latest) version row of `lcd_id`."""
    versions = versions_of(con, lcd_id)
    if not versions:
        raise LookupError(f"LCD {lcd_id!r} is not in the warehouse")
    if version is None:
        return versions[-1]
    key = version_key_of(con, lcd_id, version)
    if key is None:
        raise LookupError(f"LCD {lcd_id} has no version {version!r}")
    return next(row for row in versions if row.version_key == key)


def _label(row: VersionRow) -> PolicyLabel:
    return PolicyLabel(row.lcd_id, row.version, row.title, row.contractor)


# Text output for `lcd compare`.

_NOUNS = {"indication": "Indications", "dose": "Doses", "threshold": "Thresholds", "criterion": "Criteria"}


def format_comparison(comparison: PolicyComparison) -> str:
    """The comparison as plain text: who is compared, fact counts, then the differences by fact type."""
    a, b = comparison.a, comparison.b
    lines = [
        f"A: {_describe(a)}",
        f"B: {_describe(b)}",
        "Policy sections only; facts aligned by meaning (indication, drug, measure), not by wording.",
        "",
        f"{'':<13}{'A':>5}{'B':>5}",
    ]
    for field in ("indications", "doses", "thresholds", "criteria"):
        lines.append(f"{field:<13}{getattr(comparison.a_counts, field):>5}{getattr(comparison.b_counts, field):>5}")
    lines.append("")
    if comparison.same_policy:
        lines.append(
            "No policy differences: the same indications with the same coverage, and the same doses, "
            "thresholds and criteria."
        )
        return "\n".join(lines) + "\n"
    lines.append(f"{len(comparison.differences)} policy difference(s):")
    headings = {"only_a": f"only in A ({a.lcd_id})", "only_b": f"only in B ({b.lcd_id})", "differs": "that differ"}
    for fact_type in FACT_TYPES:
        for side in SIDES:
            found = comparison.select(fact_type, side)
            if found:
                lines += ["", f"{_NOUNS[fact_type]} {headings[side]}:"]
                for difference in found:
                    lines += _difference_lines(difference)
    return "\n".join(lines) + "\n"


def _describe(label: PolicyLabel) -> str:
    """'L40257 version 7, Palmetto GBA (...): Title'."""
    parts = [f"{label.lcd_id} version {label.version}"]
    if label.contractor:
        parts.append(label.contractor)
    text = ", ".join(parts)
    return f"{text}: {label.title}" if label.title else text


def _difference_lines(difference: PolicyDifference) -> list[str]:
    """One difference: its subject and values, then the sentences that state it."""
    about = difference.indication
    where = f" [{about}]" if about and fold(about) != fold(difference.subject) else ""
    a_value, b_value = _without_measure(difference, difference.a_value), _without_measure(difference, difference.b_value)
    if difference.side == "differs":
        value = f"A {a_value} | B {b_value}"
    else:
        value = a_value if difference.side == "only_a" else b_value
    lines = [f"  - {difference.subject}{where}: {value}"]
    if difference.a_sentence:
        lines.append(f'      A: "{one_line(difference.a_sentence)}"')
    if difference.b_sentence:
        lines.append(f'      B: "{one_line(difference.b_sentence)}"')
    return lines


def _without_measure(difference: PolicyDifference, value: str | None) -> str | None:
    """A threshold's limit without its measure, which the subject already names: '<= 3 months'."""
    measure = difference.subject.removesuffix(" (exclusion)")
    if difference.fact_type == "threshold" and value and value.startswith(measure + " "):
        return value[len(measure) + 1 :]
    return value
