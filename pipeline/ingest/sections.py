"""Section headings: the data-driven lexicon (data/headings.json) and splitting text into Sections."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Sequence

from pipeline.datamodel import SECTION_KINDS, Section

PREAMBLE = "preamble"
BODY = "body"

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
# "=== Summary of Evidence ===" (the lcd_text convention) or markdown "## Summary of Evidence".
_MARKED_RE = re.compile(r"={2,}\s*(?P<inner>\S.*?)\s*={2,}")
_HASH_RE = re.compile(r"#{1,6}\s+(?P<inner>\S.*)")
# Outline numbering in front of a heading: "B. ", "IV. ", "1. ", "a) ", "2.1 ".
_NUMBERING_RE = re.compile(r"(?:(?:[A-Z]|[IVXL]{1,6}|[a-z]|\d{1,2})[.)]|\d{1,2}(?:\.\d{1,2})+)\s+(?=\S)")
_FOLD = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": "-", ",": None})


class LexiconError(ValueError):
    """headings.json is malformed; raised at load time so a bad edit fails fast."""


@dataclass(frozen=True)
class HeadingMatch:
    """A recognised section heading: canonical name, section kind, and whether it is a minor sub-heading."""

    name: str
    kind: str
    # Minor other-kind headings ("Definitions") open no section inside policy text: LCDs put a
    # definitions block at the top of their coverage text, and everything after it is still policy.
    minor: bool = False


@dataclass(frozen=True)
class Lexicon:
    """The validated heading lexicon."""

    exact: dict[str, HeadingMatch]
    patterns: tuple[tuple[re.Pattern[str], HeadingMatch], ...]
    display: dict[str, str]
    max_chars: int

    def heading_for(self, name: str) -> tuple[str, HeadingMatch]:
        """The display heading and match for a canonical name (used when a reader emits a heading)."""
        return self.display[name], self.exact[heading_key(self.display[name])]


def heading_key(text: str) -> str:
    """Comparison key: case-folded, commas dropped, quotes/dashes/& folded, whitespace collapsed."""
    text = text.translate(_FOLD).replace("&", " and ")
    text = re.sub(r"\s*/\s*", "/", text)
    return " ".join(text.split()).casefold()


def _require(condition: bool, message: str) -> None:
    """Raise LexiconError(message) unless condition holds."""
    if not condition:
        raise LexiconError(f"headings.json: {message}")


def _validate_entry(entry: Any, index: int, max_chars: int) -> None:
    """Check one lexicon entry's shape and values."""
    _require(isinstance(entry, dict), f"entry {index} is not an object")
    name = entry.get("name")
    _require(isinstance(name, str) and bool(_NAME_RE.fullmatch(name)), f"entry {index}: bad name {name!r}")
    _require(entry.get("kind") in SECTION_KINDS, f"{name}: kind must be one of {SECTION_KINDS}")
    _require(isinstance(entry.get("display"), str) and entry["display"].strip() != "", f"{name}: missing display")
    variants = entry.get("variants")
    _require(isinstance(variants, list) and len(variants) > 0, f"{name}: variants must be a non-empty list")
    for variant in variants:
        _require(isinstance(variant, str) and 0 < len(variant) <= max_chars, f"{name}: bad variant {variant!r}")
    _require(isinstance(entry.get("patterns", []), list), f"{name}: patterns must be a list")
    _require(isinstance(entry.get("minor", False), bool), f"{name}: minor must be true or false")
    unknown = set(entry) - {"name", "kind", "display", "variants", "patterns", "minor"}
    _require(not unknown, f"{name}: unknown keys {sorted(unknown)}")


def build_lexicon(raw: Any) -> Lexicon:
    """Validate the parsed headings.json and index it for matching."""
    _require(isinstance(raw, dict) and isinstance(raw.get("headings"), list), "top level must hold a 'headings' list")
    max_chars = raw.get("max_heading_chars", 100)
    _require(isinstance(max_chars, int) and max_chars > 0, "max_heading_chars must be a positive integer")
    exact: dict[str, HeadingMatch] = {}
    patterns: list[tuple[re.Pattern[str], HeadingMatch]] = []
    display: dict[str, str] = {}
    for index, entry in enumerate(raw["headings"]):
        _validate_entry(entry, index, max_chars)
        name = entry["name"]
        _require(name not in display, f"duplicate name {name}")
        match = HeadingMatch(name, entry["kind"], entry.get("minor", False))
        display[name] = entry["display"]
        for variant in [entry["display"], *entry["variants"]]:
            key = heading_key(variant)
            _require(exact.get(key, match) == match, f"variant {variant!r} is claimed by {exact.get(key)} and {name}")
            exact[key] = match
        for pattern in entry.get("patterns", []):
            try:
                patterns.append((re.compile(pattern), match))
            except (re.error, TypeError) as exc:
                raise LexiconError(f"headings.json: {name}: bad pattern {pattern!r}: {exc}") from exc
    return Lexicon(exact=exact, patterns=tuple(patterns), display=display, max_chars=max_chars)


@cache
def lexicon() -> Lexicon:
    """The shipped lexicon, loaded and validated once."""
    text = resources.files("pipeline.ingest").joinpath("data/headings.json").read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LexiconError(f"headings.json is not valid JSON: {exc}") from exc
    return build_lexicon(raw)


def unmark(line: str) -> str | None:
    """The heading inside '=== X ===' or '## X' markers, else None."""
    stripped = line.strip()
    for regex in (_MARKED_RE, _HASH_RE):
        found = regex.fullmatch(stripped)
        if found:
            return found.group("inner")
    return None


def heading_core(line: str) -> str:
    """The line with markers, outline numbering and a trailing colon removed."""
    core = line.strip()
    core = unmark(core) or core
    core = _NUMBERING_RE.sub("", core, count=1)
    return core.rstrip(" :").strip()


def match_heading(line: str, lex: Lexicon | None = None) -> HeadingMatch | None:
    """The lexicon heading a WHOLE short line names, or None (sentences never match)."""
    lex = lex or lexicon()
    core = heading_core(line)
    if not core or len(core) > lex.max_chars:
        return None
    key = heading_key(core)
    if key in lex.exact:
        return lex.exact[key]
    for regex, match in lex.patterns:
        if regex.fullmatch(key):
            return match
    return None


def slug(text: str) -> str:
    """A canonical section name for a marked heading the lexicon does not know."""
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_") or "section"


def opens_section(match: HeadingMatch, current_kind: str | None) -> bool:
    """Whether an (unmarked) lexicon heading starts a new section given the kind of the current one."""
    return not (match.minor and match.kind == "other" and current_kind == "policy")


def build_sections(text: str, starts: Sequence[tuple[int, str, HeadingMatch]]) -> tuple[Section, ...]:
    """Contiguous sections from heading starts (offset, heading line, match); covers all of `text`."""
    if not text:
        return ()
    if not starts:
        # No recognisable heading at all: the whole text is the document body, read as policy.
        return (Section(name=BODY, heading="", kind="policy", start=0, end=len(text)),)
    sections: list[Section] = []
    if starts[0][0] > 0:
        sections.append(Section(name=PREAMBLE, heading="", kind="other", start=0, end=starts[0][0]))
    for index, (offset, heading, match) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        sections.append(Section(name=match.name, heading=heading, kind=match.kind, start=offset, end=end))
    return tuple(sections)
