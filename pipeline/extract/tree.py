"""The document's tree: headings, paragraphs and list items with the line that introduces each list.

LCD policy is headed sections and nested lists whose lead-in decides what the items are ("is covered
when ALL of the following are met:" -> criteria; "is not covered for:" -> not-covered conditions). The
normalised text has one paragraph or list item per line (pipeline/ingest/normalize.py), so the tree is
built from the Lines of pipeline.extract.structure in one pass, with a stack of open items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract.structure import Line

_JOINED_END_RE = re.compile(r"(?:[,;]|\b(?:and|or|and/or))\s*$", re.I)  # an entry that the next one continues
_ENUMERATED_RE = re.compile(r"^\s*(?:[-•*–]\s+)?\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4})[.)]\s")


def looks_like_heading(text: str) -> bool:
    """A short line without a full stop, in title or sentence case: a sub-heading."""
    return len(text) <= 90 and not text.rstrip().endswith((".", ",", ";")) and len(text.split()) <= 12 and text[0].isupper()


# an entry of a list written as plain lines: "Severe demineralization of bone;", "Bleeding disorders; and"
_UNMARKED_ITEM_END_RE = re.compile(r";\s*(?:and|or|and/or)?$", re.I)
UNMARKED_ITEM_WORDS = 30  # longer lines are sentences of a paragraph, not list entries


def unmarked_item(previous: str, previous_unmarked: bool, stripped: str) -> bool:
    """A paragraph line that is an entry of a list without bullets: it ends in ";" (or "; and") after a line
    ending in ":" or after another such entry, or it ends the run in "." after one."""
    if len(stripped.split()) > UNMARKED_ITEM_WORDS:
        return False
    opened = previous.endswith(":") or previous_unmarked
    if _UNMARKED_ITEM_END_RE.search(stripped):
        return opened
    return stripped.endswith(".") and previous_unmarked and bool(_UNMARKED_ITEM_END_RE.search(previous))


@dataclass(frozen=True)
class Node:
    """One non-empty line of the document as a tree node (indices are line indices)."""

    index: int
    kind: str  # "heading" | "paragraph" | "item"
    start: int  # offset of the content (after any "- " marker and enumeration, stripped)
    end: int
    depth: int  # nesting level of an item (0 at top level); -1 for headings and paragraphs
    parent: int | None  # the item this item is nested under
    lead_in: int | None  # the parent item, else the nearest preceding non-item line of the section
    heading: int | None  # the nearest preceding heading of the section
    siblings: int  # items under the same lead-in at the same depth (itself included)
    children: int  # items directly under this item
    section_kind: str
    section_name: str

    @property
    def is_item(self) -> bool:
        """True for list items."""
        return self.kind == "item"


def _content_span(text: str, line: Line) -> tuple[int, int]:
    """The line's content without the list marker and surrounding spaces."""
    raw = text[line.content_start : line.end]
    start = line.content_start + len(raw) - len(raw.lstrip())
    return start, start + len(raw.strip())


def build_tree(text: str, lines: list[Line]) -> list[Node]:
    """Nodes of every non-empty line, in document order.

    An item's parent is the nearest open item one level up; a plain bullet after an item that ends with ":"
    at the same depth is its child (flattened exports write "- 1. Threat to others:" then "- assaultive
    behavior ..." at one level, and "- ... typically includes one or more of the following:" then "- assistive
    device use, or"): under an enumerated item until the next enumerated item of that level, under a plain one
    up to the first child that does not end in a joiner (",", ";", "and", "or"). Plain lines of a list written
    without bullets (`unmarked_item`) are top-level items under the line that introduces them.
    """
    drafts: list[dict] = []
    open_items: list[tuple[int, int, str | None]] = []  # (effective depth, line index, "enumerated"/"plain" when it ends with ":")
    last_plain: int | None = None
    last_heading: int | None = None
    section = None
    previous, previous_unmarked = "", False
    for line in lines:
        start, end = _content_span(text, line)
        if start >= end:
            continue
        if line.section_name != section:
            section, open_items, last_plain, last_heading = line.section_name, [], None, None
            previous, previous_unmarked = "", False
        content = text[start:end]
        unmarked = not line.is_item and unmarked_item(previous, previous_unmarked, content)
        previous, previous_unmarked = content, unmarked
        if unmarked:
            # "Severe demineralization of bone;" after a ":" lead-in: an item of a list written without bullets
            drafts.append(dict(index=line.index, kind="item", start=start, end=end, depth=0, parent=None, lead_in=last_plain,
                               heading=last_heading, section_kind=line.section_kind, section_name=line.section_name))
            open_items = []
            continue
        if not line.is_item:
            kind = "heading" if looks_like_heading(content) else "paragraph"
            drafts.append(dict(index=line.index, kind=kind, start=start, end=end, depth=-1, parent=None, lead_in=last_plain,
                               heading=last_heading, section_kind=line.section_kind, section_name=line.section_name))
            last_plain, open_items = line.index, []
            if kind == "heading":
                last_heading = line.index
            continue
        enumerated = bool(_ENUMERATED_RE.match(text[line.start : line.end]))
        depth = line.depth
        while open_items and open_items[-1][0] > depth:
            open_items.pop()
        opener = open_items[-1][2] if open_items and open_items[-1][0] == depth and not enumerated else None
        if opener:
            depth += 1  # a bullet under "- 1. Heading item:" at the same written level
        while open_items and open_items[-1][0] >= depth:
            open_items.pop()
        parent = open_items[-1][1] if open_items else None
        open_items.append((depth, line.index, ("enumerated" if enumerated else "plain") if content.endswith(":") else None))
        if opener == "plain" and not _JOINED_END_RE.search(content):
            # "- anti-inflammatory medications or analgesics, or" ... "- therapeutic injections as appropriate.": the
            # entry without a joiner is the sub-list's last; the next bullet is back at its parent's level
            open_items[-2] = (*open_items[-2][:2], None)
        drafts.append(dict(index=line.index, kind="item", start=start, end=end, depth=depth, parent=parent,
                           lead_in=parent if parent is not None else last_plain, heading=last_heading,
                           section_kind=line.section_kind, section_name=line.section_name))
    return _with_counts(drafts)


def _with_counts(drafts: list[dict]) -> list[Node]:
    """Freeze the drafts, counting each item's siblings and each item's children."""
    siblings: dict[tuple, int] = {}
    children: dict[int, int] = {}
    for d in drafts:
        if d["kind"] == "item":
            key = (d["section_name"], d["lead_in"], d["depth"])
            siblings[key] = siblings.get(key, 0) + 1
            if d["parent"] is not None:
                children[d["parent"]] = children.get(d["parent"], 0) + 1
    return [
        Node(**d, siblings=siblings.get((d["section_name"], d["lead_in"], d["depth"]), 0) if d["kind"] == "item" else 0,
             children=children.get(d["index"], 0))
        for d in drafts
    ]


def node_text(text: str, node: Node | None) -> str:
    """The content of a node ("" for None)."""
    return text[node.start : node.end] if node is not None else ""


def by_index(nodes: list[Node]) -> dict[int, Node]:
    """Nodes keyed by their line index (lead-in, parent and heading refer to line indices)."""
    return {node.index: node for node in nodes}
