"""The spaCy pipeline: blank English, LCD-aware tokenizer and sentence splitting, rule components.

Built on `spacy.blank("en")` so nothing is downloaded. A trained NER (see models/) can be inserted
before the rule components with `nlp.add_pipe(..., before="coverage_cues")`; the rule components only
read `doc.spans` and the text, so they work with or without it.
"""

from __future__ import annotations

import re
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, filter_spans

from pipeline.extract.lexicon import Lexicon, load_lexicon

CUES_KEY = "cues"
# Tokens after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "vs", "al", "dr", "no", "fig", "approx", "inc", "etc", "pub", "sec", "ch", "st", "jr", "mr", "ms", "u.s", "viz", "cf", "ref"}
)
# LCDs glue numbers to units and comparators ("1.5g/kg", "≥45"); splitting them keeps tokens stable.
_EXTRA_INFIXES = [r"(?<=[0-9])(?=[a-zA-Zµ%])", r"(?<=[<>≤≥=])(?=[0-9.])", r"(?<=[0-9])(?=[–—])", r"(?<=[–—])(?=[0-9])"]


@Language.component("lcd_sentencizer")
def lcd_sentencizer(doc: Doc) -> Doc:
    """Sentence starts: every line (paragraph or list item) and every full stop followed by a capital."""
    for i, token in enumerate(doc):
        token.is_sent_start = i == 0 or _starts_sentence(doc, i)
    return doc


def _starts_sentence(doc: Doc, i: int) -> bool:
    token, prev = doc[i], doc[i - 1]
    if token.is_space:
        return False  # newlines and runs of spaces belong to the sentence before them
    if "\n" in prev.text or "\n" in prev.whitespace_:
        return True
    if prev.text not in {".", "?", "!"} or not prev.whitespace_:
        return False
    before = doc[i - 2].text.lower().rstrip(".") if i >= 2 else ""
    if before in _ABBREVIATIONS or len(before) == 1:
        return False
    first = token.text[0]
    return first.isupper() or first.isdigit() or first in "\"“‘([•-"


def build_nlp(lexicon: Lexicon | None = None) -> Language:
    """A fresh pipeline: tokenizer tweaks, sentence splitting and the coverage cue ruler."""
    lexicon = lexicon or load_lexicon()
    nlp = spacy.blank("en")
    infixes = list(nlp.Defaults.infixes) + _EXTRA_INFIXES
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.add_pipe("lcd_sentencizer")
    ruler = nlp.add_pipe(
        "span_ruler",
        name="coverage_cues",
        config={"spans_key": CUES_KEY, "phrase_matcher_attr": "LOWER", "overwrite": True},
    )
    ruler.add_patterns([{"label": cue.label, "pattern": cue.phrase, "id": f"{cue.weight:g}"} for cue in lexicon.cues])
    return nlp


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """The process-wide pipeline (building it takes ~0.1 s; documents reuse it)."""
    return build_nlp()


def cue_spans(doc: Doc, negators: tuple[str, ...]) -> list[tuple[int, int, float]]:
    """Coverage cues as (start_char, end_char, signed weight); longest match wins, negators flip."""
    spans = filter_spans(list(doc.spans[CUES_KEY]))
    out = []
    for span in spans:
        weight = float(span.id_ or 1)
        sign = 1.0 if span.label_ == "POSITIVE" else -1.0
        if sign > 0 and _negated(span, negators):
            sign = -1.0
        out.append((span.start_char, span.end_char, sign * weight))
    return out


def _negated(span: Span, negators: tuple[str, ...]) -> bool:
    """True when one of the five words before a positive cue negates it ("is not considered to be ..."),
    looking no further back than the clause (a comma or semicolon ends it)."""
    doc = span.doc
    window = doc[max(span.start - 5, span.sent.start) : span.start].text.lower()
    window = re.split(r"[,;:]", window)[-1]
    return any(re.search(rf"\b{re.escape(neg)}\b", window) for neg in negators)
