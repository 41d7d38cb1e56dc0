"""Evaluate and calibrate the ICD-10-CM linker on the hand-checked gold list (models/icd10/gold.json).

`evaluate_linker(gold_path) -> dict` is what `lcd train` calls: per split, top-1 accuracy of the nearest
code, and for the codes `link_codes` actually stores (score >= min_similarity): coverage, accuracy when
a code is given, and how often names that should get no code get none. The minimum similarity is
calibrated on train + dev pairs only; test pairs are only reported.

Example:
    python -m pipeline.training.icd10_eval              # print metrics, write models/icd10/metrics.json
    python -m pipeline.training.icd10_eval --calibrate  # also store the calibrated min_similarity
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline.extract.icd10 import CONFIG_PATH, MODEL_DIR, ICD10DataError, Link, Linker, get_linker, reset_linker

GOLD_PATH = MODEL_DIR / "gold.json"
METRICS_PATH = MODEL_DIR / "metrics.json"
SPLITS = ("train", "dev", "test")
TUNE_SPLITS = ("train", "dev")
# A wrong code costs this many right ones: the pipeline prefers no code to a wrong one.
WRONG_CODE_COST = 2.0


@dataclass(frozen=True)
class GoldPair:
    """One hand-checked indication name and the codes accepted for it (none: no code should be stored)."""

    name: str
    aliases: tuple[str, ...]
    codes: tuple[str, ...]
    split: str
    documents: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    pair: GoldPair
    top: Link | None  # the linker's best code, before the min_similarity cut

    @property
    def score(self) -> float:
        return self.top[2] if self.top else float("-inf")

    @property
    def correct(self) -> bool:
        return self.top is not None and self.top[0] in self.pair.codes


def load_gold(path: Path | str = GOLD_PATH) -> list[GoldPair]:
    """Read and validate the gold list (the codes themselves are checked against the index by `check_codes`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        pairs = [
            GoldPair(
                name=item["name"],
                aliases=tuple(item.get("aliases", ())),
                codes=tuple(item["codes"]),
                split=item["split"],
                documents=tuple(item["documents"]),
            )
            for item in data["pairs"]
        ]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ICD10DataError(f"{path}: malformed gold list: {exc!r}") from exc
    for pair in pairs:
        if pair.split not in SPLITS or not pair.name.strip():
            raise ICD10DataError(f"{path}: pair {pair.name!r} has no name or an unknown split {pair.split!r}")
    names = [p.name for p in pairs]
    if len(set(names)) != len(names):
        raise ICD10DataError(f"{path}: duplicate names {sorted({n for n in names if names.count(n) > 1})}")
    return pairs


def check_codes(pairs: list[GoldPair], linker: Linker) -> list[str]:
    """Gold codes the index does not know (empty when the gold list matches the ICD-10-CM tables)."""
    return [f"{p.name}: {code}" for p in pairs for code in p.codes if not linker.has_code(code)]


def predict(pairs: list[GoldPair], linker: Linker) -> list[Result]:
    """The linker's top code for every pair, queried as the extractor does: name and aliases."""
    out = []
    for pair in pairs:
        top = linker.link(pair.name, pair.aliases, top_k=1)
        out.append(Result(pair, top[0] if top else None))
    return out


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def split_metrics(results: list[Result], min_similarity: float) -> dict:
    """Top-1 accuracy of the nearest code, and coverage / accuracy of the codes stored at min_similarity."""
    linkable = [r for r in results if r.pair.codes]
    unlinkable = [r for r in results if not r.pair.codes]
    stored = [r for r in linkable if r.score >= min_similarity]
    stored_right = [r for r in stored if r.correct]
    unlinkable_coded = [r for r in unlinkable if r.score >= min_similarity]
    return {
        "pairs": len(results),
        "linkable_pairs": len(linkable),
        "top1_accuracy": _ratio(sum(r.correct for r in linkable), len(linkable)),
        "coverage": _ratio(len(stored), len(linkable)),
        "accuracy_when_coded": _ratio(len(stored_right), len(stored)),
        "accuracy_stored": _ratio(len(stored_right), len(linkable)),
        "no_code_pairs": len(unlinkable),
        "no_code_abstention": _ratio(len(unlinkable) - len(unlinkable_coded), len(unlinkable)),
    }


def calibrate_min_similarity(results: list[Result], wrong_cost: float = WRONG_CODE_COST) -> float:
    """The cut that maximises right codes stored minus `wrong_cost` x wrong codes stored.

    A code stored for a name that should get none counts as wrong. The cut sits halfway between the
    lowest score kept and the highest score dropped, so it does not ride on one pair's exact score.
    """
    scored = sorted((r for r in results if r.top is not None), key=lambda r: -r.score)
    best_utility, best_index, utility = 0.0, 0, 0.0
    for i, result in enumerate(scored, start=1):
        utility += 1.0 if result.correct else -wrong_cost
        if utility > best_utility:
            best_utility, best_index = utility, i
    if best_index == 0:
        return round(scored[0].score + 0.01, 3) if scored else 1.0
    kept = scored[best_index - 1].score
    dropped = scored[best_index].score if best_index < len(scored) else kept - 0.02
    return round((kept + dropped) / 2, 3)


def evaluate_linker(gold_path: Path | str = GOLD_PATH, linker: Linker | None = None) -> dict:
    """Metrics of the configured linker per split, and the min_similarity that train + dev would choose."""
    linker = linker or get_linker()
    pairs = load_gold(gold_path)
    unknown = check_codes(pairs, linker)
    if unknown:
        raise ICD10DataError(f"{gold_path}: codes unknown to simple-icd-10-cm: {unknown}")
    results = predict(pairs, linker)
    threshold = linker.config.min_similarity
    by_split = {split: [r for r in results if r.pair.split == split] for split in SPLITS}
    tune = [r for r in results if r.pair.split in TUNE_SPLITS]
    metrics = {
        "about": "ICD-10-CM linking of indication names (pipeline/extract/icd10.py) on models/icd10/gold.json. "
        "top1_accuracy: the nearest code is an accepted one (linkable pairs). coverage: share of linkable pairs "
        "given a code at min_similarity; accuracy_when_coded: share of those codes that are right; "
        "accuracy_stored: right codes stored / linkable pairs; no_code_abstention: share of the names that "
        "should get no code that get none. min_similarity is calibrated on train + dev only.",
        "index_version": linker.index_version,
        "min_similarity": threshold,
        "calibrated_min_similarity_train_dev": calibrate_min_similarity(tune),
        "splits": {split: split_metrics(rs, threshold) for split, rs in by_split.items()},
        "train+dev": split_metrics(tune, threshold),
        "errors": [
            {
                "name": r.pair.name,
                "split": r.pair.split,
                "expected": list(r.pair.codes),
                "got": list(r.top) if r.top else None,
                "stored": bool(r.top and r.score >= threshold),
            }
            for r in results
            if (r.pair.codes and not r.correct) or (not r.pair.codes and r.score >= threshold)
        ],
    }
    return metrics


def write_metrics(metrics: dict, path: Path = METRICS_PATH) -> None:
    """Write the metrics JSON that is committed beside the gold list."""
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_min_similarity(value: float, config_path: Path = CONFIG_PATH) -> None:
    """Store a calibrated min_similarity in linker.json, keeping the rest of the file as it is."""
    data = json.loads(config_path.read_text(encoding="utf-8"))
    data["min_similarity"] = value
    config_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _summary(metrics: dict) -> str:
    calibrated = metrics["calibrated_min_similarity_train_dev"]
    lines = [f"min_similarity {metrics['min_similarity']} (train+dev would choose {calibrated})"]
    for split, m in [*metrics["splits"].items(), ("train+dev", metrics["train+dev"])]:
        lines.append(
            f"{split:>9}: {m['linkable_pairs']:3d} linkable  top1 {m['top1_accuracy']}  coverage {m['coverage']}  "
            f"accuracy when coded {m['accuracy_when_coded']}  no-code abstention {m['no_code_abstention']} "
            f"({m['no_code_pairs']} pairs)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=GOLD_PATH)
    parser.add_argument("--output", type=Path, default=METRICS_PATH, help="where to write the metrics JSON")
    parser.add_argument("--calibrate", action="store_true", help="first store the train+dev cut in linker.json")
    parser.add_argument("--show-errors", choices=("tune", "all"), default="tune", help="train+dev errors, or all")
    args = parser.parse_args(argv)
    if args.calibrate:
        metrics = evaluate_linker(args.gold)
        write_min_similarity(metrics["calibrated_min_similarity_train_dev"])
        reset_linker()
    metrics = evaluate_linker(args.gold)
    write_metrics(metrics, args.output)
    print(_summary(metrics))
    for error in metrics["errors"]:
        if args.show_errors == "all" or error["split"] in TUNE_SPLITS:
            print(f"  [{error['split']}] {error['name']!r}: expected {error['expected']}, got {error['got']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
