"""Evaluate and calibrate the ICD-10-CM linker on hand-made gold only: the name/code pairs of
models/icd10/gold.json and the indications (names, aliases, icd10cm) of the train + dev gold files.

`evaluate_linker(gold_path) -> dict` is what `lcd train` calls: per split of the gold list, top-1 accuracy
of the nearest code, and for the codes `link_codes` actually stores (corpus lexicon, else nearest code at
`min_confidence`): coverage, accuracy when a code is given, and how often names that should get no code
get none. `calibrate` writes the corpus lexicon (models/icd10/corpus.json) from the train + dev gold
files, fits the confidence model and its cut on train + dev examples, and measures the lexicon's
precision leave-one-document-out; test documents are never read.

Example:
    python -m pipeline.training.icd10_eval              # print train/dev metrics, write models/icd10/metrics.json
    python -m pipeline.training.icd10_eval --calibrate  # first rebuild corpus.json and refit linker.json
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.extract.icd10 import (
    CONFIDENCE_FEATURES,
    CONFIG_PATH,
    CORPUS_PATH,
    MODEL_DIR,
    CorpusEntry,
    Decision,
    ICD10DataError,
    Link,
    Linker,
    codes_agree,
    get_linker,
    is_abbreviation,
    normalize_text,
    reset_linker,
)
from pipeline.paths import GOLD_DIR, SPLITS_PATH

GOLD_PATH = MODEL_DIR / "gold.json"
METRICS_PATH = MODEL_DIR / "metrics.json"
SPLITS = ("train", "dev", "test")
TUNE_SPLITS = ("train", "dev")
# A wrong code costs this many right ones: the pipeline prefers no code to a wrong one. At 3 a code is
# stored only where 3 in 4 such codes are right; at 2 the cut let in codes right 2 times in 3, and the
# corpus lexicon and confidence model fitted leave-one-document-out on train + dev (the held-out case)
# then stored 16 wrong codes of 88 instead of 10 of 79.
WRONG_CODE_COST = 3.0
# A short capital abbreviation (CD, MS) names different conditions in different policies, and a form the
# gold gives several codes (osteoarthritis M16 + M17, colorectal cancer C18-C20) is split by the sites or
# types of its own policy: the lexicon keeps either only when this many gold documents agree on its codes.
ABBREVIATION_SUPPORT = 2


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
    top: Link | None  # the linker's nearest code, before any cut
    decision: Decision  # what link_codes stores

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
    """The linker's nearest code and its stored decision for every pair, queried as the extractor does."""
    decisions = linker.decide_many([(p.name, p.aliases) for p in pairs])
    out = []
    for pair, decision in zip(pairs, decisions):
        top = linker.link(pair.name, pair.aliases, top_k=1)
        out.append(Result(pair, top[0] if top else None, decision))
    return out


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def split_metrics(results: list[Result]) -> dict:
    """Top-1 accuracy of the nearest code, and coverage / accuracy of the codes link_codes stores."""
    linkable = [r for r in results if r.pair.codes]
    unlinkable = [r for r in results if not r.pair.codes]
    stored = [r for r in linkable if r.decision.codes]
    stored_right = [r for r in stored if codes_agree(r.decision.codes, r.pair.codes)]
    return {
        "pairs": len(results),
        "linkable_pairs": len(linkable),
        "top1_accuracy": _ratio(sum(r.correct for r in linkable), len(linkable)),
        "coverage": _ratio(len(stored), len(linkable)),
        "accuracy_when_coded": _ratio(len(stored_right), len(stored)),
        "accuracy_stored": _ratio(len(stored_right), len(linkable)),
        "no_code_pairs": len(unlinkable),
        "no_code_abstention": _ratio(sum(not r.decision.codes for r in unlinkable), len(unlinkable)),
    }


# --- calibration: corpus lexicon, confidence model, cut ------------------------------------------------


def gold_file_pairs(splits: tuple[str, ...] = TUNE_SPLITS, gold_dir: Path = GOLD_DIR,
                    splits_path: Path = SPLITS_PATH) -> list[GoldPair]:
    """The indications of the gold files of `splits` (never test) as (name, aliases, icd10cm) pairs."""
    if "test" in splits:
        raise ValueError("the test gold is only ever scored: calibrate on train and dev")
    from pipeline.quality.scoring import load_gold as load_gold_file

    assignment = json.loads(splits_path.read_text(encoding="utf-8"))
    pairs = []
    for split in splits:
        for doc in assignment[split]:
            path = gold_dir / f"{doc}.json"
            if not path.exists():
                continue
            for ind in load_gold_file(path)["indications"]:
                pairs.append(GoldPair(ind["name"], tuple(ind["aliases"]), tuple(ind["icd10cm"]), split, (doc,)))
    return pairs


def build_corpus(pairs: list[GoldPair], max_abbreviation_length: int) -> dict[str, CorpusEntry]:
    """{normalised name or alias: its gold codes and documents}; forms whose documents disagree on the codes
    are left out (the lexicon must not guess), and so are abbreviations and several-code forms fewer than
    ABBREVIATION_SUPPORT documents agree on."""
    codes_of: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    documents_of: dict[str, set[str]] = defaultdict(set)
    abbreviations: set[str] = set()
    for pair in pairs:
        for text in (pair.name, *pair.aliases):
            form = normalize_text(text)
            if len(form) < 2:
                continue
            codes_of[form].add(tuple(sorted(pair.codes)))
            documents_of[form].update(pair.documents)
            if is_abbreviation(text, max_abbreviation_length):
                abbreviations.add(form)
    corpus = {}
    for form, codes in sorted(codes_of.items()):
        if len(codes) != 1:
            continue
        (agreed,) = codes
        context_bound = form in abbreviations or len(agreed) > 1
        if not context_bound or len(documents_of[form]) >= ABBREVIATION_SUPPORT:
            corpus[form] = CorpusEntry(agreed, tuple(sorted(documents_of[form])))
    return corpus


def write_corpus(corpus: dict[str, CorpusEntry], path: Path = CORPUS_PATH) -> None:
    """Write the corpus lexicon beside the linker settings."""
    data = {
        "about": "Names and aliases of the train + dev gold indications (models/gold, split by models/splits.json; "
        "never test) with their hand-checked icd10cm codes, normalised as the linker normalises queries. "
        "codes [] means the gold gives the condition no sure code. Forms whose documents disagree are left out; "
        f"short capital abbreviations and forms with several codes need {ABBREVIATION_SUPPORT} agreeing documents. Generated by "
        "python -m pipeline.training.icd10_eval --calibrate.",
        "version": 1,
        "forms": {form: {"codes": list(e.codes), "documents": list(e.documents)} for form, e in corpus.items()},
    }
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def corpus_precision(pairs: list[GoldPair], max_abbreviation_length: int) -> tuple[int, int]:
    """(right, answered) of the lexicon leave-one-document-out: each document's indications looked up in the
    lexicon of the other documents; an answer of no code is right when the gold has none."""
    by_doc: dict[str, list[GoldPair]] = defaultdict(list)
    for pair in pairs:
        by_doc[pair.documents[0]].append(pair)
    right = answered = 0
    for doc, own in by_doc.items():
        corpus = build_corpus([p for p in pairs if p.documents[0] != doc], max_abbreviation_length)
        for pair in own:
            entry = next((corpus[f] for f in map(normalize_text, (pair.name, *pair.aliases)) if f in corpus), None)
            if entry is None:
                continue
            answered += 1
            right += codes_agree(entry.codes, pair.codes) if entry.codes else not pair.codes
    return right, answered


def confidence_examples(pairs: list[GoldPair], linker: Linker) -> tuple[np.ndarray, np.ndarray]:
    """(features, right) of the nearest code of every pair that gets one, the lexicon left aside."""
    decisions = linker.decide_many([(p.name, p.aliases) for p in pairs], use_corpus=False)
    kept = [(d, p) for d, p in zip(decisions, pairs) if d.candidate]
    features = np.array([d.features for d, _ in kept], dtype=np.float64).reshape(-1, len(CONFIDENCE_FEATURES))
    right = np.array([codes_agree(d.candidate, p.codes) for d, p in kept], dtype=bool)
    return features, right


def fit_confidence(features: np.ndarray, right: np.ndarray) -> tuple[float, dict[str, float]]:
    """A logistic regression of right ~ features: (bias, {feature: weight})."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000).fit(features, right)
    return float(model.intercept_[0]), {f: round(float(w), 4) for f, w in zip(CONFIDENCE_FEATURES, model.coef_[0])}


def calibrate_cut(confidences: list[float], right: list[bool], wrong_cost: float = WRONG_CODE_COST) -> float:
    """The cut that maximises right codes stored minus `wrong_cost` x wrong codes stored.

    The cut sits halfway between the lowest confidence kept and the highest dropped, so it does not ride on
    one example's exact value; with nothing worth keeping it sits just above the highest.
    """
    ranked = sorted(zip(confidences, right), key=lambda x: -x[0])
    best_utility, best_index, utility = 0.0, 0, 0.0
    for i, (_, ok) in enumerate(ranked, start=1):
        utility += 1.0 if ok else -wrong_cost
        if utility > best_utility:
            best_utility, best_index = utility, i
    if best_index == 0:
        return round(min(1.0, ranked[0][0] + 0.01), 4) if ranked else 1.0
    kept = ranked[best_index - 1][0]
    dropped = ranked[best_index][0] if best_index < len(ranked) else max(0.0, kept - 0.02)
    return round((kept + dropped) / 2, 4)


def calibrate(linker: Linker, gold_path: Path = GOLD_PATH) -> dict:
    """Refit on train + dev: the corpus lexicon, the confidence model, its cut and the lexicon's confidence.

    Returns the new linker.json fields and the corpus (the caller writes them)."""
    tune_pairs = [p for p in load_gold(gold_path) if p.split in TUNE_SPLITS]
    file_pairs = gold_file_pairs()
    examples = tune_pairs + file_pairs
    features, right = confidence_examples(examples, linker)
    bias, weights = fit_confidence(features, right)
    z = bias + features @ np.array([weights[f] for f in CONFIDENCE_FEATURES])
    confidences = list(1.0 / (1.0 + np.exp(-z)))
    lexicon_right, lexicon_answered = corpus_precision(file_pairs, linker.config.max_abbreviation_length)
    return {
        "corpus": build_corpus(file_pairs, linker.config.max_abbreviation_length),
        "config": {
            "confidence": {"bias": round(bias, 4), "weights": weights},
            "min_confidence": calibrate_cut(confidences, list(right)),
            # Laplace-smoothed: a lexicon measured on few documents is not taken as certain.
            "corpus_confidence": round((lexicon_right + 1) / (lexicon_answered + 2), 4),
        },
        "examples": len(right),
        "examples_right": int(right.sum()),
        "lexicon_loo": [lexicon_right, lexicon_answered],
    }


def evaluate_linker(gold_path: Path | str = GOLD_PATH, linker: Linker | None = None) -> dict:
    """Metrics of the configured linker per split of the gold list."""
    linker = linker or get_linker()
    pairs = load_gold(gold_path)
    unknown = check_codes(pairs, linker)
    if unknown:
        raise ICD10DataError(f"{gold_path}: codes unknown to simple-icd-10-cm: {unknown}")
    results = predict(pairs, linker)
    by_split = {split: [r for r in results if r.pair.split == split] for split in SPLITS}
    tune = [r for r in results if r.pair.split in TUNE_SPLITS]
    metrics = {
        "about": "ICD-10-CM linking of indication names (pipeline/extract/icd10.py) on models/icd10/gold.json. "
        "top1_accuracy: the nearest code is an accepted one (linkable pairs). coverage: share of linkable pairs "
        "given a code (corpus lexicon, else nearest code at min_confidence); accuracy_when_coded: share of those "
        "codes that are right; accuracy_stored: right codes stored / linkable pairs; no_code_abstention: share of "
        "the names that should get no code that get none. Lexicon, confidence model and cut come from train + "
        "dev gold only, so train and dev figures are in-sample.",
        "index_version": linker.index_version,
        "min_confidence": linker.config.min_confidence,
        "splits": {split: split_metrics(rs) for split, rs in by_split.items()},
        "train+dev": split_metrics(tune),
        "errors": [
            {
                "name": r.pair.name,
                "split": r.pair.split,
                "expected": list(r.pair.codes),
                "stored": list(r.decision.codes),
                "candidate": list(r.decision.candidate),
                "confidence": r.decision.confidence,
                "source": r.decision.source,
            }
            for r in results
            if (r.decision.codes and not codes_agree(r.decision.codes, r.pair.codes))
            or (r.pair.codes and not r.decision.codes)
        ],
    }
    return metrics


def write_metrics(metrics: dict, path: Path = METRICS_PATH) -> None:
    """Write the metrics JSON that is committed beside the gold list."""
    path.write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_calibration(fields: dict, config_path: Path = CONFIG_PATH) -> None:
    """Store calibrated fields in linker.json, keeping the rest of the file as it is."""
    data = json.loads(config_path.read_text(encoding="utf-8"))
    data.update(fields)
    config_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _summary(metrics: dict, splits: tuple[str, ...] = TUNE_SPLITS) -> str:
    lines = [f"min_confidence {metrics['min_confidence']}"]
    for split, m in [*((s, metrics["splits"][s]) for s in splits), ("train+dev", metrics["train+dev"])]:
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
    parser.add_argument("--calibrate", action="store_true", help="first refit corpus.json and linker.json on train+dev")
    args = parser.parse_args(argv)
    if args.calibrate:
        fitted = calibrate(get_linker(), args.gold)
        write_corpus(fitted["corpus"])
        write_calibration(fitted["config"])
        reset_linker()
        print(f"calibrated on {fitted['examples']} train+dev examples ({fitted['examples_right']} right nearest "
              f"codes), lexicon {len(fitted['corpus'])} forms, right {fitted['lexicon_loo'][0]} of "
              f"{fitted['lexicon_loo'][1]} leave-one-document-out: {json.dumps(fitted['config'])}")
    metrics = evaluate_linker(args.gold)
    write_metrics(metrics, args.output)
    # Train and dev only: the test figures go to the metrics file, to be reported, never to tune on.
    print(_summary(metrics))
    for error in metrics["errors"]:
        if error["split"] in TUNE_SPLITS:
            print(f"  [{error['split']}] {error['name']!r}: expected {error['expected']}, stored {error['stored']} "
                  f"(candidate {error['candidate']}, {error['source']} confidence {error['confidence']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
