"""How far two independent annotation passes of the same documents agree, measured with the scorer's
own matching (indication names with aliases; thresholds and doses by value, comparator and unit), so
that the agreement and the extractor's scores mean the same thing.

Run it: `python -m pipeline.quality.agreement [--passes models/annotations/passes]` prints one row per
document and the totals (pass A read as the reference and pass B as the prediction, and the other way
round; F1 is the mean of the two).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.datamodel import Dose, Extraction, Indication, Threshold
from pipeline.ingest import read_document
from pipeline.paths import MODELS_DIR, RAW_DOCS
from pipeline.quality.evaluation import latest_file
from pipeline.quality.scoring import evaluate_documents, load_gold

PASSES_DIR = MODELS_DIR / "annotations" / "passes"


def as_extraction(reference: Mapping[str, Any], text: str) -> Extraction:
    """A pass read as an extraction: its required facts, placed where their quotes are in the text."""
    indications, ids = [], {}
    for i, g in enumerate(reference["indications"]):
        at = max(text.find(g["name"]), 0)
        indications.append(Indication(i, g["name"], g["name"].lower(), g["coverage"], "policy", "", at, at + len(g["name"]), 1.0, tuple(g.get("icd10cm", ())), tuple(g.get("aliases", ()))))
        ids[g["name"]] = i

    def where(quote: str) -> tuple[int, int]:
        at = text.find(quote)
        return (at, at + len(quote)) if at >= 0 else (0, 0)

    thresholds = tuple(
        Threshold(ids.get(t.get("indication")), t["measure"], t["comparator"], t["value"], t.get("value_high"), t.get("unit"),
                  t["polarity"], t["section"], t["text"], *where(t["text"]))
        for t in reference["thresholds"]
    )
    doses = tuple(
        Dose(ids.get(d.get("indication")), d.get("drug"), d["low"], d["high"], d["unit"], None, d.get("phase"), d["section"], d["text"], *where(d["text"]))
        for d in reference["doses"]
    )
    return Extraction(tuple(indications), doses, thresholds, (), "annotation pass")


def agreement(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], str]]) -> dict:
    """Agreement of (pass A, pass B, document text) triples: micro F1 of indications, thresholds and
    doses each way and their mean, and coverage agreement over the indications matched A -> B."""
    a_ref = evaluate_documents([(as_extraction(b, text), text, a) for a, b, text in pairs])["micro"]
    b_ref = evaluate_documents([(as_extraction(a, text), text, b) for a, b, text in pairs])["micro"]
    out = {"documents": len(pairs)}
    for kind, key in (("indications", "indication"), ("thresholds", "threshold_policy"), ("doses", "dose_policy")):
        out[kind] = {
            "a_count": a_ref[f"{key}_tp"] + a_ref[f"{key}_fn"],
            "b_count": b_ref[f"{key}_tp"] + b_ref[f"{key}_fn"],
            "f1_a_reference": round(a_ref[f"{key}_f1"], 3),
            "f1_b_reference": round(b_ref[f"{key}_f1"], 3),
            "f1": round((a_ref[f"{key}_f1"] + b_ref[f"{key}_f1"]) / 2, 3),
        }
    out["coverage_agreement"] = round(a_ref["coverage_accuracy"], 3)
    return out


def load_passes(passes_dir: Path = PASSES_DIR, root: Path = RAW_DOCS, ids: Iterable[str] | None = None) -> list[tuple[str, dict, dict, str]]:
    """(document id, pass A, pass B, the document's text) for every document with both passes."""
    wanted = set(ids) if ids is not None else None
    out = []
    for a_path in sorted((passes_dir / "a").glob("*.json")):
        b_path = passes_dir / "b" / a_path.name
        if not b_path.exists() or (wanted is not None and a_path.stem not in wanted):
            continue
        text = read_document(latest_file(a_path.stem, root), root=root).text
        out.append((a_path.stem, load_gold(a_path), load_gold(b_path), text))
    return out


def main(argv: Iterable[str] | None = None) -> int:
    """Print the agreement of the annotation passes, per document and in total."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.quality.agreement", description=__doc__)
    parser.add_argument("--passes", type=Path, default=PASSES_DIR, help="folder with a/ and b/ pass files named <LCD_ID>.json")
    parser.add_argument("ids", nargs="*", help="only these documents")
    args = parser.parse_args(list(argv) if argv is not None else None)
    passes = load_passes(args.passes, ids=args.ids or None)
    if not passes:
        print(f"no documents with both passes under {args.passes}", file=sys.stderr)
        return 2
    print(f"{'document':<12} {'ind A/B':>8} {'ind F1':>7} {'thr A/B':>8} {'thr F1':>7} {'coverage':>9}")
    for doc_id, a, b, text in passes:
        r = agreement([(a, b, text)])
        i, t = r["indications"], r["thresholds"]
        print(f"{doc_id:<12} {i['a_count']:>3}/{i['b_count']:<4} {i['f1']:>7.3f} {t['a_count']:>3}/{t['b_count']:<4} {t['f1']:>7.3f} {r['coverage_agreement']:>9.3f}")
    total = agreement([(a, b, text) for _, a, b, text in passes])
    i, t = total["indications"], total["thresholds"]
    print(f"{'all':<12} {i['a_count']:>3}/{i['b_count']:<4} {i['f1']:>7.3f} {t['a_count']:>3}/{t['b_count']:<4} {t['f1']:>7.3f} {total['coverage_agreement']:>9.3f}  ({total['documents']} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
