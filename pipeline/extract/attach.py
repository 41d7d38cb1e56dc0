"""Which indication a dose or threshold belongs to, read from the document's tree (models/ANNOTATION.md 12.9).

A fact belongs to the indication written in its own sentence; else to the one named on its list item or on the
items and lead-ins above it (a sub-item belongs to its parent item's indication); a line above it that names
several gives none, unless the fact's own line names one of them. An unnamed item among named ones is a member
or criterion of its own: the walk does not climb past it to the umbrella above its list. An item without a named
ancestor takes the indication governing it by scope only when that head is an earlier item of its own list (flat
lists put an indication's doses in the items after it: "- Autoimmune retinopathy", "- Induction Dose - 1.5 g/kg")
or the heading its list sits under, never a sibling of one of its ancestors. Paragraphs and lists written between
the items of a list belong to the heading-like item above them ("- Paget's disease of bone", its paragraphs,
"- Osteogenesis imperfecta"). An item of a conjunctive patient-criteria list ("covered for patients who have all
of the following:") in which exactly one indication is named belongs to it. A fact none of these decides takes
the one indication whose name its sentence writes, else the document's only covered indication (12.9: a criterion
of a single-indication policy is that indication's). Otherwise null: a guess is worse than no link.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from pipeline.extract.indications import PROSE_KINDS
from pipeline.extract.structure import Line, Sentence
from pipeline.extract.tree import Node, looks_like_heading
from pipeline.text import fold

_MIN_WORDS = 2  # one-word forms ("MIGS", "pain", "exercise") name too loosely to be read in a sentence without a mention
Scope = tuple[int, int, int, str]  # (start, end, indication id, mention kind) of a head mention's scope


@dataclass
class Attacher:
    """The attachment rules over one document's lines, tree and indication scopes."""

    text: str
    lines: list[Line]
    nodes: dict[int, Node]  # by line index
    scopes: list[Scope]
    forms: dict[int, tuple[str, ...]]  # folded name and aliases of each indication, to read them in a line
    conjunctive: tuple[str, ...]  # lead-in phrases of criteria lists (lexicon criteria_intro)
    alternatives: tuple[str, ...]  # lead-in phrases of alternatives ("any of the following"): not conjunctive
    population: frozenset[str]  # words naming the patient ("patients", "beneficiaries"): a list of patient criteria
    sole: int | None = None  # the document's only covered policy indication, if it has exactly one
    _named: dict[int, set[int]] = field(default_factory=dict, repr=False)
    _starts: list[int] | None = field(default=None, repr=False)
    _lists: dict[tuple, list[Node]] | None = field(default=None, repr=False)

    def indication(self, offset: int, sentence: Sentence) -> int | None:
        """The indication of the fact at `offset` in `sentence`, or None."""
        decided, ind = self._by_tree(offset, sentence)
        if decided:
            return ind
        written = self._written_in(sentence)
        return written if written is not None else self.sole

    def _by_tree(self, offset: int, sentence: Sentence) -> tuple[bool, int | None]:
        """(decided, indication) by the sentence's own condition and the tree; decided with None when several
        indications are in scope."""
        for start, end, ind, kind in self.scopes:
            if kind in PROSE_KINDS and start == sentence.start and start <= offset <= end:
                return True, ind
        node = self.nodes.get(sentence.line)
        if node is None:
            return False, None
        fact_line = fold(self.text[self.lines[node.index].start : self.lines[node.index].end])
        if not node.is_item:
            found = self._scoped(offset, None)
            return (True, found) if found is not None else self._owner(node.index, fact_line)
        current: Node | None = node
        while current is not None:
            decided, ind = self._decide(current.index, fact_line)
            if decided and ind is None and current is node:
                # several named on the fact's own item: the one whose head is written before the fact there
                ind = self._scoped(offset, node, own_line_only=True)
            if decided:
                return True, ind
            if not current.is_item:
                break
            up = current.parent if current.parent is not None else current.lead_in
            parent = self.nodes.get(up) if up is not None else None
            if parent is not None and parent.is_item and not self.named(up) and (self._in_indication_list(parent) or self._in_indication_list(current)):
                # an unnamed item among named ones: it is a member or criterion of its own, and what is above its
                # list is the list's umbrella ("Other skin lesions:" over "- Lesions having these features:")
                current = None
                break
            current = parent
        found = self._scoped(offset, node)
        if found is not None:
            return True, found
        if current is not None:  # the walk ended on the non-item lead-in of the fact's list
            decided, ind = self._owner(current.index, fact_line)
            if decided:
                return True, ind
        found = self._conjunctive(node)
        return found is not None, found

    def _written_in(self, sentence: Sentence) -> int | None:
        """The one indication whose name or alias is written in the sentence (a condition the finder left
        without a mention there: "on long-term glucocorticoid therapy of more than 3 months"), else None."""
        folded = fold(self.text[sentence.start : sentence.end])
        written = [ind for ind, forms in self.forms.items() if any(len(f.split()) >= _MIN_WORDS and _has_words(folded, f) for f in forms)]
        return written[0] if len(written) == 1 else None

    def named(self, line_index: int) -> set[int]:
        """Indications whose head scope starts on the line."""
        if line_index not in self._named:
            line = self.lines[line_index]
            self._named[line_index] = {ind for start, _end, ind, _kind in self.scopes if line.start <= start < line.end}
        return self._named[line_index]

    def _decide(self, line_index: int, fact_line: str) -> tuple[bool, int | None]:
        """(decided, indication) from the names on one line: one -> it; several -> the one the fact's line
        names, else None; none -> undecided."""
        named = self.named(line_index)
        if not named:
            return False, None
        if len(named) == 1:
            return True, next(iter(named))
        written = [ind for ind in named if any(_has_words(fact_line, form) for form in self.forms.get(ind, ()))]
        return True, written[0] if len(written) == 1 else None

    def _scoped(self, offset: int, node: Node | None, own_line_only: bool = False) -> int | None:
        """The latest-starting head scope (not a prose mention's) holding the offset; for a list item, only a
        head on the item itself, on an earlier item of its own list (same lead-in and depth) or on the heading
        the list sits under."""
        best: tuple[int, int] | None = None
        for start, end, ind, kind in self.scopes:
            if kind in PROSE_KINDS or not (start <= offset < end) or (best is not None and start <= best[0]):
                continue
            if node is not None and not self._governs(node, self._line_at(start), own_line_only):
                continue
            best = (start, ind)
        return best[1] if best else None

    def _governs(self, node: Node, line: int | None, own_line_only: bool) -> bool:
        """True when a head written on `line` may govern the item `node` by its scope."""
        if line is None or line == node.index or own_line_only:
            return line == node.index
        if line == node.heading:
            return True
        other = self.nodes.get(line)
        return (other is not None and other.is_item and other.index < node.index and other.depth == node.depth
                and other.lead_in == node.lead_in and other.parent == node.parent)

    def _line_at(self, offset: int) -> int | None:
        """The index of the line holding the offset."""
        if self._starts is None:
            self._starts = [line.start for line in self.lines]
        i = bisect.bisect_right(self._starts, offset) - 1
        return self.lines[i].index if i >= 0 else None

    def _owner(self, line_index: int, fact_line: str) -> tuple[bool, int | None]:
        """(decided, indication) of the heading-like list item whose body holds the line: the line sits
        between that item and the next item of its depth (an interleaved list), with no heading between."""
        owner = self._body_owner(line_index)
        if owner is None:
            return False, None
        return self._decide(owner.index, fact_line)

    def _body_owner(self, line_index: int) -> Node | None:
        """The heading-like item above a non-item line inside an interleaved list, or None."""
        start = self.nodes.get(line_index)
        if start is None:
            return None
        floor = None  # the shallowest item depth passed on the way up
        for i in range(line_index - 1, -1, -1):
            n = self.nodes.get(i)
            if n is None:
                continue
            if n.section_name != start.section_name or self._boundary(n):
                return None
            if not n.is_item:
                continue
            if floor is not None and n.depth >= floor:
                continue
            floor = n.depth
            content = self.text[n.start : n.end]
            if not looks_like_heading(content) or not self.named(n.index):
                if n.depth == 0:
                    return None
                continue
            return n if self._interleaved(n, line_index) else None
        return None

    def _boundary(self, node: Node) -> bool:
        """A sub-heading (not a lead-in ending with a colon) closes an item's body."""
        return node.kind == "heading" and not self.text[node.start : node.end].rstrip().endswith(":")

    def _interleaved(self, owner: Node, line_index: int) -> bool:
        """True when the list goes on at the owner's depth after the line, before any sub-heading."""
        for i in range(line_index + 1, max(self.nodes, default=0) + 1):
            n = self.nodes.get(i)
            if n is None:
                continue
            if n.section_name != owner.section_name or self._boundary(n):
                return False
            if n.is_item and n.depth <= owner.depth:
                return n.depth == owner.depth
        return False

    def _siblings(self, node: Node) -> list[Node]:
        """The items of the item's own list (same parent, lead-in and depth), itself included."""
        if self._lists is None:
            self._lists = {}
            for n in self.nodes.values():
                if n.is_item:
                    self._lists.setdefault((n.parent, n.lead_in, n.depth), []).append(n)
        return self._lists.get((node.parent, node.lead_in, node.depth), [])

    def _lead_in_text(self, node: Node) -> str:
        """The lower-cased text of the line introducing the item's list (its parent item, else its lead-in)."""
        head = node.parent if node.parent is not None else node.lead_in
        return self.text[self.nodes[head].start : self.nodes[head].end].lower() if head in self.nodes else ""

    def _is_conjunctive(self, lead_in: str) -> bool:
        """A lead-in of criteria all required together ("all of the following"), not of alternatives."""
        return any(p in lead_in for p in self.conjunctive) and not any(p in lead_in for p in self.alternatives)

    def _in_indication_list(self, node: Node) -> bool:
        """True when another item of the item's list names an indication and the list is no conjunctive
        criteria list (there the named item is one criterion among the others)."""
        if self._is_conjunctive(self._lead_in_text(node)):
            return False
        return any(self.named(n.index) for n in self._siblings(node) if n.index != node.index)

    def _conjunctive(self, node: Node) -> int | None:
        """The one indication named on the items of a conjunctive criteria list the item belongs to."""
        lead_in = self._lead_in_text(node)
        if not self._is_conjunctive(lead_in):
            return None
        if not set(re.findall(r"[a-z]+", lead_in)) & self.population:
            return None  # criteria of the service ("a BMM test when it meets all of the following"), not of a patient
        named = set().union(*(self.named(n.index) for n in self._siblings(node)))
        return next(iter(named)) if len(named) == 1 else None


def _has_words(folded_text: str, folded_form: str) -> bool:
    """True when the folded form occurs in the folded text as whole words (folded text is lower-case letters,
    digits and single spaces, so a word boundary is the text's end or a non-alphanumeric character)."""
    if not folded_form:
        return False
    at = folded_text.find(folded_form)
    while at >= 0:
        end = at + len(folded_form)
        if (at == 0 or not folded_text[at - 1].isalnum()) and (end == len(folded_text) or not folded_text[end].isalnum()):
            return True
        at = folded_text.find(folded_form, at + 1)
    return False
