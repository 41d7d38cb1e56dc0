"""The HTML change report of the shipped IVIG pair, rendered by a real browser (Debian's headless chromium).

`make test` installs chromium when it is missing (`make chromium`), so on CI these tests always run; a
developer without chromium sees them skipped with the command that installs it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from _browser import chromium_path, dump_dom, png_rgb, png_size, screenshot, solid_square

from pipeline.diff import diff_version
from pipeline.extract import extract
from pipeline.ingest import read_document
from pipeline.report import ChangeRow, render_html, write_report
from pipeline.report.plot import FAMILIES
from pipeline.warehouse import connect, load_version

REPO = Path(__file__).resolve().parents[1]
WINDOW = (1280, 2000)
COLOURS = {family: colour for family, _, colour in FAMILIES}


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary; missing is a failure on CI (make test installs it), a skip elsewhere."""
    binary = chromium_path()
    if binary is None:
        reason = "chromium is not installed: run `make chromium` (Debian's chromium; `make test` does it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def ivig_report(tmp_path_factory) -> Path:
    """The HTML report of the shipped IVIG-OFFLABEL versions 1 and 2, ingested as `lcd ingest raw_docs` does."""
    folder = tmp_path_factory.mktemp("ivig")
    con = connect(folder / "lcd.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)  # stored source paths are relative, "raw_docs/IVIG-OFFLABEL/1.txt"
        for version in ("1", "2"):
            doc = read_document(Path("raw_docs") / "IVIG-OFFLABEL" / f"{version}.txt", root=Path("raw_docs"))
            key = load_version(con, doc, extract(doc))
        assert len(diff_version(con, key)) == 4
        report = write_report(con, None, fmt="html", out=folder / "report.html")
    con.close()
    return report


@pytest.fixture(scope="module")
def ivig_screenshot(chromium, ivig_report, tmp_path_factory) -> Path:
    """The IVIG report as chromium paints it in a 1280 x 2000 window."""
    folder = tmp_path_factory.mktemp("shot")
    return screenshot(chromium, ivig_report, folder / "report.png", WINDOW, folder / "profile")


def test_ivig_report_screenshot_is_a_nonblank_png_of_the_window(ivig_screenshot):
    assert ivig_screenshot.is_file()
    assert png_size(ivig_screenshot) == WINDOW
    rgb = png_rgb(ivig_screenshot)
    assert rgb.shape == (WINDOW[1], WINDOW[0], 3)
    assert rgb.std() > 20  # not one flat colour
    assert (rgb < 200).any(axis=2).mean() > 0.02  # text and plot, not an empty white page


def test_ivig_report_screenshot_shows_the_plot_bars(ivig_screenshot):
    # The page's chips share the bar colours but are about 20 px tall: only a plotted bar holds a
    # solid 40 x 40 px square of its colour (IVIG: 2 indications and 2 doses added in version 2).
    # The same page with its <svg> removed has no such square.
    rgb = png_rgb(ivig_screenshot)
    assert solid_square(rgb, COLOURS["indication"], 40)
    assert solid_square(rgb, COLOURS["dose"], 40)
    assert not solid_square(rgb, COLOURS["threshold"], 40)  # no threshold changed


def test_ivig_report_dom_holds_the_plot_and_changes(chromium, ivig_report, tmp_path):
    dom = dump_dom(chromium, ivig_report, tmp_path / "profile")
    figure = dom[dom.index('<figure class="plot">'):dom.index("</figure>")]
    assert figure.count('<svg class="timeline"') == 1
    assert "<rect" in figure or "<path" in figure
    assert "IVIG-OFFLABEL" in dom and "CMS Off-Label Use of Intravenous Immune Globulin (IVIG) Form" in dom
    # The 4 changes: the 2 indications added are items; the 2 doses added belong to SCLS (their
    # parent_change_key) and are listed inside its item.
    items = dom.split('<li class="change ')[1:]
    assert len(items) == 2
    scls = next(item for item in items if "Systemic Capillary Leak Syndrome" in item)
    children = scls[scls.index('<ul class="children">') : scls.index("</ul>")]
    assert children.count('<span class="chip f-dose">') == 2
    assert "1 g/kg per month" in children and "2 g/kg per month" in children
    # a file: link, or a relative one when the report and the repo share a folder (e.g. both under /tmp)
    assert re.search(r'<a href="(?:file://[^"]*/|(?:\.\./|\./)[^"]*)raw_docs/IVIG-OFFLABEL/2\.txt"', dom)
    assert "<script" not in dom


class _Elements(HTMLParser):
    """Start tags and their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_hostile_text_stays_text_in_the_browser(chromium, tmp_path):
    hostile = '<script>alert(1)</script>" onmouseover="alert(2)'
    row = ChangeRow(
        1, hostile, hostile, hostile, 1, "1", None, 2, "2", None, "threshold_changed", hostile, hostile, hostile,
        f"IgG < 400 {hostile}", f"IgG < 500 {hostile}", hostile, hostile, datetime(2024, 1, 1), None,
    )
    page = tmp_path / "hostile.html"
    page.write_text(render_html([row]), encoding="utf-8")
    dom = dump_dom(chromium, page, tmp_path / "profile")
    parser = _Elements()
    parser.feed(dom)
    assert not [tag for tag, _ in parser.tags if tag in {"script", "img", "iframe"}]
    assert not [name for _, attrs in parser.tags for name in attrs if name.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;\" onmouseover=\"alert(2)" in dom  # shown as text
