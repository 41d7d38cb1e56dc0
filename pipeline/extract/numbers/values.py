"""The value of a number as written: digits, fractions, number words and multiplicatives (`parse_number`)."""

from __future__ import annotations

import re

from pipeline.extract.numbers.lexicons import _SIGNS, WORDS
from pipeline.extract.numbers.patterns import _DIGITS_FULL, _FRACTION_FULL, _WORD_FULL


def _cardinal(parts: list[str]) -> float | None:
    total = current = 0
    seen = False
    for part in parts:
        if part == "and":
            continue
        if part in WORDS.cardinals:
            current += WORDS.cardinals[part]
        elif part in WORDS.tens:
            current += WORDS.tens[part]
        elif part == "hundred":
            current = (current or 1) * 100
        elif part in WORDS.scales:
            total += (current or 1) * WORDS.scales[part]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def _word_value(written: str) -> float | None:
    words = re.sub(r"[\s\-]+", " ", written.lower()).strip()
    if words in WORDS.single_phrases:
        return float(WORDS.single_phrases[words])
    if words in WORDS.multiplicatives:
        return float(WORDS.multiplicatives[words])
    parts = words.split()
    if parts and parts[-1] in WORDS.fraction_dens:
        den = WORDS.fraction_dens[parts[-1]]
        if len(parts) == 1:
            return 1 / den if parts[0] in WORDS.bare_fractions else None
        num = 1.0 if parts[:-1] in (["a"], ["an"]) else _cardinal(parts[:-1])
        return None if num is None else num / den
    return _cardinal(parts)


def _is_fraction_word(written: str) -> bool:
    return written.lower().replace("-", " ").split()[-1] in WORDS.fraction_dens


def _digits_value(written: str) -> float:
    sign = -1.0 if written[:1] in _SIGNS else 1.0
    body = written.lstrip("+" + _SIGNS)
    glyph = WORDS.glyphs.get(body[-1:], 0.0) if body[-1:] in WORDS.glyphs else 0.0
    digits = body[:-1] if glyph else body
    return sign * ((float(digits.replace(",", "")) if digits else 0.0) + glyph)


def _fraction_ok(num: int, den: int) -> bool:
    return 0 < num < den and den in WORDS.digit_fraction_dens


def parse_number(text: str) -> float | None:
    """The value of a number as written, or None.

    Digits ("4", "1,000", "0.4", ".5", "-2.5" with a hyphen, en dash or minus sign), fractions ("1/2",
    "1 1/2", "½", "1½"), words ("four", "twenty-one", "one hundred", "one-quarter", "one half", "a
    single"), a word confirmed by its digit ("four (4)", "4 (four)"; None if they disagree), and the
    multiplicatives "once" (1), "twice" (2), "thrice" (3).
    """
    if not isinstance(text, str):
        return None
    s = text.strip()
    if not s:
        return None
    if _DIGITS_FULL.fullmatch(s):
        return _digits_value(s)
    m = _FRACTION_FULL.fullmatch(s)
    if m:
        num, den = int(m.group(2)), int(m.group(3))
        if not _fraction_ok(num, den):
            return None
        return (int(m.group(1)) if m.group(1) else 0) + num / den
    if _WORD_FULL.fullmatch(s):
        return _word_value(s)
    m = re.fullmatch(r"(.+?)\s*\(\s*(.+?)\s*\)", s)
    if m:
        outer, inner = parse_number(m.group(1)), parse_number(m.group(2))
        if outer is not None and inner is not None and outer == inner and not ("(" in m.group(1) or "(" in m.group(2)):
            return outer
    return None
