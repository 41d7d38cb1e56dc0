"""The diff harness's revisions and judge: editorial edits that keep the text's policy, substantive edits
that make exactly the one change aimed at, judged the way the harness counts them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from pipeline.diff import PolicyChange
from pipeline.ingest import parse_document
from pipeline.paths import RAW_DOCS
from pipeline.quality.diff_harness import judge, known_failures, run, shipped_documents
from pipeline.quality.revisions import EDITORIAL, Revision, Source, editorial, replace_nth
from pipeline.text import fold

IVIG = RAW_DOCS / "IVIG-OFFLABEL" / "2.txt"
L34823 = RAW_DOCS / "L34823" / "27.json"  # a Coverage API record: HTML escaped twice


def _text(path: Path, data: bytes) -> str:
    return parse_document(path, data, RAW_DOCS, (path.parent.name, path.stem)).text


def test_every_editorial_revision_of_a_record_reads_back_to_the_same_words():
    source = Source(".json", L34823.read_bytes())
    original = fold(_text(L34823, source.raw))
    for kind in EDITORIAL:
        data = editorial(kind, source, random.Random(7))
        if data is None or kind in ("swapped_items", "spelling"):
            continue  # reordered or respelled on purpose: checked below
        json.loads(data)  # still one JSON record, escaped as CMS serves it
        assert fold(_text(L34823, data)).split() == original.split(), kind


def test_swapped_items_keep_every_line_of_the_text():
    source = Source(".txt", IVIG.read_bytes())
    data = editorial("swapped_items", source, random.Random(3))
    before, after = _text(IVIG, source.raw).splitlines(), _text(IVIG, data).splitlines()
    assert before != after and sorted(before) == sorted(after)


def test_misspelling_touches_two_words_and_no_rule_word():
    source = Source(".txt", IVIG.read_bytes())
    before, after = _text(IVIG, source.raw).split(), _text(IVIG, editorial("spelling", source, random.Random(5))).split()
    changed = [(b, a) for b, a in zip(before, after) if b != a]
    assert len(changed) == 2 and all(sorted(b) == sorted(a) for b, a in changed)
    assert not {"covered", "necessary", "reasonable", "greater"} & {b.lower() for b, _ in changed}


def test_replace_nth_edits_only_the_occurrence_asked_for():
    source = Source(".txt", b"IgG < 400 mg/dL here.\nIgG < 400 mg/dL there.\n")
    assert replace_nth(source, "400", "500", 1) == b"IgG < 400 mg/dL here.\nIgG < 500 mg/dL there.\n"
    assert replace_nth(source, "400", "500", 2) is None


def test_judge_counts_the_facts_of_a_removed_indication_as_its_own():
    revision = Revision("indication_removed", b"", "indication_removed", "Kawasaki disease", "Kawasaki disease")
    changes = [
        PolicyChange("indication_removed", "Kawasaki disease", "covered", None),
        PolicyChange("threshold_removed", "fever", "fever >= 5 days", None, parent=0),
        PolicyChange("criterion_removed", "Myasthenia gravis", "documented weakness", None),
    ]
    outcome = judge("L1", revision, changes)
    assert outcome.found and [c.change_type for c in outcome.extra] == ["criterion_removed"]


def test_judge_counts_every_change_of_an_editorial_revision_as_false():
    change = PolicyChange("indication_added", "Nerves", None, "covered")
    outcome = judge("L1", Revision("case", b"", None, "case"), [change])
    assert not outcome.found and outcome.extra == (change,)


def test_harness_on_the_ivig_policy_finds_each_substantive_change_and_no_false_one():
    result = run([IVIG], root=RAW_DOCS)
    tally = result.tally()
    substantive = [o for o in result.outcomes if o.revision.expected]
    assert substantive and all(o.found for o in substantive), [o.revision.detail for o in substantive if not o.found]
    assert sum(tally[k].false_or_extra for k in EDITORIAL) == 0
    assert IVIG in shipped_documents()


@pytest.mark.slow
def test_harness_over_the_shipped_corpus_meets_the_targets_but_for_the_known_failures():
    # Issue 12's "done when": every shipped LCD revised; no editorial revision yields a change, every
    # substantive one yields its expected change type, and at most one unrelated change per ten. The
    # revisions it still gets wrong are listed with their reason, and must be exactly those: a new one
    # fails, and so does a fixed one still listed (the harness says 'NOT met' while any is).
    result = run(shipped_documents())
    totals = result.totals()
    shown = [
        (o.lcd_id, o.revision.kind, o.revision.detail, [(c.change_type, c.subject) for c in o.extra], o.found, o.error)
        for o in result.outcomes if o.extra or o.error or (o.revision.expected and not o.found)
    ]
    assert totals["documents"] >= 100 and totals["editorial"] >= 300 and totals["substantive"] >= 150, totals
    assert result.failed() == set(known_failures()), shown
    assert totals["extra"] * 10 <= totals["substantive"], shown
    assert totals["errors"] == 0, shown


def test_known_failures_file_names_real_revision_kinds_with_reasons(tmp_path):
    assert all(reason for reason in known_failures().values())
    bad = tmp_path / "failures.json"
    bad.write_text('{"failures": [{"lcd_id": "L1", "kind": "typo", "detail": "x", "reason": "y"}]}')
    with pytest.raises(ValueError, match="not a revision kind"):
        known_failures(bad)


def test_judge_counts_a_change_quoting_the_removed_line_as_the_revisions_own():
    line = "An apnea-hypopnea index (AHI) greater than or equal to 5"
    revision = Revision("indication_removed", b"", "indication_removed", "AHI", "apnea hypopnea index", None, None, line)
    changes = [
        PolicyChange("indication_removed", "apnea hypopnea index", "covered", None),
        PolicyChange("criterion_removed", "Central sleep apnea", line, None),
    ]
    assert judge("L1", revision, changes).extra == ()


def test_number_written_in_words_and_digits_is_not_edited_in_one_place_only():
    from pipeline.quality.revisions import _changed_number

    assert _changed_number("lasting longer than sixty (60) minutes", 60) is None
    assert _changed_number("lasting longer than 60 minutes", 60)[1] == "lasting longer than 75 minutes"


def test_replace_nth_does_not_edit_a_number_inside_a_longer_one():
    source = Source(".txt", b"attenuation <30 HU; left main <3 mm.\n")
    assert replace_nth(source, "<3", "<4", 0) == b"attenuation <30 HU; left main <4 mm.\n"
