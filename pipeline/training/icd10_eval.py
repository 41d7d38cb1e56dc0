"""Evaluate and calibrate the ICD-10-CM linker on hand-made gold only: the name/code pairs of
models/icd10/gold.json and the indications (names, aliases, icd10cm) of the train + dev gold files.

`evaluate_linker(gold_path) -> dict` is what `lcd train` calls: per split of the gold list, top-1 accuracy
of the nearest code, and for the codes `link_codes` actually stores (corpus lexicon, else nearest code at
`min_confidence`): coverage, accuracy when a code is given, and how often names that should get no code
get none. `leave_one_out` is the honest figure for new policies: the extractor's indications matched to
train + dev gold indications (names as the pipeline predicts them), each document coded with the lexicon,
confidence model and cut fitted without it. `calibrate` writes the corpus lexicon (models/icd10/corpus.json)
from the train + dev gold files and fits the confidence model and its cut on train + dev gold names plus the
extracted names the lexicon would not answer leave-one-document-out; test documents are never read.

Example:
    python -m pipeline.training.icd10_eval              # train/dev metrics + leave-one-out -> models/icd10/metrics.json
    python -m pipeline.training.icd10_eval --calibrate  # first rebuild corpus.json and refit linker.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections import Counter, defaultdict
from contextlib import contextmanager
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
    LinkerConfig,
    codes_agree,
    confidence_of,
    corpus_lookup,
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
# A wrong code costs this many right ones: the pipeline prefers no code to a wrong one. At 4 a code is
# stored only where 4 in 5 such codes are right. Leave-one-document-out on the extractor's matched
# indications of train + dev (`leave_one_out`), the full pipeline stored 98 right of 112 at 3 and 95 of 107
# at 4 (0.875 -> 0.888); at 5, 94 of 106.
WRONG_CODE_COST = 4.0
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
            entry = corpus_lookup(corpus, pair.name, pair.aliases, max_abbreviation_length)
            if entry is None:
                continue
            answered += 1
            right += codes_agree(entry.codes, pair.codes) if entry.codes else not pair.codes
    return right, answered


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


def calibrate(linker: Linker, matched: list[Matched], gold_path: Path = GOLD_PATH) -> dict:
    """Refit on train + dev: the corpus lexicon, the confidence model (on `confidence_pool`: gold names and the
    extractor's `matched` names the lexicon would not answer), its cut and the lexicon's confidence.

    Returns the new linker.json fields and the corpus (the caller writes them)."""
    file_pairs = gold_file_pairs()
    pool = confidence_pool(linker, matched, gold_path)
    config = fold_config(linker.config, [(e.features, e.right) for e in pool])
    lexicon_right, lexicon_answered = corpus_precision(file_pairs, linker.config.max_abbreviation_length)
    return {
        "corpus": build_corpus(file_pairs, linker.config.max_abbreviation_length),
        "config": {
            "confidence": {"bias": config.confidence_bias,
                           "weights": dict(zip(CONFIDENCE_FEATURES, config.confidence_weights))},
            "min_confidence": config.min_confidence,
            # Laplace-smoothed: a lexicon measured on few documents is not taken as certain.
            "corpus_confidence": round((lexicon_right + 1) / (lexicon_answered + 2), 4),
        },
        "examples": len(pool),
        "examples_right": sum(e.right for e in pool),
        "lexicon_loo": [lexicon_right, lexicon_answered],
    }


# --- leave-one-document-out on the extractor's matched indications --------------------------------------


@dataclass(frozen=True)
class Matched:
    """An extracted indication matched to a gold one: the name and aliases as the pipeline predicts them, the
    gold's codes, its document, and the codes the policy writes beside it (stored as written, never linked)."""

    pair: GoldPair
    explicit: tuple[str, ...]


@contextmanager
def _policy_codes_only():
    """Extract with LCD_NO_ICD10_LINKING=1: the linker is then scored separately, fold by fold."""
    saved = os.environ.get("LCD_NO_ICD10_LINKING")
    os.environ["LCD_NO_ICD10_LINKING"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("LCD_NO_ICD10_LINKING", None)
        else:
            os.environ["LCD_NO_ICD10_LINKING"] = saved


def matched_indications(rules_only: bool = False, splits: tuple[str, ...] = TUNE_SPLITS) -> list[Matched]:
    """The extractor's indications matched to gold indications in the gold documents of `splits` (never test)."""
    if "test" in splits:
        raise ValueError("the test gold is only ever scored: measure the linker on train and dev")
    from pipeline.extract import extract
    from pipeline.extract.nlp import build_nlp, get_nlp
    from pipeline.quality.evaluation import gold_documents, load_splits
    from pipeline.quality.scoring import score_extraction

    nlp = build_nlp() if rules_only else get_nlp()
    assignment = load_splits()
    out = []
    with _policy_codes_only():
        for split in splits:
            for doc, document, gold in gold_documents(assignment[split]):
                # the rules alone: no coverage classifier either, as `lcd evaluate --compare` runs them
                extraction = (extract(document, nlp=nlp, coverage_model=None) if rules_only
                              else extract(document, nlp=nlp))
                detail = score_extraction(extraction, document.text, gold)
                by_name = {}
                for indication in extraction.indications:
                    by_name.setdefault(indication.name, indication)
                gold_by_name = {g["name"]: g for g in gold["indications"]}
                for match in detail["indications"]["matches"]:
                    ind, gold_ind = by_name[match["extracted"]], gold_by_name[match["gold"]]
                    pair = GoldPair(ind.name, tuple(ind.aliases), tuple(gold_ind["icd10cm"]), split, (doc,))
                    out.append(Matched(pair, tuple(ind.icd10_codes)))
    return out


def fold_config(config: LinkerConfig, examples: list[tuple[tuple[float, ...], bool]],
                wrong_cost: float = WRONG_CODE_COST) -> LinkerConfig:
    """The linker settings refitted on (features, right) examples: confidence model and its cut."""
    features = np.array([f for f, _ in examples], dtype=np.float64).reshape(-1, len(CONFIDENCE_FEATURES))
    right = np.array([ok for _, ok in examples], dtype=bool)
    if right.all() or not right.any():  # one class: nothing to fit, keep the shipped model
        return config
    bias, weights = fit_confidence(features, right)
    fitted = dataclasses.replace(
        config, confidence_bias=round(bias, 4), confidence_weights=tuple(weights[f] for f in CONFIDENCE_FEATURES)
    )
    confidences = [confidence_of(f, fitted) for f in features]
    return dataclasses.replace(fitted, min_confidence=calibrate_cut(confidences, list(right), wrong_cost))


@dataclass(frozen=True)
class Example:
    """A nearest-description match to learn the confidence from: its features, whether it is right, and the
    documents it comes from (a fold leaves out every example of the document it codes)."""

    features: tuple[float, ...]
    right: bool
    documents: tuple[str, ...]


def novel_matched(matched: list[Matched], file_pairs: list[GoldPair], max_abbreviation_length: int) -> list[Matched]:
    """The matched indications the lexicon built without their own document does not know: the names a new
    policy sends to the nearest description (lexicon forms are easier than those, so they would flatter it)."""
    docs = sorted({m.pair.documents[0] for m in matched})
    corpora = {d: build_corpus([p for p in file_pairs if d not in p.documents], max_abbreviation_length) for d in docs}
    return [
        m for m in matched
        if not m.explicit
        and corpus_lookup(corpora[m.pair.documents[0]], m.pair.name, m.pair.aliases, max_abbreviation_length) is None
    ]


def confidence_pool(linker: Linker, matched: list[Matched], gold_path: Path = GOLD_PATH) -> list[Example]:
    """What the confidence model is fitted on: the nearest code of every train + dev gold name and alias
    (gold.json pairs, gold files) and of every extracted indication the lexicon would not answer
    leave-one-document-out. A gold `[]` makes any code wrong."""
    file_pairs = gold_file_pairs()
    pairs = [p for p in load_gold(gold_path) if p.split in TUNE_SPLITS] + file_pairs
    pairs += [m.pair for m in novel_matched(matched, file_pairs, linker.config.max_abbreviation_length)]
    decisions = linker.decide_many([(p.name, p.aliases) for p in pairs], use_corpus=False)
    return [Example(d.features, codes_agree(d.candidate, p.codes), p.documents)
            for p, d in zip(pairs, decisions) if d.candidate]


def leave_one_out(matched: list[Matched], linker: Linker, gold_path: Path = GOLD_PATH,
                  wrong_cost: float = WRONG_CODE_COST) -> dict:
    """Right / coded of the codes stored for the matched indications, each document coded with the corpus
    lexicon, confidence model and cut fitted without it (on train + dev gold names and extracted names).

    Verdicts as `lcd evaluate` gives them (pipeline.quality.evaluation.icd10_verdict), by source: codes the
    policy writes, the lexicon, the nearest description."""
    from pipeline.quality.evaluation import icd10_verdict

    file_pairs = gold_file_pairs()
    pool = confidence_pool(linker, matched, gold_path)
    to_link = [m for m in matched if not m.explicit]
    decisions = linker.decide_many([(m.pair.name, m.pair.aliases) for m in to_link], use_corpus=False)
    nearest = dict(zip(map(id, to_link), decisions))  # the nearest code does not depend on the fold
    max_length = linker.config.max_abbreviation_length
    records = []  # (matched, stored codes, source, confidence)
    by_doc: dict[str, list[Matched]] = defaultdict(list)
    for m in matched:
        by_doc[m.pair.documents[0]].append(m)
    for doc, own in sorted(by_doc.items()):
        corpus = build_corpus([p for p in file_pairs if doc not in p.documents], max_length)
        config = fold_config(linker.config, [(e.features, e.right) for e in pool if doc not in e.documents], wrong_cost)
        for m in own:
            if m.explicit:
                records.append((m, m.explicit, "policy", 1.0))
            elif (entry := corpus_lookup(corpus, m.pair.name, m.pair.aliases, max_length)) is not None:
                records.append((m, entry.codes, "corpus", config.corpus_confidence))
            else:
                d = nearest[id(m)]
                confidence = confidence_of(d.features, config) if d.candidate else 0.0
                records.append((m, d.candidate if confidence >= config.min_confidence else (), "nearest", confidence))
    return {
        **loo_summary(records),
        "splits": {split: loo_summary([r for r in records if r[0].pair.split == split]) for split in TUNE_SPLITS},
        "errors": [
            {"document": m.pair.documents[0], "name": m.pair.name, "expected": list(m.pair.codes),
             "stored": list(codes), "source": source, "confidence": round(confidence, 4)}
            for m, codes, source, confidence in records
            if codes and icd10_verdict(codes, m.pair.codes) in ("wrong", "gold_none")
        ],
    }


def loo_summary(records: list[tuple[Matched, tuple[str, ...], str, float]]) -> dict:
    """Right / coded, coverage (right codes / matched indications with a gold code) and verdicts by source."""
    from pipeline.quality.evaluation import icd10_verdict

    verdicts: dict[str, Counter] = defaultdict(Counter)
    for m, codes, source, _ in records:
        if codes:
            verdicts[source][icd10_verdict(codes, m.pair.codes)] += 1
    total: Counter = sum(verdicts.values(), Counter())
    coded = sum(total.values())
    right = total["exact"] + total["within"]
    with_gold = sum(bool(m.pair.codes) for m, *_ in records)
    return {
        "matched": len(records),
        "matched_with_gold_code": with_gold,
        "with_code": coded,
        "right": right,
        "right_of_coded": _ratio(right, coded),
        "coverage": _ratio(right, with_gold),
        "uncoded_with_gold_code": sum(bool(m.pair.codes) and not codes for m, codes, *_ in records),
        "by_source": {
            source: {"with_code": sum(c.values()), "right": c["exact"] + c["within"], **dict(sorted(c.items()))}
            for source, c in sorted(verdicts.items())
        },
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


def _loo_line(label: str, m: dict) -> str:
    sources = "  ".join(f"{s} {v['right']}/{v['with_code']}" for s, v in m["by_source"].items())
    return (f"{label:>22}: right of coded {m['right']}/{m['with_code']} {m['right_of_coded']}  "
            f"coverage {m['coverage']} "
            f"({m['matched_with_gold_code']} matched with a gold code)  {sources}")


def leave_one_out_metrics(linker: Linker, gold_path: Path = GOLD_PATH) -> dict:
    """`leave_one_out` of the rules alone and of the full pipeline (each extracts train + dev: ~30 s)."""
    return {
        "about": "Codes stored for the extractor's indications matched to gold indications of train + dev, "
        "each document coded with the corpus lexicon, confidence model and cut fitted without it. right_of_coded: "
        "right / with_code (a code where the gold has none is wrong); coverage: right / matched with a gold code.",
        **{run: leave_one_out(matched_indications(rules_only=run == "rules"), linker, gold_path)
           for run in ("rules", "full_pipeline")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=GOLD_PATH)
    parser.add_argument("--output", type=Path, default=METRICS_PATH, help="where to write the metrics JSON")
    parser.add_argument("--calibrate", action="store_true", help="first refit corpus.json and linker.json on train+dev")
    parser.add_argument("--no-leave-one-out", action="store_true",
                        help="skip the leave-one-document-out run on extracted indications (it extracts train + dev)")
    args = parser.parse_args(argv)
    if args.calibrate:
        fitted = calibrate(get_linker(), matched_indications(), args.gold)
        write_corpus(fitted["corpus"])
        write_calibration(fitted["config"])
        reset_linker()
        print(f"calibrated on {fitted['examples']} train+dev examples ({fitted['examples_right']} right nearest "
              f"codes), lexicon {len(fitted['corpus'])} forms, right {fitted['lexicon_loo'][0]} of "
              f"{fitted['lexicon_loo'][1]} leave-one-document-out: {json.dumps(fitted['config'])}")
    metrics = evaluate_linker(args.gold)
    if not args.no_leave_one_out:
        metrics["leave_one_out"] = leave_one_out_metrics(get_linker(), args.gold)
    write_metrics(metrics, args.output)
    # Train and dev only: the test figures go to the metrics file, to be reported, never to tune on.
    print(_summary(metrics))
    for error in metrics["errors"]:
        if error["split"] in TUNE_SPLITS:
            print(f"  [{error['split']}] {error['name']!r}: expected {error['expected']}, stored {error['stored']} "
                  f"(candidate {error['candidate']}, {error['source']} confidence {error['confidence']})")
    if "leave_one_out" in metrics:
        print("leave-one-document-out, extracted indications matched to train + dev gold:")
        for run in ("rules", "full_pipeline"):
            loo = metrics["leave_one_out"][run]
            print(_loo_line(run, loo))
            for split in TUNE_SPLITS:
                print(_loo_line(split, loo["splits"][split]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
