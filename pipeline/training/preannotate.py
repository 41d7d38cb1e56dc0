"""Pre-annotate the shipped documents with the rule extractor, for hand correction.

Writes one JSONL file per document under models/annotations/preannotated/: one record per sentence or
list item of the policy and evidence sections, with the rules' INDICATION / DOSE / THRESHOLD spans
(sentence-relative offsets) and the coverage label of each INDICATION span. Annotators correct these into
models/annotations/<split>/<DOC>.jsonl (see models/ANNOTATION.md); training never reads uncorrected output.

Usage: python -m pipeline.training.preannotate [DOC_ID ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pipeline.extract.extractor import extract_from_spacy
from pipeline.extract.nlp import get_nlp
from pipeline.extract.structure import sentences_from_doc, split_lines
from pipeline.ingest import read_document
from pipeline.paths import ANNOTATIONS_DIR, RAW_DOCS
from pipeline.quality.evaluation import latest_file, load_splits

OUT_DIR = ANNOTATIONS_DIR / "preannotated"


def preannotate(doc_id: str) -> list[dict]:
    """Sentence records with the rules' spans for one shipped document."""
    document = read_document(latest_file(doc_id), root=RAW_DOCS)
    nlp = get_nlp()
    spacy_doc = nlp(document.text)
    collected: list = []
    extraction = extract_from_spacy(document, spacy_doc, collected=collected)
    coverage_of = {i.char_start: i.coverage for i in extraction.indications}
    spans: list[tuple[int, int, str, str | None]] = []
    for group, _evidence in collected:
        label = next((coverage_of[m.start] for m in group.mentions if m.start in coverage_of), None)
        if label is None:
            continue  # a candidate the extractor did not report
        for m in group.mentions:
            start = document.text.find(m.name, m.start, m.end + 1)
            start = m.start if start < 0 else start
            spans.append((start, start + len(m.name), "INDICATION", label))
    spans += [(d.char_start, d.char_end, "DOSE", None) for d in extraction.doses]
    spans += [(t.char_start, t.char_end, "THRESHOLD", None) for t in extraction.thresholds]
    lines = split_lines(document)
    sentences = sentences_from_doc(spacy_doc, lines)
    records = []
    seen_text: set[str] = set()
    for sentence in sentences:
        kind = lines[sentence.line].section_kind
        if kind == "other":
            continue
        text = document.text[sentence.start : sentence.end]
        if len(text) < 3 or text in seen_text:
            continue
        seen_text.add(text)
        inside = sorted(
            {(s - sentence.start, e - sentence.start, label, cov) for s, e, label, cov in spans if sentence.start <= s and e <= sentence.end}
        )
        records.append(
            {
                "doc": doc_id,
                "section": kind,
                "offset": sentence.start,
                "text": text,
                "spans": [
                    {"start": s, "end": e, "label": label, **({"coverage": cov} if cov else {})} for s, e, label, cov in inside
                ],
                "source": "rules",
            }
        )
    return records


def main(argv: list[str] | None = None) -> int:
    """Pre-annotate the given documents (default: every document of every split)."""
    splits = load_splits()
    ids = (argv if argv else None) or [doc for split in ("train", "dev", "test") for doc in splits[split]]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for doc_id in ids:
        records = preannotate(doc_id)
        path = OUT_DIR / f"{doc_id}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        print(f"{doc_id}: {len(records)} sentences, {sum(len(r['spans']) for r in records)} spans -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
