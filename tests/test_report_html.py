"""The HTML change report: word highlights, links, the timeline plot, escaping and self-containment."""

from __future__ import annotations

import re
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from _factories import build_version

from pipeline.diff import diff_version
from pipeline.report import changes_since, render_html, write_report
from pipeline.report.highlight import highlight_sentences, word_diff, word_tokens
from pipeline.report.links import locate_source, mcd_url, relative_href
from pipeline.report.plot import family_counts, timeline_svg
from pipeline.report.versions import VersionPoint, version_points
from pipeline.warehouse import connect, load_version

HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '" onmouseover="alert(2)'


# --- word-level highlights -------------------------------------------------------------------


def test_highlight_marks_a_changed_number_as_one_word():
    before, after = highlight_sentences(
        "IVIG is covered when serum IgG is < 400 mg/dL.", "IVIG is covered when serum IgG is < 500 mg/dL."
    )
    assert before == "IVIG is covered when serum IgG is &lt; <del>400</del> mg/dL."
    assert after == "IVIG is covered when serum IgG is &lt; <ins>500</ins> mg/dL."


def test_highlight_keeps_dose_ranges_whole():
    before, after = highlight_sentences("The dose is 0.4–1.5 g/kg monthly.", "The dose is 0.4–2 g/kg monthly.")
    assert before == "The dose is <del>0.4–1.5</del> g/kg monthly."
    assert after == "The dose is <ins>0.4–2</ins> g/kg monthly."


def test_highlight_inserted_word_leaves_the_before_sentence_unmarked():
    before, after = highlight_sentences("IVIG is covered for SPS.", "IVIG is not covered for SPS.")
    assert before == "IVIG is covered for SPS."
    assert after == "IVIG is <ins>not</ins> covered for SPS."


def test_highlight_joins_neighbouring_changed_words_into_one_mark():
    before, after = highlight_sentences("given every four weeks for six months", "given every two days for six months")
    assert before == "given every <del>four weeks</del> for six months"
    assert after == "given every <ins>two days</ins> for six months"


def test_highlight_one_sided_sentence_is_shown_whole():
    assert highlight_sentences(None, "IVIG is covered for <SCLS>.") == (None, "IVIG is covered for &lt;SCLS&gt;.")
    assert highlight_sentences("Removed  line\nbreak.", None) == ("Removed line break.", None)
    assert highlight_sentences(None, None) == (None, None)


def test_highlight_ignores_line_breaks_and_runs_of_spaces():
    assert highlight_sentences("IgG  is\n< 400", "IgG is < 400") == ("IgG is &lt; 400", "IgG is &lt; 400")


def test_highlight_escapes_hostile_words_inside_and_outside_marks():
    before, after = highlight_sentences(f"Covered for {HOSTILE} when &amp;", f"Covered for {HOSTILE_ATTR} when &amp;")
    assert "<script" not in before + after and 'onmouseover="' not in before + after
    assert "&lt;script&gt;" in before and "&amp;amp;" in before
    # "alert(" is common to both, so only the words around it are marked
    assert after == "Covered for <ins>&quot; onmouseover=&quot;</ins>alert(<ins>2</ins>) when &amp;amp;"


def test_word_tokens_cover_the_whole_text():
    words, shown = word_tokens("  IgG < 400 mg/dL;\nsee  Clarkson’s (SCLS).")
    assert words == ["IgG", "<", "400", "mg/dL", ";", "see", "Clarkson’s", "(", "SCLS", ")", "."]
    assert "".join(shown) == "IgG < 400 mg/dL; see Clarkson’s (SCLS)."


def test_word_diff_of_equal_sentences_has_no_marks():
    old_side, new_side = word_diff("a b c", "a  b c")
    assert [p.mark for p in old_side + new_side] == [None, None]


# --- links ------------------------------------------------------------------------------------


def test_mcd_url_only_for_coverage_api_lcd_ids():
    assert mcd_url("L33438", "47", "json") == (
        "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=33438&ver=47"
    )
    assert mcd_url("L33438", "47", "txt") is None  # not a Coverage API record
    assert mcd_url("IVIG-OFFLABEL", "2", "json") is None
    assert mcd_url("A56781", "34", "json") is None  # an article, not an LCD
    assert mcd_url("L33438", "47a", "json") is None


def test_relative_href_from_the_report_folder(tmp_path):
    source = tmp_path / "raw_docs" / "L1" / "2 draft.txt"
    assert relative_href(source, tmp_path / "reports") == "../raw_docs/L1/2%20draft.txt"
    assert relative_href(source, source.parent) == "./2%20draft.txt"


def test_relative_href_never_reads_as_a_url_scheme(tmp_path):
    assert relative_href(tmp_path / "javascript:alert(1)", tmp_path) == "./javascript%3Aalert%281%29"


def test_relative_href_without_a_shared_folder_is_a_file_uri(tmp_path):
    assert relative_href(Path("/usr/share/doc/x.txt"), tmp_path) == "file:///usr/share/doc/x.txt"


def test_locate_source_tries_each_root(tmp_path):
    (tmp_path / "b" / "raw_docs").mkdir(parents=True)
    (tmp_path / "b" / "raw_docs" / "1.txt").write_text("x")
    roots = [tmp_path / "a", tmp_path / "b"]
    assert locate_source("raw_docs/1.txt", roots) == (tmp_path / "b" / "raw_docs" / "1.txt").resolve()
    assert locate_source(str(tmp_path / "b" / "raw_docs" / "1.txt"), []) is not None
    assert locate_source("raw_docs/missing.txt", roots) is None


# --- timeline plot ----------------------------------------------------------------------------

POINTS = (
    VersionPoint(1, "1", date(2024, 3, 1), None, None),
    VersionPoint(2, "2", date(2024, 6, 1), None, None, (("coverage_changed", 1), ("dose_added", 2))),
    VersionPoint(3, "3", None, None, None, (("threshold_changed", 1),)),
)


def test_family_counts_put_coverage_changes_with_indications():
    counts = family_counts(POINTS)
    assert counts["indication"] == [0, 1, 0]
    assert counts["dose"] == [0, 2, 0]
    assert counts["threshold"] == [0, 0, 1]


def test_timeline_svg_is_inline_deterministic_svg():
    svg = timeline_svg(POINTS, {2, 3}, "Versions of L1")
    assert svg.startswith('<svg class="timeline" role="img" aria-label="Versions of L1" ')
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    assert svg.rstrip().endswith("</svg>")
    assert ">v2<" in svg and ">2024-06-01<" in svg and ">undated<" in svg
    assert svg == timeline_svg(POINTS, {2, 3}, "Versions of L1")


def test_timeline_svg_escapes_version_labels_and_reads_no_math():
    svg = timeline_svg((POINTS[0], VersionPoint(9, f"$x${HOSTILE}", None, None, None, (("dose_added", 1),))),
                       label=HOSTILE_ATTR)
    assert "<script" not in svg and 'onmouseover="' not in svg
    assert "&lt;script&gt;" in svg and "$x$" in svg


# --- the report from a warehouse --------------------------------------------------------------


def _revise(con: duckdb.DuckDBPyConnection, lcd_id: str, *specs: dict) -> None:
    """Load versions 1, 2, ... of `lcd_id` with the given spec changes, diffing each against the last."""
    for number, spec in enumerate(specs, 1):
        key = load_version(con, *build_version(lcd_id=lcd_id, version=str(number), **spec))
        if number > 1:
            diff_version(con, key)


@pytest.fixture
def revised(tmp_path: Path, monkeypatch) -> duckdb.DuckDBPyConnection:
    """L35891 in three versions (dose, threshold, then coverage changes), its source files on disk."""
    monkeypatch.chdir(tmp_path)
    for number in (1, 2, 3):
        source = tmp_path / "raw_docs" / "L35891" / f"{number}.txt"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"version {number}")
    con = connect(tmp_path / "lcd.duckdb")
    _revise(
        con,
        "L35891",
        {"effective_date": date(2024, 3, 1)},
        {"effective_date": date(2024, 6, 1), "dose_high": 2.0, "igg_value": 500.0},
        {"effective_date": date(2025, 1, 1), "dose_high": 2.0, "igg_value": 500.0, "gvhd_coverage": "not_covered"},
    )
    yield con
    con.close()


def test_version_points_count_changes_into_each_version(revised):
    points = version_points(revised, ["L35891"])["L35891"]
    assert [(p.version, p.change_total) for p in points] == [("1", 0), ("2", 2), ("3", 1)]
    assert dict(points[1].change_counts) == {"dose_changed": 1, "threshold_changed": 1}


def test_html_report_has_header_summary_plot_and_highlighted_sentences(revised, tmp_path):
    html = write_report(revised, None, fmt="html", out=tmp_path / "reports" / "r.html").read_text("utf-8")
    assert '<p class="window">All stored policy changes. New versions effective 2024-06-01 to 2025-01-01.' in html
    assert "<dt>policy changes</dt><dd>3</dd>" in html and "<dt>revisions</dt><dd>2</dd>" in html
    assert '<h2><span class="lcd-id">L35891</span> <span class="title">— Immune Globulin Intravenous (IVIG)' in html
    assert "<strong>v1 · effective 2024-03-01</strong>" in html
    assert '<li class="chip f-dose">dose changed: 1</li>' in html
    assert html.count('<svg class="timeline"') == 1
    assert "3 stored versions of L35891, oldest first" in html and "faded" not in html
    assert "<h3>v2 · effective 2024-06-01 → v3 · effective 2025-01-01</h3>" in html
    assert "serum IgG is &lt; <del>400</del> mg/dL." in html
    assert "serum IgG is &lt; <ins>500</ins> mg/dL." in html
    assert "IVIG is <ins>not</ins> covered for chronic graft versus host disease" in html
    assert "IgG &lt; 400 mg/dL → IgG &lt; 500 mg/dL" in html


def test_html_report_links_each_version_to_its_source_file(revised, tmp_path):
    out = tmp_path / "reports" / "r.html"
    html = write_report(revised, None, fmt="html", out=out).read_text("utf-8")
    hrefs = re.findall(r'<a href="(\.\./raw_docs/[^"]+)"><code>raw_docs/L35891/\d\.txt</code></a>', html)
    # one table row per revision: 1 -> 2, 2 -> 3
    assert hrefs == [f"../raw_docs/L35891/{n}.txt" for n in (1, 2, 2, 3)]
    assert all((out.parent / href).resolve().is_file() for href in hrefs)
    assert "medicare-coverage-database" not in html  # text files are not Coverage API records


def test_html_report_links_coverage_api_versions_to_their_mcd_page(revised, tmp_path):
    revised.execute("update lcd_versions set source_format = 'json'")
    html = write_report(revised, None, fmt="html", out=tmp_path / "r.html").read_text("utf-8")
    assert '<a href="https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid=35891&amp;ver=3">' in html


def test_html_report_since_a_date_fades_the_older_revisions(revised, tmp_path):
    html = write_report(revised, date(2025, 1, 1), fmt="html", out=tmp_path / "r.html").read_text("utf-8")
    assert "<dt>policy changes</dt><dd>1</dd>" in html
    assert "Changes whose new version took effect on or after 2025-01-01" in html
    assert "Versions outside this report are faded." in html
    assert "opacity: 0.35" in html  # version 2's bars, outside the window


def test_html_report_without_changes_says_so():
    html = render_html([], since=date(2030, 1, 1))
    assert "<p>No policy changes since 2030-01-01.</p>" in html
    assert "<dt>policy changes</dt><dd>0</dd>" in html and "<svg" not in html


def test_render_html_without_stored_versions_plots_the_versions_its_rows_name(revised):
    html = render_html(changes_since(revised))
    assert html.count('<svg class="timeline"') == 1 and ">v3<" in html
    assert "<a href=" not in html.replace('<a href="#lcd-1">', "")


class _Tags(HTMLParser):
    """Every start tag with its attributes, as the browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict]]:
    """The start tags of `html`."""
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def hostile_report(tmp_path: Path) -> str:
    """The HTML report of a warehouse whose titles, contractor, indication and sentences are hostile."""
    con = connect(tmp_path / "lcd.duckdb")
    meta = {"title": f"IVIG {HOSTILE}", "contractor": f"MAC {HOSTILE_ATTR}"}
    _revise(con, "L1", meta, {**meta, "extra_indications": (f"{HOSTILE} {HOSTILE_ATTR} syndrome",)})
    keys = [row[0] for row in con.execute("select version_key from lcd_versions order by version_key").fetchall()]
    con.execute(
        "insert into policy_changes (lcd_id, from_version_key, to_version_key, change_type, subject, before, after,"
        " detected_at, before_sentence, after_sentence, indication, section) values (?, ?, ?, 'threshold_changed',"
        " ?, ?, ?, ?, ?, ?, ?, ?)",
        ["L1", *keys, HOSTILE, f"IgG < 400 {HOSTILE}", f"IgG < 500 {HOSTILE_ATTR}", datetime(2024, 1, 1),
         f"Covered when IgG < 400 {HOSTILE}.", f"Covered when IgG < 500 {HOSTILE_ATTR}.", HOSTILE_ATTR, HOSTILE],
    )
    html = write_report(con, None, fmt="html", out=tmp_path / "r.html").read_text("utf-8")
    con.close()
    return html


def test_html_report_escapes_hostile_document_text(hostile_report):
    tags = _tags(hostile_report)
    assert not [tag for tag, _ in tags if tag in {"script", "iframe", "object", "embed", "img", "link"}]
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    assert "IVIG &lt;script&gt;alert(1)&lt;/script&gt;" in hostile_report
    assert "MAC &quot; onmouseover=&quot;alert(2)" in hostile_report
    assert (
        "Covered when IgG &lt; <del>400 &lt;script&gt;</del>alert(<del>1</del>)<del>&lt;/script&gt;</del>."
        in hostile_report
    )
    assert "Covered when IgG &lt; <ins>500 &quot; onmouseover=&quot;</ins>alert(<ins>2</ins>)." in hostile_report
    assert "IVIG is covered for &lt;script&gt;alert(1)&lt;/script&gt; &quot; onmouseover=" in hostile_report


def test_html_report_is_self_contained(hostile_report):
    tags = _tags(hostile_report)
    assert not [attrs for _, attrs in tags if "src" in attrs]
    assert "@import" not in hostile_report and "<link" not in hostile_report
    assert set(re.findall(r"url\((.)", hostile_report)) <= {"#"}  # only the plot's own clip paths
    hrefs = [attrs.get("href") or attrs.get("xlink:href") for _, attrs in tags]
    assert all(h.startswith(("#", "./", "../", "file:")) for h in hrefs if h)


def test_html_report_shows_the_revision_explanation_and_reasons_escaped(revised, tmp_path):
    revised.execute(
        """
        insert into lcd_revision_history (lcd_id, version, rev_hist_date, rev_hist_num, explanation, reasons_for_change, source, loaded_at)
        values ('L35891', '3', date '2025-01-01', 'R3', 'GVHD <b>no longer</b> covered', ['Other (Annual Review)'], 'test', now())
        """
    )
    html = write_report(revised, None, fmt="html", out=tmp_path / "r.html").read_text("utf-8")
    assert '<p class="revision-note">Revision explanation (R3, 2025-01-01): GVHD &lt;b&gt;no longer&lt;/b&gt; covered</p>' in html
    assert '<p class="revision-note">Reason for change: Other (Annual Review)</p>' in html
