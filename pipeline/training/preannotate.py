"""Pre-annotate the shipped documents with the rule extractor, for hand correction.

Writes one JSONL file per document under models/annotations/preannotated/: one record per sentence or
list item of the policy and evidence sections, with the rules' INDICATION / DOSE / THRESHOLD spans
(sentence-relative offsets) and the coverage label of each INDICATION span. Annotators correct these into
models/annotations/<split>/<DOC>.jsonl (see models/ANNOTATION.md); training never reads uncorrected output.

Usage: python -m pipeline.training.preannotate [DOC_ID ...]
"""

from __future__ import annotations

import sys

from pipeline.extract.extractor import extract_from_spacy
from pipeline.extract.nlp import get_nlp
from pipeline.ingest import read_document
from pipeline.paths import ANNOTATIONS_DIR, RAW_DOCS
from pipeline.quality.evaluation import latest_file, load_splits
from pipeline.training.records import sentence_records, write_records

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
    return sentence_records(doc_id, document, spacy_doc, spans, source="rules")


def main(argv: list[str] | None = None) -> int:
    """Pre-annotate the given documents (default: every document of every split)."""
    splits = load_splits()
    ids = (argv if argv else None) or [doc for split in ("train", "dev", "test") for doc in splits[split]]
    for doc_id in ids:
        records = preannotate(doc_id)
        path = OUT_DIR / f"{doc_id}.jsonl"
        write_records(records, path)
        print(f"{doc_id}: {len(records)} sentences, {sum(len(r['spans']) for r in records)} spans -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
