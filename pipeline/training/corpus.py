"""The hand-corrected annotated corpus: load and validate models/annotations/<split>/<DOC>.jsonl.

One record per sentence or list item: {"doc", "section", "offset", "text", "spans": [{"start", "end",
"label", "text", "coverage"?}], "source", "checked"}. Offsets are relative to `text`; every span's
"text" must equal text[start:end], spans must not overlap, INDICATION spans carry a coverage label.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.paths import ANNOTATIONS_DIR

LABELS = ("INDICATION", "DOSE", "THRESHOLD")
COVERAGE = ("covered", "not_covered", "unclear")


class AnnotationError(ValueError):
    """An annotation file breaks the format; the message names file, line and problem."""


def validate_record(record: dict, where: str) -> dict:
    """Check one sentence record and return it."""
    for key in ("doc", "text", "spans"):
        if key not in record:
            raise AnnotationError(f"{where}: missing '{key}'")
    text = record["text"]
    last_end = -1
    for i, span in enumerate(sorted(record["spans"], key=lambda s: (s["start"], s["end"]))):
        start, end, label = span.get("start"), span.get("end"), span.get("label")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise AnnotationError(f"{where}: span {i} has bad offsets {start}-{end}")
        if label not in LABELS:
            raise AnnotationError(f"{where}: span {i} label {label!r} not in {LABELS}")
        if span.get("text") is not None and span["text"] != text[start:end]:
            raise AnnotationError(f"{where}: span {i} text {span['text']!r} != {text[start:end]!r}")
        if label == "INDICATION" and span.get("coverage") not in COVERAGE:
            raise AnnotationError(f"{where}: INDICATION span {i} needs coverage in {COVERAGE}")
        if start < last_end:
            raise AnnotationError(f"{where}: span {i} overlaps the previous span")
        last_end = end
    return record


def load_file(path: Path) -> list[dict]:
    """Validated records of one annotation file."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnnotationError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        records.append(validate_record(record, f"{path}:{number}"))
    return records


def load_split(split: str, root: Path = ANNOTATIONS_DIR) -> list[dict]:
    """Every corrected record of a split (train, dev or test)."""
    folder = root / split
    return [record for path in sorted(folder.glob("*.jsonl")) for record in load_file(path)]
