"""Indications: find condition mentions, group them into indications, and score their coverage.

How MACs write indications, and what each rule here reads:
- a list under a coverage statement, one condition per item, often "Condition (ABBR) - text"
  ("NGS has approved IVIG for the following off label uses:") -> item heads;
- headings or "Condition - text" paragraphs in the evidence sections -> line heads;
- prose: "... is reasonable and necessary for patients with <condition> who ..." -> trigger phrases;
- criteria lists under an indication ("when the following criteria are met:") are criteria, not
  new indications, until the next item that is headed by a condition.
Coverage is a weighted vote of the cue phrases in each mention's scope (policy sections count more
than evidence sections); conflicting votes give `unclear`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pipeline.extract.lexicon import Lexicon
from pipeline.extract.structure import Line, Sentence

SECTION_WEIGHT = {"policy": 1.0, "evidence": 0.5, "other": 0.25}
COVERED_AT = 0.75  # |vote| needed to call coverage; below it the policy is unclear for us
LIST_INTRO_WEIGHT = 1.0
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9’'\-/.]*")
# A head is cut at a dash with a space on one side, at a colon, or at a dangling dash at line end.
_HEAD_SEPARATOR_RE = re.compile(r"\s+[-–—]+\s*(?=\S)|(?<=\S)[-–—]+\s+|:\s+|\s*[-–—:]+\s*$")
_ABBR_PAREN_RE = re.compile(r"\s*\(([A-Za-z][A-Za-z0-9\-]{1,9})\)")
_LEADING_NOISE_RE = re.compile(r"^(?:the|a|an|any|all|some|other|certain|confirmed|known|documented)\s+", re.I)


@dataclass
class Mention:
    """One place the document names a condition."""

    name: str
    start: int
    end: int
    line: int
    kind: str  # "item" | "heading" | "line_head" | "trigger"
    section_kind: str
    abbreviation: str | None = None
    aliases: list[str] = field(default_factory=list)
    scope: tuple[int, int] = (0, 0)  # char range whose cue phrases vote on this mention's coverage
    list_vote: float = 0.0


@dataclass
class IndicationGroup:
    """Mentions that name the same indication, merged."""

    mentions: list[Mention]
    vote: float = 0.0

    @property
    def best(self) -> Mention:
        """The mention that names the indication: policy before evidence, list items before prose."""
        rank = {"item": 0, "line_head": 1, "heading": 2, "trigger": 3}
        section_rank = {"policy": 0, "evidence": 1, "other": 2}
        return min(self.mentions, key=lambda m: (section_rank.get(m.section_kind, 3), rank[m.kind], m.start))


def words(text: str) -> list[str]:
    """Lower-case word tokens of a phrase."""
    return [w.strip(".’'").lower() for w in _WORD_RE.findall(text)]


def is_condition_like(name: str, lexicon: Lexicon) -> bool:
    """A phrase names a condition when one of its words is a condition head or has a condition suffix."""
    tokens = words(name)
    if not tokens or len(tokens) > 14:
        return False
    if tokens[-1] in lexicon.not_conditions and not any(t in lexicon.condition_heads for t in tokens[:-1]):
        return False
    for token in tokens:
        for part in token.split("/"):
            if part in lexicon.condition_heads:
                return True
            if len(part) > 5 and part.endswith(lexicon.condition_suffixes):
                return True
    return False


def normalize_name(name: str, abbreviations: dict[str, str]) -> str:
    """Canonical spelling used to align indications across versions and mentions."""
    text = _ABBR_PAREN_RE.sub(" ", name)
    expanded = []
    for token in re.split(r"(\s+)", text):
        bare = token.strip(".,;:")
        expanded.append(abbreviations.get(bare, token) if bare.isupper() or bare in abbreviations else token)
    text = "".join(expanded).lower()
    text = re.sub(r"\bvs\.?(?=\s)", "versus", text)
    text = text.replace("hematopoetic", "hematopoietic").replace("haematopoietic", "hematopoietic")
    text = re.sub(r"[’'`]s\b", "s", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(text.split())


def clean_name(raw: str) -> tuple[str, str | None, list[str]]:
    """Split "Name (ABBR) or Other Name" into the name, its abbreviation and aliases."""
    raw = raw.strip(" \t-–—:;,.")
    abbreviation = None
    match = _ABBR_PAREN_RE.search(raw)
    if match and sum(c.isupper() for c in match.group(1)) >= 2:
        abbreviation = match.group(1)
    text = _ABBR_PAREN_RE.sub("", raw).strip()
    aliases: list[str] = []
    parts = re.split(r"\s+or\s+|\s*/\s+", text)
    if len(parts) > 1 and all(len(p.split()) >= 1 for p in parts):
        text, aliases = parts[0].strip(), [p.strip() for p in parts[1:] if p.strip()]
    text = _LEADING_NOISE_RE.sub("", text).strip(" -–—:;,.")
    if abbreviation:
        aliases.append(abbreviation)
    return text, abbreviation, aliases


def item_head(text: str, offset: int, lexicon: Lexicon) -> tuple[str, int, int] | None:
    """The condition a list item or paragraph starts with, as (raw head, start, end), if any."""
    if not text or not (text[0].isupper() or text[0].isdigit()):
        return None
    head_end = None
    sep = _HEAD_SEPARATOR_RE.search(text)
    if sep and sep.start() <= 140:
        head_end = sep.start()
    abbr = _ABBR_PAREN_RE.search(text)
    if abbr and abbr.start() <= 120 and (head_end is None or abbr.end() <= head_end):
        rest = text[abbr.end() :]
        # "Condition (ABBR) IVIG is indicated ..." / "Condition (ABBR) that is ...": the head ends at the abbreviation,
        # unless an "or Other Name" continues it up to the separator.
        if not (head_end is not None and re.match(r"\s+or\s", rest)):
            head_end = abbr.end()
    if head_end is None:
        # "Stiff-person syndrome may be treated ...": cut at the first function word.
        tokens = list(re.finditer(r"\S+", text))
        for i, tok in enumerate(tokens[:12]):
            if i > 0 and tok.group().lower().strip(",;") in lexicon.mention_stops:
                head_end = tokens[i - 1].end()
                break
        else:
            if len(tokens) <= 12:
                head_end = len(text)
    if head_end is None:
        return None
    head = text[:head_end].rstrip(" ,;:-–—.")
    if not head or len(head.split()) > 14:
        return None
    return head, offset, offset + len(head)


def trigger_mentions(text: str, offset: int, lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """Condition phrases after trigger words ("patients with X who ...") in one sentence."""
    found = []
    lowered = text.lower()
    for trigger in lexicon.mention_triggers:
        for match in re.finditer(rf"\b{re.escape(trigger)}\s+", lowered):
            start = match.end()
            phrase = _phrase_until_stop(text[start:], lexicon)
            if phrase:
                found.append((phrase, offset + start, offset + start + len(phrase)))
    # Keep the longest phrase at each position ("patients with" inside "in patients with").
    found.sort(key=lambda f: (f[1], -(f[2] - f[1])))
    result: list[tuple[str, int, int]] = []
    for phrase in found:
        if result and phrase[1] < result[-1][2]:
            continue
        result.append(phrase)
    return result


def _phrase_until_stop(text: str, lexicon: Lexicon) -> str:
    """The words of `text` up to a function word, punctuation, or a second "with"."""
    out_end = 0
    seen_head = False
    for tok in re.finditer(r"[^\s,;:.()\[\]]+(?:\.(?=\w))?[^\s,;:.()\[\]]*|[,;:.()\[\]]", text):
        word = tok.group()
        lower = word.lower()
        if word in ",;:.()[]" or tok.start() > 110:
            break
        if lower in lexicon.mention_stops and out_end:
            if lower not in ("in", "to") or seen_head:
                break
        if lower == "with" and seen_head:
            break
        if lower in lexicon.condition_heads or lower.endswith(lexicon.condition_suffixes):
            seen_head = True
        out_end = tok.end()
    phrase = text[:out_end].strip()
    phrase = re.sub(r"\s+(?:and|or|and/or|of|with|the|a|an|in|to)$", "", phrase, flags=re.I)
    return phrase


def _starts_criteria(text: str, lexicon: Lexicon) -> bool:
    lowered = text.lower()
    return lowered.rstrip().endswith(":") and any(p in lowered for p in lexicon.criteria_intro) or (
        any(p in lowered for p in lexicon.criteria_intro) and lowered.rstrip().endswith(("met", "met:", "criteria"))
    )


def list_intro_vote(text: str, lexicon: Lexicon, cue_vote: float) -> float | None:
    """The coverage a line ending in ':' gives to the list that follows it, or None if it opens no list."""
    lowered = text.lower().rstrip()
    if not lowered.endswith(":"):
        return None
    if any(p in lowered for p in lexicon.list_intro_negative) or cue_vote < 0:
        return -LIST_INTRO_WEIGHT
    if any(p in lowered for p in lexicon.list_intro_positive) or cue_vote > 0:
        return LIST_INTRO_WEIGHT
    return 0.0


@dataclass
class ListState:
    """What the list the current line belongs to is about."""

    vote: float = 0.0  # coverage vote of the introducing line
    criteria_of: int | None = None  # index of the mention whose criteria list this is
    depth: int = 0


def find_mentions(
    text: str,
    lines: list[Line],
    sentences: list[Sentence],
    cue_vote_of_range,
    lexicon: Lexicon,
) -> tuple[list[Mention], list[tuple[int, Line]]]:
    """All condition mentions and the criteria items (with the mention they belong to)."""
    mentions: list[Mention] = []
    criteria: list[tuple[int, Line]] = []
    state = ListState()
    current_section = None
    sentences_by_line: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        sentences_by_line.setdefault(sentence.line, []).append(sentence)

    for line in lines:
        content = text[line.content_start : line.end]
        stripped = content.strip()
        if line.section_name != current_section:
            current_section, state = line.section_name, ListState()
        if not stripped:
            continue
        head = None
        if line.is_item or _looks_like_heading(stripped) or _HEAD_SEPARATOR_RE.search(stripped[:140] or " "):
            head = item_head(stripped, line.content_start + (len(content) - len(content.lstrip())), lexicon)
        made_head = False
        if head and is_condition_like(head[0], lexicon) and not _is_sentence_start(head[0]):
            kind = "item" if line.is_item else ("heading" if _looks_like_heading(stripped) else "line_head")
            if kind != "line_head" or _HEAD_SEPARATOR_RE.search(stripped[: len(head[0]) + 4]) or "(" in head[0]:
                name, abbreviation, aliases = clean_name(head[0])
                if name:
                    mention = Mention(name, head[1], head[1] + len(head[0]), line.index, kind, line.section_kind, abbreviation, aliases)
                    mention.list_vote = state.vote if line.is_item else 0.0
                    mentions.append(mention)
                    made_head = True
                    state.criteria_of = None
        if not made_head and state.criteria_of is not None and line.is_item:
            criteria.append((state.criteria_of, line))
        elif not made_head and state.criteria_of is not None and not line.is_item and not stripped.endswith(":"):
            state.criteria_of = None  # a paragraph ends the criteria list
        # Prose mentions in every sentence of the line.
        for sentence in sentences_by_line.get(line.index, []):
            for phrase, start, end in trigger_mentions(text[sentence.start : sentence.end], sentence.start, lexicon):
                if made_head and start < mentions[-1].end:
                    continue
                if is_condition_like(phrase, lexicon):
                    name, abbreviation, aliases = clean_name(phrase)
                    if name and len(words(name)) >= 1:
                        m = Mention(name, start, end, line.index, "trigger", line.section_kind, abbreviation, aliases)
                        m.scope = (sentence.start, sentence.end)
                        mentions.append(m)
        if _starts_criteria(stripped, lexicon):
            heads = [i for i, m in enumerate(mentions) if m.kind != "trigger"]
            state.criteria_of = heads[-1] if heads else None
        else:
            intro = list_intro_vote(stripped, lexicon, cue_vote_of_range(line.start, line.end))
            if intro is not None and not line.is_item:
                state.vote = intro
                state.criteria_of = None
    _assign_scopes(mentions, lines, text)
    return mentions, criteria


def _is_sentence_start(head: str) -> bool:
    """Heads that are really clauses ("There is ...", "It is ...", "This ...")."""
    first = head.split()[0].lower()
    return first in {"there", "it", "this", "these", "those", "the", "a", "an", "in", "for", "if", "when", "we", "all", "each", "use", "ivig"}


def _looks_like_heading(text: str) -> bool:
    """A short line without a full stop, in title or sentence case: a sub-heading."""
    return len(text) <= 90 and not text.rstrip().endswith((".", ",", ";")) and len(text.split()) <= 12 and text[0].isupper()


def _assign_scopes(mentions: list[Mention], lines: list[Line], text: str) -> None:
    """Heads govern the lines after them until the next head in the same section."""
    heads = [m for m in mentions if m.kind != "trigger"]
    for i, mention in enumerate(heads):
        line = lines[mention.line]
        end = None
        for nxt in heads[i + 1 :]:
            if lines[nxt.line].section_name == line.section_name:
                end = lines[nxt.line].start
            break
        if end is None:
            section_end = max((ln.end for ln in lines if ln.section_name == line.section_name and ln.index >= line.index), default=line.end)
            end = section_end
        mention.scope = (line.start, max(end, line.end))


def group_mentions(mentions: list[Mention], abbreviations: dict[str, str]) -> list[IndicationGroup]:
    """Merge mentions naming the same indication (same canonical name, same abbreviation, or containment)."""
    parent = list(range(len(mentions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    keys = [normalize_name(m.name, abbreviations) for m in mentions]
    alias_keys = [{normalize_name(a, abbreviations) for a in m.aliases} | {keys[i]} for i, m in enumerate(mentions)]
    abbrs = [m.abbreviation or _abbreviation_of(keys[i], abbreviations) for i, m in enumerate(mentions)]
    for i in range(len(mentions)):
        for j in range(i):
            if keys[i] == keys[j] or (alias_keys[i] & alias_keys[j]):
                union(i, j)
            elif abbrs[i] and abbrs[i] == abbrs[j]:
                union(i, j)
            elif _contains(keys[i], keys[j]) or _contains(keys[j], keys[i]):
                union(i, j)
    groups: dict[int, list[Mention]] = {}
    for i, mention in enumerate(mentions):
        groups.setdefault(find(i), []).append(mention)
    return [IndicationGroup(sorted(g, key=lambda m: m.start)) for g in groups.values()]


def _abbreviation_of(key: str, abbreviations: dict[str, str]) -> str | None:
    for abbr, long_form in abbreviations.items():
        if normalize_name(long_form, {}) == key:
            return abbr
    return None


def _contains(longer: str, shorter: str) -> bool:
    """Word-boundary containment of a multi-word canonical name ("severe active sle" contains "sle")."""
    if longer == shorter or len(shorter.split()) < 2:
        return False
    return f" {shorter} " in f" {longer} "


def coverage_from_vote(vote: float) -> tuple[str, float]:
    """Coverage label and a confidence in [0.5, 0.99] from the summed cue vote."""
    if vote >= COVERED_AT:
        label = "covered"
    elif vote <= -COVERED_AT:
        label = "not_covered"
    else:
        return "unclear", round(0.5 + 0.2 * (1 - abs(vote) / COVERED_AT), 3)
    return label, round(min(0.99, 0.5 + 0.49 * (1 - math.exp(-abs(vote) / 2))), 3)
