"""The policy diff end to end on shipped documents: real reader, real extractor, real diff.

No hand-built facts: every snapshot comes from `read_document` + `extract` on a shipped text or on an
edited copy of one, written as the next version of its LCD (`<tmp>/IVIG-OFFLABEL/3.txt`). Editorial
edits (typos, reflowed paragraphs, reordered list blocks, whitespace) must yield no change at all; a
changed number must yield exactly the one change it makes.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache
from pathlib import Path

import pytest

from pipeline.diff import PolicyChange, PolicySnapshot, diff_snapshots, diff_version, snapshot_of
from pipeline.extract import extract
from pipeline.ingest import read_document
from pipeline.warehouse import connect, load_version

RAW = Path(__file__).resolve().parents[1] / "raw_docs"
IVIG_V1 = RAW / "IVIG-OFFLABEL" / "1.txt"
IVIG_V2 = RAW / "IVIG-OFFLABEL" / "2.txt"
L38841 = RAW / "L38841" / "20.txt"
INDICATION_LEVEL = ("indication_added", "indication_removed", "coverage_changed")


def _snapshot(path: Path, root: Path) -> PolicySnapshot:
    """Read, extract and snapshot one document."""
    doc = read_document(path, root=root)
    return snapshot_of(doc, extract(doc))


def _next_version(tmp_path: Path, source: Path, text: str, newline: str = "\n") -> PolicySnapshot:
    """The snapshot of `text` saved as a later version of `source`'s LCD (<tmp>/<LCD>/<version + 1>.txt)."""
    path = tmp_path / source.parent.name / f"{int(source.stem) + 1}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return _snapshot(path, tmp_path)


def _described(changes: list[PolicyChange]) -> list[str]:
    """Changes as one readable line each, so a failing assertion shows what differs."""
    return [f"{c.change_type} [{c.indication}] {c.subject}: {c.before!r} -> {c.after!r}" for c in changes]


def _replace_once(text: str, old: str, new: str) -> str:
    """`text` with its single occurrence of `old` replaced (the edit must be unambiguous)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def _line_index(lines: list[str], prefix: str) -> int:
    """Index of the single line starting with `prefix`."""
    found = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    assert len(found) == 1, f"{prefix!r} starts {len(found)} lines"
    return found[0]


def _swap_blocks(text: str, first: str, second: str, end: str) -> str:
    """Swap two adjacent blocks of lines: [first, second) and [second, end), given by their first lines."""
    lines = text.split("\n")
    a, b, c = (_line_index(lines, prefix) for prefix in (first, second, end))
    assert a < b < c
    return "\n".join(lines[:a] + lines[b:c] + lines[a:b] + lines[c:])


def _hard_wrap(line: str, width: int = 70) -> list[str]:
    """One line wrapped the way an editor does it: list items ("- ", "b. ", "ii. ") hang under their text."""
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    marker = re.match(r"(?:-|[a-z]{1,3}\.|\d{1,2}\.)\s+", body)
    hanging = indent + " " * (marker.end() if marker else 0)
    return textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=hanging, break_long_words=False) or [line]


def _reflow(text: str, first: str, last: str | None = None) -> str:
    """`text` with every line from the one starting `first` to the one starting `last` hard-wrapped."""
    lines = text.split("\n")
    start = _line_index(lines, first)
    stop = _line_index(lines, last) + 1 if last is not None else len(lines)
    wrapped = [piece for line in lines[start:stop] for piece in _hard_wrap(line)]
    assert len(wrapped) > stop - start, "nothing was long enough to wrap"
    return "\n".join(lines[:start] + wrapped + lines[stop:])


@cache
def _shipped(path: Path) -> PolicySnapshot:
    """The snapshot of a shipped document, extracted once per test session."""
    return _snapshot(path, RAW)


@pytest.fixture
def ivig_v2() -> PolicySnapshot:
    return _shipped(IVIG_V2)


# ------------------------------------------------------------------------------------- a real revision


def test_derived_ivig_revision_shows_exactly_the_added_indications(ivig_v2):
    changes = diff_snapshots(_shipped(IVIG_V1), ivig_v2)
    indication_level = [c for c in changes if c.change_type in INDICATION_LEVEL]
    assert [c.change_type for c in indication_level] == ["indication_added"] * 2, _described(changes)
    for name in ("systemic capillary leak syndrome", "necrotizing myositis"):
        assert sum(name in c.subject.lower() for c in indication_level) == 1, (name, _described(indication_level))
    doses = [c for c in changes if c.change_type.startswith("dose_")]
    assert doses and {c.change_type for c in doses} == {"dose_added"}, _described(doses)
    assert all("capillary leak" in (c.indication or "") for c in doses), _described(doses)
    assert not [c for c in changes if c.change_type.endswith(("_removed", "_changed"))], _described(changes)
    # Whatever else was added (thresholds, criteria) belongs to one of the two new indications.
    new_ones = ("capillary leak", "necrotizing myositis")
    assert all(any(name in (c.indication or "") for name in new_ones) for c in changes), _described(changes)


def test_derived_ivig_revision_is_stored_by_diff_version(tmp_path, ivig_v2):
    con = connect(tmp_path / "lcd.duckdb")
    try:
        keys = []
        for path in (IVIG_V1, IVIG_V2):
            doc = read_document(path, root=RAW)
            keys.append(load_version(con, doc, extract(doc)))
        changes = diff_version(con, keys[1])
        stored = con.execute(
            """
            select
                change_type,
                subject,
                before,
                after
            from policy_changes
            where from_version_key = ?
                and to_version_key = ?
            """,
            keys,
        ).fetchall()
    finally:
        con.close()
    expected = diff_snapshots(_shipped(IVIG_V1), ivig_v2)
    assert _described(changes) == _described(expected)
    assert sorted(stored, key=str) == sorted(((c.change_type, c.subject, c.before, c.after) for c in expected), key=str)


# ------------------------------------------------------------------------------ editorial edits: no change

# id -> (document, old, new). Typos inside an indication name or a threshold's measure words are left
# out on purpose: they rename the thing the fact is about, and the diff aligns facts by those names.
TYPOS_WITHOUT_FACTS = {
    "ivig-abstract-paragraph": (IVIG_V2, "specifically prepared for", "specifcally prepared for"),
    "ivig-lowest-dose-item": (IVIG_V2, "use the lowest dose possible", "use the lowest dose posible"),
    "ivig-evidence-is-sufficient-item": (IVIG_V2, "There is sufficient evidence to conclude", "There is sufficent evidence to conclude"),
    "ivig-evidence-section": (IVIG_V2, "Data on the efficacy and safety", "Data on the eficacy and safety"),
    "l38841-diagnostic-intent": (L38841, "should be performed with the intent", "should be preformed with the intent"),
}
TYPOS_IN_CRITERIA = {
    "ivig-gvhd-space-and-period": (IVIG_V2, "- Confirmed diagnosis of chronic GVHD\n", "- Confirmed diagnosis of chronic  GVHD.\n"),
    "ivig-stiff-person-gad": (IVIG_V2, "- Diagnosis has been confirmed by", "- Diagnosis has been confirmd by"),
    "ivig-stiff-person-response": (IVIG_V2, "had an inadequate response to", "had an inadequate respnse to"),
    # The line carries "At least one acute infection requiring hospitalization": the typo is after the measure.
    "ivig-gvhd-infection-antibiotics": (IVIG_V2, "parenteral antibiotics", "parenteral antibiotcs"),
    "l38841-radiculopathy": (L38841, "or neurogenic claudication (except", "or neurogenic claudicaton (except"),
}


@pytest.mark.parametrize(("source", "old", "new"), TYPOS_WITHOUT_FACTS.values(), ids=TYPOS_WITHOUT_FACTS.keys())
def test_typo_in_a_sentence_without_facts_is_no_change(tmp_path, source, old, new):
    revised = _next_version(tmp_path, source, _replace_once(source.read_text(encoding="utf-8"), old, new))
    assert _described(diff_snapshots(_shipped(source), revised)) == []


@pytest.mark.parametrize(("source", "old", "new"), TYPOS_IN_CRITERIA.values(), ids=TYPOS_IN_CRITERIA.keys())
def test_typo_in_a_criterion_line_is_no_change(tmp_path, source, old, new):
    revised = _next_version(tmp_path, source, _replace_once(source.read_text(encoding="utf-8"), old, new))
    assert _described(diff_snapshots(_shipped(source), revised)) == []


# id -> (document, first line, last line) of the lines to hard-wrap at 70 columns (None: to the end).
REFLOWS = {
    # A column-0 policy paragraph carrying two maintenance doses.
    "ivig-scleromyxedema-dose-paragraph": (IVIG_V2, "Although remissions persisting", "Although remissions persisting"),
    # A list item with the age and 100-day thresholds; continuation lines start "(e.g.," and "20 years".
    "ivig-hsct-item": (IVIG_V2, "- Hematopoetic Stem Cell", "- Hematopoetic Stem Cell"),
    # Every paragraph and list item of the NGS Abstract policy section.
    "ivig-whole-policy-list": (IVIG_V2, "This LCD addresses off-label uses", None),
    # Indented paragraphs and lettered criteria ("... no more than" / "4 diagnostic joint sessions ...").
    "l38841-coverage-criteria": (L38841, "A. Diagnostic Facet Joint Procedures", "   Frequency Limitation: Cyst"),
}


@pytest.mark.parametrize(("source", "first", "last"), REFLOWS.values(), ids=REFLOWS.keys())
def test_hard_wrapped_paragraph_is_no_change(tmp_path, source, first, last):
    revised = _next_version(tmp_path, source, _reflow(source.read_text(encoding="utf-8"), first, last))
    assert _described(diff_snapshots(_shipped(source), revised)) == []


# id -> the first lines of two adjacent blocks of the IVIG policy list, and of the line after them.
SWAPS = {
    "lupus-and-scleromyxedema": ("- Systemic Lupus", "- Scleromyxedema", "- Systemic Capillary Leak"),
    "retinopathy-doses-and-red-cell-aplasia": ("- Autoimmune retinopathy", "- Pure red cell aplasia", "- Hematopoetic Stem Cell"),
    "stiff-person-criteria-and-retinopathy-doses": ("- Stiff-person syndrome", "- Autoimmune retinopathy", "- Pure red cell aplasia"),
    "secondary-hypogammaglobulinemia-and-gvhd-criteria": (
        "- Secondary hypogammaglobulinemia",
        "- Chronic Graft versus Host",
        "- Systemic Lupus",
    ),
}


@pytest.mark.parametrize(("first", "second", "end"), SWAPS.values(), ids=SWAPS.keys())
def test_reordered_indication_blocks_are_no_change(tmp_path, ivig_v2, first, second, end):
    text = _swap_blocks(IVIG_V2.read_text(encoding="utf-8"), first, second, end)
    assert _described(diff_snapshots(ivig_v2, _next_version(tmp_path, IVIG_V2, text))) == []


def _blank_runs_around_headings(text: str) -> str:
    """Two blank lines around every section heading, and blank lines at both ends."""
    headings = {"Summary Of Evidence", "Analysis of Evidence", "NGS Abstract:", "Limitations"}
    lines = [f"\n\n{line}\n\n" if line in headings or line.startswith("===") else line for line in text.split("\n")]
    return "\n\n" + "\n".join(lines) + "\n\n\n"


def _unchanged(text: str) -> str:
    return text


def _trailing_whitespace(text: str) -> str:
    return "\n".join(line + "  \t " for line in text.split("\n"))


def _blank_line_after_every_line(text: str) -> str:
    return "\n\n".join(text.split("\n"))


def _all_at_once(text: str) -> str:
    return _blank_runs_around_headings(_blank_line_after_every_line(_trailing_whitespace(text)))


@pytest.mark.parametrize("source", [pytest.param(IVIG_V2, id="ivig"), pytest.param(L38841, id="l38841")])
@pytest.mark.parametrize(
    ("edit", "newline"),
    [
        pytest.param(_unchanged, "\r\n", id="crlf"),
        pytest.param(_trailing_whitespace, "\n", id="trailing-spaces-and-tabs"),
        pytest.param(_blank_line_after_every_line, "\n", id="blank-line-after-every-line"),
        pytest.param(_blank_runs_around_headings, "\n", id="blank-runs-around-headings"),
        pytest.param(_all_at_once, "\r\n", id="all-at-once-with-crlf"),
    ],
)
def test_whitespace_only_edit_is_no_change(tmp_path, source, edit, newline):
    text = edit(source.read_text(encoding="utf-8"))
    assert _described(diff_snapshots(_shipped(source), _next_version(tmp_path, source, text, newline))) == []


# ----------------------------------------------------------------------------- real edits: their change


def test_igg_threshold_raised_from_400_to_500_is_one_threshold_change(tmp_path, ivig_v2):
    old = "- Laboratory proven hypogammaglobulinemia with IgG levels <400 mg/dl."
    text = _replace_once(IVIG_V2.read_text(encoding="utf-8"), old, old.replace("<400", "<500"))
    changes = diff_snapshots(ivig_v2, _next_version(tmp_path, IVIG_V2, text))
    thresholds = [c for c in changes if c.change_type.startswith("threshold_")]
    assert [(c.change_type, c.subject) for c in thresholds] == [("threshold_changed", "IgG")], _described(changes)
    change = thresholds[0]
    assert "< 400" in change.before and "< 500" in change.after
    assert (change.before, change.after) == ("IgG < 400 mg/dL", "IgG < 500 mg/dL")
    assert change.indication == "chronic graft versus host disease"
    assert "IgG levels <500 mg/dl" in change.after_sentence
    # The criterion line that states the number is the same criterion: the threshold change says it all.
    others = [(c.change_type, c.before or c.after) for c in changes if c not in thresholds]
    assert others == [], _described(changes)


def test_maintenance_dose_widened_to_2_g_per_kg_is_one_dose_change(tmp_path, ivig_v2):
    old, new = "Maintenance Dose - 0.4 to 1.5 g/kg", "Maintenance Dose - 0.4 to 2 g/kg"
    text = _replace_once(IVIG_V2.read_text(encoding="utf-8"), old, new)
    changes = diff_snapshots(ivig_v2, _next_version(tmp_path, IVIG_V2, text))
    assert [c.change_type for c in changes] == ["dose_changed"], _described(changes)
    change = changes[0]
    assert change.indication == "autoimmune retinopathy" and "maintenance" in change.subject
    assert change.before.startswith("0.4–1.5 g/kg") and change.after.startswith("0.4–2 g/kg")


def test_withdrawn_coverage_in_a_list_item_is_a_coverage_change(tmp_path):
    """A revision that says an indication is no longer medically necessary must read as not covered."""
    text = (IVIG_V2).read_text(encoding="utf-8")
    sentence = "IVIG therapy is considered medically necessary for severe, refractory anemia"
    assert sentence in text
    edited = tmp_path / "IVIG-OFFLABEL" / "3.txt"
    edited.parent.mkdir()
    edited.write_text(text.replace(sentence, sentence.replace("is considered", "is not considered")), encoding="utf-8")
    before = read_document(IVIG_V2, root=RAW)
    after = read_document(edited, root=tmp_path)
    changes = diff_snapshots(snapshot_of(before, extract(before)), snapshot_of(after, extract(after)))
    coverage = [c for c in changes if c.change_type == "coverage_changed"]
    assert len(coverage) == 1 and "red cell aplasia" in coverage[0].subject.lower()
    assert (coverage[0].before, coverage[0].after) == ("covered", "not_covered")
