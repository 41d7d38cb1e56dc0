"""The regexes compiled once from the lexicons: number words, digits, identifier masks and the words
read right to left before a number."""

from __future__ import annotations

import re
from typing import Any

from pipeline.extract.numbers.lexicons import _SIGNS, _SP, WORDS
from pipeline.extract.units import form_pattern


# Speed: every full-text regex pass costs about 0.5 ms on a 24 KB LCD, and a pass whose first step
# is a big alternation or a lookbehind costs ten times that. So full-text passes are few and start
# with a cheap gate (`(?=\d)`, `(?=[(\[§^])`, a trie of number words); everything that depends on the
# words before a number (comparators, labels, month names) is one anchored match per number on the
# reversed preceding window.


def _alt(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _trie(words: Any) -> str:
    """An alternation of literal words as a character trie, which the regex engine scans fast."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


_SPC = _SP[1:-1]  # the space characters, for use inside a character class
_ONES = _alt(w for w, v in WORDS.cardinals.items() if 1 <= v <= 9)
_SIMPLE = rf"(?:(?:{_alt(WORDS.tens)})(?:[-{_SPC}](?:{_ONES}))?|(?:{_alt(WORDS.cardinals)}))"
_HUNDREDS = rf"{_SIMPLE}{_SP}+hundred(?:{_SP}+(?:and{_SP}+)?{_SIMPLE})?"
_LARGE_SCALES = _alt(w for w in WORDS.scales if w != "hundred")
_LARGE = rf"(?:{_HUNDREDS}|{_SIMPLE}){_SP}+(?:{_LARGE_SCALES})(?:{_SP}+(?:and{_SP}+)?(?:{_HUNDREDS}|{_SIMPLE}))?"
_FRACTION = rf"(?:(?:a|an|{_SIMPLE})[-{_SPC}]+(?:{_alt(WORDS.fraction_dens)})|(?:{_alt(WORDS.bare_fractions)}))"
_SINGLE = "|".join(form_pattern(p) for p in sorted(WORDS.single_phrases, key=len, reverse=True))
_WORD = rf"(?:{_FRACTION}|{_LARGE}|{_HUNDREDS}|{_SIMPLE}|{_alt(WORDS.multiplicatives)}|{_SINGLE})(?![A-Za-z0-9])"
_WORD_RE = re.compile(_WORD, re.IGNORECASE)  # anchored at a candidate from _WORD_START_RE
# Where a number word can start: a word from the lexicon ("a single" / "a half" are found from
# "single" / "half" and extended left in _tokens).
_WORD_STARTERS = {w.lower() for w in (*WORDS.cardinals, *WORDS.tens, *WORDS.fraction_dens, *WORDS.multiplicatives)}
_WORD_STARTERS |= {p.split()[-1].lower() for p in WORDS.single_phrases}
# Scanned over a lower-cased copy of the text: a case-sensitive trie is twice as fast.
_WORD_START_RE = re.compile(rf"(?<![A-Za-z0-9])(?:{_trie(sorted(_WORD_STARTERS))})(?![A-Za-z0-9])")
_WORD_START_CI_RE = re.compile(_WORD_START_RE.pattern, re.IGNORECASE)  # when lower() changes lengths
_ARTICLE_BEFORE = re.compile(rf"(?<![A-Za-z0-9])an?{_SP}+\Z", re.IGNORECASE)
_GLYPHS = "".join(WORDS.glyphs)
_DIGIT_RE = re.compile(
    rf"(?=[\d.{_GLYPHS}])(?:(?P<frac>(?:(?P<whole>\d{{1,3}}){_SP})?(?P<fn>\d{{1,2}})/(?P<fd>\d{{1,2}})(?![\d/]))"
    rf"|(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)(?P<glyph>[{_GLYPHS}])?"
    rf"|(?P<gonly>[{_GLYPHS}]))"
)
# Scientific notation after a number: "1.5 x 10^11", "1.5x 10^11vector genomes", "2.5 × 10**8" (gene and cell therapy
# doses); the reader writes a superscript exponent after "^". A lab count keeps its multiplier in the unit instead
# ("ANC < 1.5 x 10^9/L" -> 1.5 `10^9/L`), so a "/" after the exponent is no scientific notation.
_SCI_TAIL_RE = re.compile(rf"{_SP}*[x×X]{_SP}*10{_SP}*(?:\^|\*\*){_SP}*(?P<exp>\d{{1,2}})(?!\d|{_SP}*/)")
_WORD_FULL = re.compile(rf"(?:{_WORD})\Z", re.IGNORECASE)
_DIGITS_FULL = re.compile(rf"[+{re.escape(_SIGNS)}]?(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?[{_GLYPHS}]?|\.\d+|[{_GLYPHS}])")
_FRACTION_FULL = re.compile(r"(?:(\d{1,3})\s+)?(\d{1,2})/(\d{1,2})")
_CONFIRM_DIGIT = re.compile(rf"{_SP}*\({_SP}*(\d+(?:\.\d+)?){_SP}*\)")
_CONFIRM_WORD = re.compile(rf"{_SP}*\({_SP}*({_WORD}){_SP}*\)", re.IGNORECASE)

_MONTHS = _alt(WORDS.month_names)
_NUMBER_WORD_ALT = _alt(set(WORDS.cardinals) | set(WORDS.tens))
# "§§ 410.26 and 410.27", "Sections 410.74, 410.75 and 419.22": the rest of a list of identifiers.
_LIST_TAIL = rf"(?:{_SP}*(?:,|and|or|&|through|to|[-–]){_SP}*§*{_SP}*\d+(?:\.\d+)*[a-z]?(?![\d.]*{_SP}*[A-Za-z%°º]))*"
# Spans where digits identify rather than measure. Each group starts with a cheap gate.
_DIGIT_MASKS = [
    r"\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}\b",  # 7/15/2021, 7-15-2021
    r"\d{4}[/\-]\d{1,2}[/\-]\d{1,2}\b",  # 2021-07-15
    r"\d{1,2}/\d{4}\b",  # 10/2024
    rf"\d{{1,2}}(?:st|nd|rd|th)?{_SP}+(?:{_MONTHS})\b\.?(?:{_SP}*,?{_SP}*\d{{4}}\b)?",  # 21 January 2020
    rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:{_SP}*(?i:a\.?m\.?|p\.?m\.?))?",  # 10:30 a.m.
    rf"\d{{1,2}}{_SP}*(?i:a\.m\.|p\.m\.)",
    rf"1[-.{_SPC}]\(\d{{3}}\){_SP}*\d{{3}}[-.]\d{{4}}\b",
    r"\d{3}[-.]\d{3}[-.]\d{4}\b",  # 410-786-3000
    r"1-8\d\d-[A-Z0-9][A-Z0-9-]*",  # 1-800-MEDICARE
    r"\d+(?:[-–]\d+){2,}\b",  # 11755-04-2, phone-like chains
    r"\d+(?:\.\d+){2,}\b",  # 13.5.4, 240.4.1
    # statute subsections: 1862(a)(1)(A), 1833 (e), 410.32(b); not "2 (two)"
    rf"\d+(?:\.\d+)?{_SP}?(?:[(\[](?!(?i:{_NUMBER_WORD_ALT})[)\]])(?:[a-zA-Z]{{1,5}}|\d{{1,3}})[)\]])+",
    # 42 CFR 410.32, 21 CFR part 807, 42 U.S.C. 1395y, 58 FR 18543
    rf"\d+{_SP}+(?:CFR|C\.F\.R\.|Code{_SP}+of{_SP}+Federal{_SP}+Regulations|U\.S\.C\.?|USC|United{_SP}+States{_SP}+Code|FR|Fed\.?{_SP}*Reg\.?|Stat\.)"
    rf"(?:{_SP}*\(CFR\))?(?:{_SP}*(?:(?i:parts?|sections?|subparts?)|§+)?{_SP}*\d+(?:\.\d+)*[a-z]?{_LIST_TAIL})?",
    # journal citations: 2018;28(1):87-99 / 28:87-99
    rf"\d{{4}}[a-z]?{_SP}*;{_SP}*\d+(?:{_SP}*\({_SP}*\d+(?:{_SP}*[-–]{_SP}*\d+)?{_SP}*\))?(?:{_SP}*:{_SP}*[A-Za-z]?\d+(?:{_SP}*[-–]{_SP}*[A-Za-z]?\d+)?)?",
    rf"\d+{_SP}*:{_SP}*\d+{_SP}*[-–]{_SP}*\d+\b",
]
_SYMBOL_MASKS = [
    rf"\(\d{{3}}\){_SP}*\d{{3}}[-.]\d{{4}}\b",  # (410) 786-3000
    rf"§+{_SP}*\d+(?:[.\-–]\d+)*[a-z]?(?:{_SP}*[(\[][^)\]\n]{{1,6}}[)\]])*{_LIST_TAIL}",
    rf"\(\d{{4}}[a-z]?\){_SP}*\d+(?:{_SP}*\(\d+\))?{_SP}*[,:]{_SP}*[A-Za-z]?\d+(?:{_SP}*[-–]{_SP}*\d+)?",  # (2018) 28, 87-99
    rf"\^{_SP}*\d+(?:{_SP}*[-–,]{_SP}*\d+)*",  # ^3-9,12 reference markers
    # a number list alone in brackets is a reference or a list label: "(1)", "(23)", "(1-4)", "[3, 4]"
    rf"[(\[]{_SP}*\d+(?:{_SP}*(?:[,\-–]|and|or|&){_SP}*\d+)*{_SP}*[)\]]",
]
_LINE_MASKS = [
    # list markers and numbered headings at the start of a line: "1. ", "(2) ", "10 - Payment Rules"
    r"^[ \t]*(?:[-*•▪◦·‣][ \t]*)?[(\[]?\d{1,3}[.):\]](?=[ \t]|$)",
    r"^[ \t]*\d+(?:\.\d+)+[ \t]+(?=[A-Z])",
    r"^[ \t]*\d+(?:\.\d+)*[ \t]*[-–—][ \t]+(?=[A-Z])",
]
_MASK_RES = (
    re.compile("(?=[\\d(\\[§^])(?:" + "|".join(f"(?:{p})" for p in (*_DIGIT_MASKS, *_SYMBOL_MASKS)) + ")"),
    re.compile("|".join(f"(?:{p})" for p in _LINE_MASKS), re.MULTILINE),
)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Read right to left from a number: what the words before it make of it.
_REV_NUM = r"[A-Za-z]?\d+(?:[.\-–]\d+)*"
_LEFT_REV_RE = re.compile(
    # "Section 50", "Pub. 100-02", "criteria (1-4)", "Sections 410.74, 410.75", "Type 2", "page 5 of 9"
    rf"(?P<label>(?:{_SP}*(?:,|dna|ro|&|fo|hguorht|ot|[-–]){_SP}*{_REV_NUM})*{_SP}*[(\[]?{_SP}*(?:#{_SP}*|\.on{_SP}*)?[.:]?"
    rf"(?:{_trie(sorted({w[::-1] for w in WORDS.label_words}))})(?![A-Za-z0-9]))"
    # "January 21", "Jan. 21, 2020", "January 2020", "21 January 2020"
    rf"|(?P<month>{_SP}*,?{_SP}*(?:(?:ts|dn|dr|ht)?\d{{1,2}}{_SP}+)?\.?(?-i:{_alt(m[::-1] for m in WORDS.month_names)})(?![A-Za-z]))"
    rf"|(?P<month2>{_SP}*,?{_SP}*\.?(?-i:{_alt(m[::-1] for m in WORDS.month_names)}){_SP}+(?:ts|dn|dr|ht)?\d{{1,2}}(?!\d))"
    rf"|(?P<etal>{_SP}*,?\.?la{_SP}+te(?![A-Za-z]))"  # "et al 54"
    rf"|(?P<fy>{_SP}*(?:YF|YC)(?![A-Za-z]))",  # "FY 2020"
    re.IGNORECASE,
)
_LEFT_WINDOW = 80
_LABEL_SET = frozenset(WORDS.label_words)
_LABEL_THEN_NUMBER = re.compile(rf"[A-Za-z]+{_SP}+\d")
_CONN_RE = re.compile(rf"{_SP}*(?P<dash>[-–—‒]){_SP}*|{_SP}+(?P<word>to|through|thru|and){_SP}+", re.IGNORECASE)
_ONCE_CONTEXT_RE = re.compile(rf"{_SP}+(?:{'|'.join(form_pattern(w) for w in sorted(WORDS.once_contexts, key=len, reverse=True))})(?![A-Za-z])", re.IGNORECASE)
_STAT_PREFIX_REV = re.compile(r"[ \t]*(?:eulav)?[ \t]*[-‐]?[ \t]*([A-Za-z])(?![A-Za-z0-9])")  # "p <", "n =", "p-value <"
_PREV_WORD_REV = re.compile(r"[ \t]*([A-Za-z]+)")
# "5 and less than 14": the words after a number open the next comparator, they do not close this one.
_THAN_NEXT_RE = re.compile(rf"{_SP}+than(?:{_SP}+or{_SP}+equal(?:{_SP}+to)?)?{_SP}*[-–]?\d", re.IGNORECASE)
# What joins the two bounds of one limit written as a pair: "Hb >12 and <13 g/dL", "≥ 5 and ≤ 14 events per hour";
# a restatement of the first bound may sit before the join ("a minimum of one month (30 days), but not to exceed two").
_PAIR_JOIN_RE = re.compile(rf"{_SP}*(?:[(\[][^()\[\]\n]{{1,40}}[)\]]{_SP}*)?(?:,{_SP}*)?(?:and|but){_SP}*", re.IGNORECASE)
# What lets a bare number share the comparator of the one before it: a few words and "or"/"and" ("at least 50%
# reduction in pain or 50% reduction of analgesic medications"); no digit, comparator or clause break in between.
_SHARED_COMPARATOR_GAP_RE = re.compile(rf"(?:{_SP}+[A-Za-z][A-Za-z'/-]*){{0,5}}{_SP}*,?{_SP}+(?:or|and){_SP}+", re.IGNORECASE)
_PAREN_OPEN_RE = re.compile(rf"{_SP}*[(\[]{_SP}*")
_PAREN_CLOSE_RE = re.compile(rf"{_SP}*[)\]]")
_CONCENTRATION_HINT = re.compile(r"/\s*d(?![a-z])|per\s+d(?![a-z])", re.IGNORECASE)
_COMPARATOR_END_CHARS = frozenset("<>=≤≥⩽⩾≦≧/")
_MULTI_DASH_AFTER = re.compile(r"[-–]\d+[-–]\d")
# "no sooner than the 60th day", "after the 91st day": an ordinal day, week, month or year counts that many from an
# event (models/ANNOTATION.md 9, L34823); its suffix is blanked (same length, offsets kept) so it reads as "60 day".
_ORDINAL_TIME_RE = re.compile(
    rf"(?<![\w.,])(\d{{1,3}})(?:st|nd|rd|th)(?={_SP}+(?:(?:and|to|through|or){_SP}+(?:the{_SP}+)?\d{{1,3}}(?:st|nd|rd|th){_SP}+)?"
    rf"(?:day|week|month|year)s?(?![A-Za-z]))",
    re.IGNORECASE,
)

