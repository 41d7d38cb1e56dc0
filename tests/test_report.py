"""The change report (Markdown/HTML) and the `lcd diff` text."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from _factories import build_version

from pipeline.diff import PolicyChange, diff_version
from pipeline.report import (
    changes_since,
    default_report_path,
    format_changes_text,
    group_by_lcd,
    render_markdown,
    write_report,
)
from pipeline.report.html import render_html
from pipeline.warehouse import connect, load_version


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse with two LCDs that changed and one that did not."""
    connection = connect(tmp_path / "lcd.duckdb")
    _revise(connection, "L35891", {"effective_date": date(2024, 3, 1)},
            {"effective_date": date(2024, 6, 1), "dose_high": 2.0, "igg_value": 500.0})
    _revise(connection, "L33610", {"effective_date": date(2023, 1, 1), "contractor": "Noridian"},
            {"effective_date": date(2023, 2, 1), "contractor": "Noridian", "gvhd_coverage": "not_covered"})
    _revise(connection, "L40187", {"effective_date": date(2024, 1, 1)}, {"effective_date": date(2024, 7, 1)})
    yield connection
    connection.close()


def _revise(con: duckdb.DuckDBPyConnection, lcd_id: str, first: dict, second: dict) -> None:
    """Load versions 1 and 2 of `lcd_id` and diff them."""
    load_version(con, *build_version(lcd_id=lcd_id, version="1", **first))
    diff_version(con, load_version(con, *build_version(lcd_id=lcd_id, version="2", **second)))


def test_report_groups_changes_by_lcd_with_versions_and_dates(con):
    text = render_markdown(changes_since(con))
    assert text.startswith("# LCD policy changes\n")
    assert "3 changes in 2 LCDs." in text
    assert "## L33610 — Immune Globulin Intravenous (IVIG)" in text
    assert "Contractor: Noridian" in text
    assert "### Version 1 (2024-03-01) → 2 (2024-06-01)" in text
    assert text.index("## L33610") < text.index("## L35891")
    l35891 = text[text.index("## L35891"):]
    assert "`dose_changed` **IVIG dose** (chronic graft versus host disease, coverage_indications): " \
           "0.4–1.5 g/kg monthly → 0.4–2 g/kg monthly" in l35891
    assert "`threshold_changed` **IgG**" in l35891


def test_report_quotes_before_and_after_sentences(con):
    text = render_markdown(changes_since(con))
    assert "  > **Before:** IVIG is covered for chronic graft versus host disease when serum IgG is \\< 400" not in text
    assert "  > **Before:** IVIG is covered for chronic graft versus host disease when serum IgG is < 400 mg/dL." in text
    assert "  > **After:** IVIG is not covered for chronic graft versus host disease" in text
    assert "  >\n  > **After:** The dose for chronic graft versus host disease is 0.4–2 g/kg monthly." in text


def test_report_omits_lcds_without_changes_since_the_date(con):
    text = render_markdown(changes_since(con, date(2024, 1, 1)), since=date(2024, 1, 1))
    assert "# LCD policy changes since 2024-01-01" in text
    assert "## L35891" in text
    assert "L33610" not in text  # its change took effect in 2023
    assert "L40187" not in text  # no changes at all


def test_empty_report_says_so(con):
    assert changes_since(con, date(2030, 1, 1)) == []
    text = render_markdown([], since=date(2030, 1, 1))
    assert "No policy changes since 2030-01-01." in text


def test_undated_versions_count_from_when_the_change_was_detected(tmp_path):
    connection = connect(tmp_path / "lcd.duckdb")
    _revise(connection, "L1", {"effective_date": None}, {"effective_date": None, "include_sps": False})
    assert len(changes_since(connection, date.today())) == 1
    assert changes_since(connection, date(2999, 1, 1)) == []
    connection.close()


def test_detected_since_keeps_only_changes_of_one_run(con):
    assert changes_since(con, detected_since=datetime(2999, 1, 1)) == []
    assert len(changes_since(con, detected_since=datetime(2000, 1, 1))) == 3


def test_write_report_writes_markdown_where_asked(con, tmp_path):
    out = write_report(con, date(2024, 1, 1), out=tmp_path / "r" / "changes.md")
    assert out == tmp_path / "r" / "changes.md"
    assert "## L35891" in out.read_text(encoding="utf-8")


def test_default_report_path_is_dated_under_warehouse_reports():
    path = default_report_path("md", today=date(2024, 6, 30))
    assert path.parts[-3:] == ("warehouse", "reports", "changes-20240630.md")


def test_write_report_html_is_self_contained_and_escaped(tmp_path):
    connection = connect(tmp_path / "lcd.duckdb")
    hostile = "L1<script>alert('x')</script>"
    _revise(connection, hostile, {"title": "A & B <b>"}, {"title": "A & B <b>", "igg_value": 500.0})
    html = write_report(connection, None, fmt="html", out=tmp_path / "r.html").read_text(encoding="utf-8")
    connection.close()
    assert "<script>" not in html
    assert "L1&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "A &amp; B &lt;b&gt;" in html
    assert "IgG &lt; 400 mg/dL → IgG &lt; 500 mg/dL" in html
    assert "<link" not in html and "src=" not in html


def test_write_report_rejects_unknown_format(con, tmp_path):
    with pytest.raises(ValueError, match="unknown report format"):
        write_report(con, None, fmt="pdf", out=tmp_path / "x.pdf")


def test_markdown_escapes_hostile_lcd_ids_and_titles(tmp_path):
    connection = connect(tmp_path / "lcd.duckdb")
    hostile = "L2'; drop table x; -- *[link](http://evil)*"
    _revise(connection, hostile, {"title": "<img src=x>"}, {"title": "<img src=x>", "include_sps": False})
    text = render_markdown(changes_since(connection))
    connection.close()
    assert "## L2'; drop table x; -- \\*\\[link\\](http://evil)\\*" in text
    assert "— \\<img src=x>" in text  # a backslash-escaped "<" opens no raw HTML
    assert " <img" not in text


def test_group_by_lcd_keeps_version_pairs_in_order(con):
    groups = group_by_lcd(changes_since(con))
    assert [g.lcd_id for g in groups] == ["L33610", "L35891"]
    assert [(p.from_version, p.to_version, len(p.changes)) for p in groups[1].pairs] == [("1", "2", 2)]


def test_format_changes_text_shows_values_and_sentences():
    change = PolicyChange(
        "threshold_changed", "IgG", "IgG < 400 mg/dL", "IgG < 500 mg/dL",
        "IVIG is covered when serum IgG is < 400\nmg/dL.", "IVIG is covered when serum IgG is < 500 mg/dL.",
        "chronic graft versus host disease", "coverage_indications",
    )
    text = format_changes_text([change], header="L35891: version 35 -> 36")
    assert text.splitlines() == [
        "L35891: version 35 -> 36",
        "threshold_changed: IgG [chronic graft versus host disease]",
        "    IgG < 400 mg/dL -> IgG < 500 mg/dL",
        '    before: "IVIG is covered when serum IgG is < 400 mg/dL."',
        '    after:  "IVIG is covered when serum IgG is < 500 mg/dL."',
    ]


def test_format_changes_text_without_changes_says_so():
    assert format_changes_text([]) == "No policy changes.\n"
    added = PolicyChange("indication_added", "SLE", None, "covered", None, "IVIG is covered for SLE.", "sle")
    assert "    added: covered" in format_changes_text([added])


def test_facts_of_an_added_indication_are_shown_beneath_it(corpus_warehouse):
    # IVIG-OFFLABEL 1 -> 2 adds Systemic Capillary Leak Syndrome with its two prophylaxis doses.
    rows = [r for r in changes_since(corpus_warehouse) if r.lcd_id == "IVIG-OFFLABEL"]
    scls = next(r for r in rows if r.change_type == "indication_added" and r.subject == "Systemic Capillary Leak Syndrome")
    doses = [r for r in rows if r.change_type == "dose_added" and r.parent_change_key == scls.change_key]
    assert len(doses) == 2
    lines = render_markdown(rows).splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("- `indication_added` **Systemic Capillary Leak Syndrome**"))
    beneath = [line for line in lines[head + 1 :] if line.startswith("  - `dose_added`")]
    assert len(beneath) == 2 and not any(line.startswith("- `dose_added`") for line in lines)
    html = render_html(rows)
    assert html.count('<ul class="children">') == 1 and html.count("dose added</span> <strong>") == 2


def test_lcd_diff_text_indents_the_facts_of_an_added_indication():
    changes = [
        PolicyChange("indication_added", "Kawasaki disease", None, "covered", None, "IVIG is covered for Kawasaki disease."),
        PolicyChange("dose_added", "IVIG dose", None, "2 g/kg once", None, "2 g/kg once", "kawasaki disease", parent=0),
    ]
    lines = format_changes_text(changes).splitlines()
    assert lines[0] == "indication_added: Kawasaki disease"
    assert lines[3:] == ["    dose_added: IVIG dose [kawasaki disease]", "        added: 2 g/kg once"]
