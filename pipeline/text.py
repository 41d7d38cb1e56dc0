"""The one comparable form of text, used wherever two texts are compared for meaning (indication names
in the extractor and the scorer, every key of the diff): what editors change freely does not count."""

from __future__ import annotations

import re
import unicodedata

# Quotes, dashes and spaces that editors swap freely, as their ASCII forms.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ",
    }
)
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def fold(text: str | None) -> str:
    """Accents folded to their base letters (NFKD: "Sjögren" -> "sjogren", not "sj gren"), curly quotes
    and dashes read as ASCII, lower case, apostrophes dropped ("Sjögren’s" -> "sjogrens"), every other
    run of punctuation or space one space."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", str(text).translate(_TYPOGRAPHY))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().replace("'", "")
    return _NOT_ALPHANUMERIC.sub(" ", bare).strip()
