"""Measure extraction quality: held-out gold documents (models/gold) and hand-checked expectations.

The split in models/splits.json decides which documents rules may be written on (train, dev) and
which are only ever scored (test). `lcd evaluate` prints these figures and writes them to
models/metrics/ so a change to the rules shows its effect in the diff of that file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pipeline.quality.scoring import evaluate_documents, load_expectations, load_gold, match_expectation
from pipeline.ingest import discover, read_document
from pipeline.datamodel import Document, Extraction
from pipeline.paths import EXPECTATIONS_DIR, GOLD_DIR, RAW_DOCS, ROOT, SPLITS_PATH

EXPECTATIONS = EXPECTATIONS_DIR / "corpus.json"  # hand-checked facts of train/dev documents
KNOWN_GAPS = EXPECTATIONS_DIR / "known_gaps.json"  # expectations the extractor does not meet yet, with reasons

Extractor = Callable[[Document], Extraction]


def load_splits(path: Path = SPLITS_PATH) -> dict[str, list[str]]:
    """Document ids per split: {"train": [...], "dev": [...], "test": [...]}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    splits = {name: list(data.get(name, [])) for name in ("train", "dev", "test")}
    seen: Counter[str] = Counter(doc for ids in splits.values() for doc in ids)
    duplicated = [doc for doc, n in seen.items() if n > 1]
    if duplicated:
        raise ValueError(f"{path}: documents in more than one split: {', '.join(sorted(duplicated))}")
    return splits


def latest_file(lcd_id: str, root: Path = RAW_DOCS) -> Path:
    """The highest-numbered version file of an LCD under raw_docs/<LCD_ID>/."""
    files = discover([root / lcd_id])
    if not files:
        raise FileNotFoundError(f"no document for {lcd_id} under {root}")

    def version_key(path: Path) -> tuple[int, float | str]:
        try:
            return (0, float(path.stem))
        except ValueError:
            return (1, path.stem)

    return max(files, key=version_key)


def gold_documents(ids: list[str], root: Path = RAW_DOCS):
    """(document id, latest document, its gold) for the ids that have a gold file in models/gold/."""
    for lcd_id in ids:
        gold_path = GOLD_DIR / f"{lcd_id}.json"
        if gold_path.exists():
            yield lcd_id, read_document(latest_file(lcd_id, root), root=root), load_gold(gold_path)


def gold_score(extract: Extractor, ids: list[str], root: Path = RAW_DOCS) -> dict:
    """Score the extractor on the documents with a gold file in models/gold/."""
    scored = [(extract(document), document.text, gold) for _id, document, gold in gold_documents(ids, root)]
    result = evaluate_documents(scored)
    result.pop("details", None)
    return result


def expectation_score(extract: Extractor, path: Path = EXPECTATIONS, repo: Path = ROOT) -> dict:
    """How many hand-checked expectations the extractor meets, per kind, with the ids it misses."""
    cache: dict[str, Extraction] = {}
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed: list[str] = []
    for expectation in load_expectations(path):
        doc = expectation["doc"]
        if doc not in cache:
            cache[doc] = extract(read_document(repo / doc, root=repo / "raw_docs"))
        total[expectation["kind"]] += 1
        if match_expectation(cache[doc], expectation):
            passed[expectation["kind"]] += 1
        else:
            missed.append(expectation["id"])
    return {
        "passed": sum(passed.values()),
        "total": sum(total.values()),
        "by_kind": {kind: {"passed": passed[kind], "total": total[kind]} for kind in sorted(total)},
        "missed": missed,
    }


SPLITS = ("train", "dev", "test")


def evaluate(extract: Extractor, name: str, split: str = "test") -> dict:
    """All quality figures for one extractor: the gold of one split (the held-out test split by default;
    tuning looks at dev only), the IVIG reference, train/dev expectations."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    splits = load_splits()
    return {
        "extractor": name,
        "split": split,
        f"{split}_gold": gold_score(extract, splits[split]),
        "ivig_reference": gold_score(extract, ["IVIG-OFFLABEL"]),
        "train_dev_expectations": expectation_score(extract),
    }


def format_report(result: dict) -> str:
    """A short plain-text table of the headline figures."""
    lines = [f"extractor: {result['extractor']}"]
    for block in (f"{result.get('split', 'test')}_gold", "ivig_reference"):
        micro = result[block]["micro"]
        lines.append(
            f"{block} ({result[block]['documents']} documents): "
            f"indications R {micro['indication_recall']:.2f} P {micro['indication_precision']:.2f} "
            f"coverage acc {micro['coverage_accuracy']:.2f} | "
            f"policy doses R {micro['dose_policy_recall']:.2f} P {micro['dose_policy_precision']:.2f} | "
            f"policy thresholds R {micro['threshold_policy_recall']:.2f} P {micro['threshold_policy_precision']:.2f}"
        )
    exp = result["train_dev_expectations"]
    kinds = ", ".join(f"{k} {v['passed']}/{v['total']}" for k, v in exp["by_kind"].items())
    lines.append(f"train/dev expectations: {exp['passed']}/{exp['total']} ({kinds})")
    return "\n".join(lines)
