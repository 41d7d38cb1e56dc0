"""The spaCy pipeline: blank English, LCD-aware tokenizer and sentence splitting, rule components.

Built on `spacy.blank("en")` so nothing is downloaded. A trained NER (see models/) can be inserted
before the rule components with `nlp.add_pipe(..., before="coverage_cues")`; the rule components only
read `doc.spans` and the text, so they work with or without it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy
import spacy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, filter_spans, registry

from pipeline import settings
from pipeline.extract.lexicon import Lexicon, load_lexicon
from pipeline.paths import TRAINED_PIPELINE

CUES_KEY = "cues"
# Tokens after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "vs", "al", "dr", "no", "fig", "approx", "inc", "etc", "pub", "sec", "ch", "st", "jr", "mr", "ms", "u.s", "viz", "cf", "ref"}
)
# LCDs glue numbers to units and comparators ("1.5g/kg", "≥45"); splitting them keeps tokens stable.
_EXTRA_INFIXES = [r"(?<=[0-9])(?=[a-zA-Zµ%])", r"(?<=[<>≤≥=])(?=[0-9.])", r"(?<=[0-9])(?=[–—])", r"(?<=[–—])(?=[0-9])"]


@registry.tokenizers("lcd_tokenizer.v1")
def lcd_tokenizer():
    """English tokenizer that also splits numbers from units and comparators ("1.5g/kg", "≥45")."""

    def create(nlp: Language):
        tokenizer = registry.tokenizers.get("spacy.Tokenizer.v1")()(nlp)
        infixes = list(nlp.Defaults.infixes) + _EXTRA_INFIXES
        tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
        return tokenizer

    return create


@Language.component("lcd_sentencizer")
def lcd_sentencizer(doc: Doc) -> Doc:
    """Sentence starts: every line (paragraph or list item) and every full stop followed by a capital."""
    if len(doc) == 0:
        return doc
    texts = [t.text for t in doc]
    spaces = [t.whitespace_ for t in doc]
    starts = [1] + [1 if _starts_sentence(texts, spaces, i) else -1 for i in range(1, len(texts))]
    # One bulk write: Token.is_sent_start's setter rescans the whole doc on every call (O(n²) per doc).
    doc.from_array([SENT_START], numpy.asarray(starts, dtype="int64").astype("uint64").reshape(-1, 1))
    return doc


def _starts_sentence(texts: list[str], spaces: list[str], i: int) -> bool:
    text, prev = texts[i], texts[i - 1]
    if text.isspace():
        return False  # newlines and runs of spaces belong to the sentence before them
    if "\n" in prev or "\n" in spaces[i - 1]:
        return True
    if prev not in {".", "?", "!"} or not spaces[i - 1]:
        return False
    before = texts[i - 2].lower().rstrip(".") if i >= 2 else ""
    if before in _ABBREVIATIONS or (len(before) == 1 and before.isalnum()):  # an initial or a list number, not ")."
        return False
    first = text[0]
    return first.isupper() or first.isdigit() or first in "\"“‘([•-"


def build_nlp(lexicon: Lexicon | None = None) -> Language:
    """A fresh pipeline: tokenizer tweaks, sentence splitting and the coverage cue ruler."""
    lexicon = lexicon or load_lexicon()
    nlp = spacy.blank("en", config={"nlp": {"tokenizer": {"@tokenizers": "lcd_tokenizer.v1"}}})
    nlp.add_pipe("lcd_sentencizer")
    ruler = nlp.add_pipe(
        "span_ruler",
        name="coverage_cues",
        config={"spans_key": CUES_KEY, "phrase_matcher_attr": "LOWER", "overwrite": True},
    )
    ruler.add_patterns(cue_patterns(lexicon))
    return nlp


def cue_patterns(lexicon: Lexicon) -> list[dict]:
    """The coverage cue ruler's patterns, from coverage_cues.json (the one definition of the cues)."""
    return [{"label": cue.label, "pattern": cue.phrase, "id": f"{cue.weight:g}"} for cue in lexicon.cues]


def load_trained(path: Path = TRAINED_PIPELINE) -> Language | None:
    """The committed pipeline with the trained NER (models/lcd_pipeline), or None when there is none; its cue
    ruler reads the current coverage_cues.json, so an edited cue list needs no re-assembly of the pipeline."""
    if not (path / "config.cfg").exists():
        return None
    nlp = spacy.load(path)
    ruler = nlp.get_pipe("coverage_cues")
    ruler.clear()
    ruler.add_patterns(cue_patterns(load_lexicon()))
    return nlp


@lru_cache(maxsize=1)
def get_nlp() -> Language:
    """The process-wide pipeline: the trained one from models/ when present (unless LCD_RULES_ONLY=1 is set),
    else the rules alone. Loading takes well under a second; documents reuse it."""
    if not settings.rules_only():
        trained = load_trained()
        if trained is not None:
            return trained
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
