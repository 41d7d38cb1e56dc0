"""The numbers of a text as tokens (digits and words, a confirming "(4)" merged), the identifier masks, and
what the characters around a token make of it."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from pipeline.extract.numbers.lexicons import _DASHES, _SIGNS, WORDS
from pipeline.extract.numbers.patterns import (
    _ARTICLE_BEFORE,
    _CONFIRM_DIGIT,
    _CONFIRM_WORD,
    _DIGIT_RE,
    _LEFT_REV_RE,
    _LEFT_WINDOW,
    _MASK_RES,
    _MULTI_DASH_AFTER,
    _SCI_TAIL_RE,
    _URL_RE,
    _WORD_RE,
    _WORD_START_CI_RE,
    _WORD_START_RE,
)
from pipeline.extract.numbers.values import _fraction_ok, _is_fraction_word, _word_value


@dataclass
class _Tok:
    start: int  # first character, minus sign included
    nstart: int  # first digit or letter
    core_end: int  # end of the number itself
    end: int  # end including a confirming "(4)" / "(four)"
    value: float
    kind: str  # "digit" | "word" | "fraction" | "mult" | "reject"
    digits: str  # the digits as written ("" for words)
    signed: bool
    needs_context: bool
    confirmed: bool


def _word_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    floor = 0
    lowered = text.lower()
    starts = _WORD_START_RE.finditer(lowered) if len(lowered) == len(text) else _WORD_START_CI_RE.finditer(text)
    for cand in starts:
        s = cand.start()
        if s < floor:
            continue
        article = _ARTICLE_BEFORE.search(text, max(0, s - 4), s)
        if article is not None:  # "a single", "a half", "an eighth"
            m = _WORD_RE.match(text, article.start())
            if m is not None:
                s = article.start()
        m = _WORD_RE.match(text, s)
        if m is None:
            continue
        written = m.group(0)
        value = _word_value(written)
        if value is None:
            continue
        e = m.end()
        lower = re.sub(r"[\s\-]+", " ", written.lower())
        if lower in WORDS.multiplicatives:
            kind = "mult"
        elif _is_fraction_word(written):
            kind = "fraction"
        else:
            kind = "word"
        tok = _Tok(s, s, e, e, value, kind, "", False, kind == "fraction" or lower in WORDS.needs_context, False)
        c = _CONFIRM_DIGIT.match(text, e)
        if c and kind != "mult" and float(c.group(1)) == value:
            tok.end, tok.confirmed = c.end(), True
        toks.append(tok)
        floor = tok.end
    return toks


def _digit_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    floor = 0
    for m in _DIGIT_RE.finditer(text):
        s, e = m.start(), m.end()
        if s < floor:
            continue  # the "10" and the exponent of "1.5 x 10^11"
        if m.group("frac") is not None:
            num, den = int(m.group("fn")), int(m.group("fd"))
            if not _fraction_ok(num, den):
                # "5/28" and "120/80" are dates and ratios, not fractions: nothing to read here.
                toks.append(_Tok(s, s, e, e, 0.0, "reject", m.group(0), False, False, False))
                continue
            value = (int(m.group("whole")) if m.group("whole") else 0) + num / den
            tok = _Tok(s, s, e, e, value, "fraction" if not m.group("whole") else "digit", m.group(0), False, False, False)
        else:
            written = m.group("num") or ""
            glyph = m.group("glyph") or m.group("gonly") or ""
            value = (float(written.replace(",", "")) if written else 0.0) + WORDS.glyphs.get(glyph, 0.0)
            tok = _Tok(s, s, e, e, value, "digit", written, False, False, False)
            sci = _SCI_TAIL_RE.match(text, e) if written and "10" in text[e : e + 8] else None
            if sci is not None:
                tok.value, tok.core_end, tok.end, floor = float(f"{value!r}e{sci.group('exp')}"), sci.end(), sci.end(), sci.end()
            elif text.startswith("(", e) or text.startswith(" (", e):
                c = _CONFIRM_WORD.match(text, e)
                if c and _word_value(c.group(1)) == value:
                    tok.end, tok.confirmed = c.end(), True
        # A minus sign: a dash right before the digits that is not glued to a word or number on its left.
        if s > 0 and text[s - 1] in _SIGNS:
            before = text[s - 2] if s >= 2 else " "
            if not (before.isalnum() or before in ")]" or before in _DASHES):
                tok.start, tok.signed, tok.value = s - 1, True, -tok.value
        toks.append(tok)
    return toks


def _tokens(text: str) -> list[_Tok]:
    """Digit and word numbers, left to right, with confirmations ("four (4)") merged."""
    toks = _digit_tokens(text)
    words = _word_tokens(text)
    if not words:
        return toks
    merged = sorted(toks + words, key=lambda t: t.nstart)
    out: list[_Tok] = []
    floor = -1
    for tok in merged:
        if tok.nstart < floor:
            continue  # the "4" of "four (4)"
        out.append(tok)
        floor = tok.end
    return out


def _mask_spans(text: str) -> tuple[list[int], list[int]]:
    """Merged spans of all identifier masks, as parallel start/end lists."""
    patterns = _MASK_RES + ((_URL_RE,) if "://" in text or "www." in text.lower() else ())
    spans = sorted(m.span() for pattern in patterns for m in pattern.finditer(text) if m.end() > m.start())
    starts: list[int] = []
    ends: list[int] = []
    for s, e in spans:
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def _overlaps(spans: tuple[list[int], list[int]], s: int, e: int) -> bool:
    starts, ends = spans
    k = bisect.bisect_left(starts, e) - 1
    return k >= 0 and ends[k] > s


def _left_context(text: str, tok: _Tok) -> str | None:
    """"label" for a number a label word names ("Section 50"), "date" / "citation" for identifiers
    the words before it make ("January 21", "et al 54", "FY 2020"), else None."""
    if tok.start == 0 or not (text[tok.start - 1] in " \t\u00a0.:#([,&-–" or text[tok.start - 1].isalpha()):
        return None
    window = text[max(0, tok.start - _LEFT_WINDOW) : tok.start][::-1]
    m = _LEFT_REV_RE.match(window)
    if m is None:
        return None
    if m.group("label") is not None:
        return "label"
    return "date" if m.group("etal") is None else "citation"


def _left_glue(text: str, tok: _Tok) -> str:
    """"ok", "dash" (a dash glued to a word or number on its left: only a range's second number) or
    "reject" (glued to a word, a reference marker, a citation list ...)."""
    if tok.start == 0:
        return "ok"
    c = text[tok.start - 1]
    c2 = text[tok.start - 2] if tok.start >= 2 else " "
    if tok.kind in ("word", "mult") or (tok.kind == "fraction" and not tok.digits):
        return "reject" if c in _DASHES and c2.isalpha() else "ok"
    if c.isalnum() or c in "_^#$€£¥)].,:":
        return "reject"
    if c == "/" and c2.isalnum():
        return "reject"
    if c in _DASHES and not tok.signed:
        return "dash"
    return "ok"


def _right_reject(text: str, tok: _Tok, has_unit: bool) -> bool:
    """True when what follows the digits makes them part of an identifier, a date or a ratio."""
    if tok.kind not in ("digit", "fraction") or not tok.digits or tok.end != tok.core_end:
        return False
    e = tok.end
    nxt = text[e : e + 1]
    after = text[e + 1 : e + 2]
    if nxt in ".:/," and after.isdigit():
        return True
    if nxt in "-–" and after.isdigit() and _MULTI_DASH_AFTER.match(text, e):
        return True  # "7-15-2021"
    if has_unit:
        return False
    if nxt.isalpha():
        # "15headaches": a lost space before a word; "60th", "0232T", "3D", "1990s": not quantities.
        # Any letter, not just ASCII: str.isalpha() above is true for "À" too (found by tests/test_fuzz_numbers.py).
        word = re.match(r"[^\W\d_]*", text[e : e + 40]).group(0) or nxt
        return not (word.islower() and len(word) >= 4)
    if nxt in _DASHES and after.isupper():
        return True  # "5-FU", "5-HT3"
    return False


def _in_open_paren(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", max(0, pos - 300), pos) + 1
    segment = text[line_start:pos]
    return segment.count("(") > segment.count(")")
