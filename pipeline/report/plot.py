"""The timeline plot of one LCD: its versions in order, with the policy changes that led to each.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no GUI, no global backend switch) and
written as SVG text with deterministic ids, so the same versions always give the same markup.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from html import escape

from pipeline.report.versions import VersionPoint

# Change types grouped by what they touch; each group is one colour in the plot and the page.
FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("indication", "indications / coverage", "#3b6fb6"),
    ("dose", "doses", "#c8553d"),
    ("threshold", "thresholds", "#b8860b"),
    ("criterion", "criteria", "#2a9d8f"),
)
_MUTED = 0.35  # opacity of versions outside the report's window


def change_family(change_type: str) -> str:
    """"dose_added" -> "dose"; coverage changes belong with indications."""
    return "indication" if change_type == "coverage_changed" else change_type.split("_", 1)[0]


def tick_label(point: VersionPoint) -> str:
    """ "v2\n2024-06-01" (or "undated"), "$" escaped so matplotlib reads no math in it."""
    when = point.effective_date.isoformat() if point.effective_date else "undated"
    return f"v{point.version}\n{when}".replace("$", r"\$")


def family_counts(points: Sequence[VersionPoint]) -> dict[str, list[int]]:
    """Per family, the number of changes into each version."""
    counts = {family: [0] * len(points) for family, _, _ in FAMILIES}
    for i, point in enumerate(points):
        for change_type, n in point.change_counts:
            counts.setdefault(change_family(change_type), [0] * len(points))[i] += n
    return counts


def timeline_svg(points: Sequence[VersionPoint], reported: Collection[int] = (), label: str = "") -> str:
    """Inline <svg> of stacked change counts per version; versions not in `reported` are faded."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(min(5.5 + 0.7 * len(points), 11.0), 2.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = list(range(len(points)))
    alphas = [1.0 if p.version_key in reported or not reported else _MUTED for p in points]
    _draw_bars(ax, x, family_counts(points), alphas)
    totals = [p.change_total for p in points]
    for i, total in enumerate(totals):
        ax.annotate(str(total), (i, total), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
    ax.set_xticks(x, [tick_label(p) for p in points], fontsize=8, rotation=0 if len(points) <= 10 else 45)
    ax.set_xlim(-0.6, len(points) - 0.4)
    ax.set_ylim(0, max([*totals, 1]) * 1.3)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("policy changes", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg_text(fig, rc_context, label)


def _draw_bars(ax, x: list[int], counts: dict[str, list[int]], alphas: list[float]) -> None:
    """One stacked bar per version, a colour per change family, a legend of the families present."""
    colours = {family: colour for family, _, colour in FAMILIES}
    names = {family: name for family, name, _ in FAMILIES}
    bottom = [0] * len(x)
    for family, heights in counts.items():
        if not any(heights):
            continue
        bars = ax.bar(x, heights, bottom=bottom, width=0.55, color=colours.get(family, "#777777"),
                      label=names.get(family, family))
        for bar, alpha in zip(bars, alphas):
            bar.set_alpha(alpha)
        bottom = [b + h for b, h in zip(bottom, heights)]
    if any(bottom):
        legend = ax.legend(loc="upper left", fontsize=8, frameon=False, ncols=4)
        for handle in legend.legend_handles:  # a swatch copies its first bar, which may be faded
            handle.set_alpha(1.0)


def _svg_text(fig, rc_context, label: str) -> str:
    """The figure as an inline <svg> element with an accessible label."""
    buffer = io.StringIO()
    # Text stays <text> (small, selectable, in the page's fonts); the salt makes clip-path ids stable.
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "lcd-report"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML declaration and DOCTYPE: not allowed inside HTML
    return svg.replace("<svg ", f'<svg class="timeline" role="img" aria-label="{escape(label)}" ', 1)
