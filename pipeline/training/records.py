"""Sentence records of the span corpus: the policy and evidence sentences of a document, each with the
spans (given as document offsets) that fall inside it, in the format `pipeline.training.corpus` validates.

Both ways of making span files use it: the rules' pre-annotation (`preannotate`) and the derivation from
the hand-made gold (`gold_spans`), so their records segment a document identically.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.datamodel import Document
from pipeline.extract.structure import sentences_from_doc, split_lines

# (start, end, label, coverage or None), offsets into Document.text
DocSpan = tuple[int, int, str, str | None]


def sentence_records(doc_id: str, document: Document, spacy_doc, spans: list[DocSpan], **fields) -> list[dict]:
    """One record per policy/evidence sentence (as the pipeline segments it; a repeated sentence text once)
    with the spans that lie wholly inside it, offsets relative to the sentence; `fields` ("source", ...) are
    added to every record."""
    lines = split_lines(document)
    records = []
    seen_text: set[str] = set()
    for sentence in sentences_from_doc(spacy_doc, lines):
        kind = lines[sentence.line].section_kind
        if kind == "other":
            continue
        text = document.text[sentence.start : sentence.end]
        if len(text) < 3 or text in seen_text:
            continue
        seen_text.add(text)
        inside = sorted({(s - sentence.start, e - sentence.start, label, cov) for s, e, label, cov in spans if sentence.start <= s and e <= sentence.end})
        records.append(
            {
                "doc": doc_id,
                "section": kind,
                "offset": sentence.start,
                "text": text,
                "spans": [
                    {"start": s, "end": e, "label": label, "text": text[s:e], **({"coverage": cov} if cov else {})} for s, e, label, cov in inside
                ],
                **fields,
            }
        )
    return records


def write_records(records: list[dict], path: Path) -> None:
    """Write records as JSONL, one record per line (UTF-8, characters as written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
