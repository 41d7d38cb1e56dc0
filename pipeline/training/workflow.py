"""`lcd train`: prepare corpus -> train NER -> assemble -> train coverage classifier -> evaluate.

Every step reads declared inputs and writes declared outputs under models/, so the committed metrics
are what a rerun reproduces (seeds are fixed; spaCy's CPU training is deterministic for a given seed).
Test documents (models/splits.json) are never used to train or tune anything; they are only scored.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import spacy
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from pipeline.extract.extractor import extractor_version
from pipeline.extract.coverage_model import CLASSES, CoverageModel, GroupEvidence, featurize, numeric_scale, save_model
from pipeline.extract.extractor import extract_from_spacy
from pipeline.extract.nlp import build_nlp
from pipeline.ingest import read_document
from pipeline.datamodel import Document, Extraction
from pipeline.extract.roles import load_role_model
from pipeline.paths import COVERAGE_MODEL, METRICS_DIR, NER_DIR, RAW_DOCS, ROLE_MODEL
from pipeline.quality.evaluation import evaluate, gold_documents, latest_file, load_splits
from pipeline.training.corpus import ANNOTATIONS_DIR, load_split
from pipeline.training.roles import C_GRID, train_roles
from pipeline.training.ner import CONFIG_PATH, PIPELINE_DIR, assemble, train_ner, write_docbin

CV_FOLDS = 5  # train documents per fold: ~1/5 of them held out, enough candidates per fold to score
# The NER learns the train documents nearly by heart, so on them its candidates are almost all real
# indications; a classifier fit on those learns to trust every NER span and keeps the fragments it
# proposes on unseen text. The classifier's training candidates therefore come from fold NERs, each
# trained on the other half of the train documents (out-of-fold, as in stacking). Two folds: each
# fold NER costs half a full training.
CROSSFIT_FOLDS = 2


@dataclass(frozen=True)
class Candidate:
    """One candidate indication group of a training document: its evidence and its annotated coverage (or none)."""

    doc: str
    evidence: GroupEvidence
    label: str


@dataclass(frozen=True)
class Paths:
    """Where a training run reads and writes (tests point these at temp folders)."""

    annotations: Path = ANNOTATIONS_DIR
    config: Path = CONFIG_PATH
    pipeline: Path = PIPELINE_DIR
    fold_ners: Path = NER_DIR / "folds"
    coverage_model: Path = COVERAGE_MODEL
    role_model: Path = ROLE_MODEL
    metrics: Path = METRICS_DIR


# ---------------------------------------------------------------- labelled candidates for the classifier


def annotated_indications(records: list[dict], document: Document) -> list[tuple[int, int, str]]:
    """INDICATION spans of one document's records as document offsets, with their coverage."""
    out = []
    for record in records:
        offset = record.get("offset", 0)
        if document.text[offset : offset + len(record["text"])] != record["text"]:
            found = document.text.find(record["text"])
            if found < 0:
                continue  # the reader's text changed since annotation; skip rather than mislabel
            offset = found
        for span in record["spans"]:
            if span["label"] == "INDICATION":
                out.append((offset + span["start"], offset + span["end"], span["coverage"]))
    return out


def label_candidates(collected: list, gold_spans: list[tuple[int, int, str]]) -> list[tuple[GroupEvidence, str]]:
    """Each candidate group labelled with the majority coverage of the annotated spans it overlaps, or none."""
    examples = []
    for group, evidence in collected:
        votes: Counter[str] = Counter()
        for mention in group.mentions:
            for start, end, coverage in gold_spans:
                if start < mention.end and mention.start < end:
                    votes[coverage] += 1
        examples.append((evidence, votes.most_common(1)[0][0] if votes else "none"))
    return examples


def candidates_for(doc_ids: list[str], records: list[dict], nlp, role_model=None) -> list[Candidate]:
    """Labelled candidate indications of the given documents, as the assembled pipeline (and the list-item
    role model, when given) proposes them, each with its document (the cross-validation groups)."""
    by_doc: dict[str, list[dict]] = {}
    for record in records:
        by_doc.setdefault(record["doc"], []).append(record)
    examples: list[Candidate] = []
    for doc_id in doc_ids:
        if doc_id not in by_doc:
            continue
        document = read_document(latest_file(doc_id), root=RAW_DOCS)
        collected: list = []
        extract_from_spacy(document, nlp(document.text), coverage_model=None, collected=collected, role_model=role_model)
        examples += [Candidate(doc_id, evidence, label) for evidence, label in label_candidates(collected, annotated_indications(by_doc[doc_id], document))]
    return examples


def _log_loss(model, X, labels: list[str]) -> float:
    """Mean negative log-probability of the true labels (a label the model never saw counts as p=1e-6)."""
    if not labels:
        return 0.0
    proba = model.predict_proba(X)
    index = {label: i for i, label in enumerate(model.classes_)}
    p = [proba[row, index[label]] if label in index else 0.0 for row, label in enumerate(labels)]
    return float(-np.mean(np.log(np.maximum(p, 1e-6))))


def choose_c(log_loss_by_c: dict[float, float]) -> float:
    """The penalty C with the lowest cross-validated log loss (exact ties to the larger C).

    Log loss, not accuracy: accuracies over the grid differ by less than their noise and the winner
    flipped between a strong and a weak penalty from one small rule edit to the next; log loss is smooth
    in C and punishes the strong penalty's failure (covered indications read "unclear")."""
    best = min(log_loss_by_c.values())
    return max(c for c, loss in log_loss_by_c.items() if loss <= best + 1e-12)


def _logistic(c: float) -> LogisticRegression:
    """The coverage classifier's estimator at penalty C (one definition for the search and the final fit)."""
    return LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=0)


def document_folds(docs: list[str], folds: int = CV_FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fit rows, held-out rows) of each fold, every document's rows on one side only (deterministic)."""
    splitter = GroupKFold(n_splits=min(folds, len(set(docs))))
    return list(splitter.split(np.zeros(len(docs)), groups=docs))


def cross_validated(train: list[Candidate], scale: np.ndarray, folds: int = CV_FOLDS) -> tuple[dict[float, float], dict[float, float]]:
    """Out-of-fold accuracy and log-loss of every C in C_GRID, folds grouped by document.

    A document's candidates share its wording and its MAC's habits; splitting them across folds would
    score the classifier on text it has half seen, so every fold holds out whole documents.
    """
    X, y = featurize([c.evidence for c in train], scale), np.array([c.label for c in train])
    splits = document_folds([c.doc for c in train], folds)
    accuracy, losses = {}, {}
    for c in C_GRID:
        predicted = np.empty(len(y), dtype=object)
        loss = 0.0
        for fit_rows, held_rows in splits:
            model = _logistic(c).fit(X[fit_rows], y[fit_rows])
            predicted[held_rows] = model.predict(X[held_rows])
            loss += _log_loss(model, X[held_rows], list(y[held_rows])) * len(held_rows)
        accuracy[c] = float(np.mean(predicted == y))
        losses[c] = round(loss / len(y), 4)
    return accuracy, losses


def fit_coverage(train: list[Candidate], dev: list[Candidate]) -> tuple[CoverageModel, dict]:
    """Fit the logistic regression on train only, C chosen by the lowest log loss of document-grouped
    cross-validation on train; dev (may be empty) is only scored, so its figure is honest."""
    scale = numeric_scale([c.evidence for c in train])
    cv_accuracy, cv_losses = cross_validated(train, scale)
    # With balanced class weights and near-empty classes ("unclear": a handful of training examples), a
    # strong penalty leaves the weighted intercepts to decide; log loss sees that, accuracy barely does.
    best_c = choose_c(cv_losses)
    final = _logistic(best_c).fit(featurize([c.evidence for c in train], scale), [c.label for c in train])
    classes = tuple(final.classes_)
    coef = np.zeros((len(CLASSES), final.coef_.shape[1]))
    intercept = np.full(len(CLASSES), -30.0)  # a class never seen in training is never predicted
    for i, label in enumerate(classes):
        coef[CLASSES.index(label)] = final.coef_[i] if len(classes) > 2 else (final.coef_[0] if i == 1 else -final.coef_[0])
        intercept[CLASSES.index(label)] = final.intercept_[i] if len(classes) > 2 else (final.intercept_[0] if i == 1 else -final.intercept_[0])
    from scipy import sparse

    fitted = CoverageModel(CLASSES, sparse.csr_matrix(coef), intercept, scale, {"C": best_c, "cv_accuracy_by_C": cv_accuracy})
    X_dev, y_dev = (featurize([c.evidence for c in dev], scale), [c.label for c in dev]) if dev else (None, [])
    report = {
        "C": best_c,
        "cv_folds": len(document_folds([c.doc for c in train])),
        "cv_accuracy_by_C": cv_accuracy,
        "cv_log_loss_by_C": cv_losses,
        "dev_accuracy": round(float(np.mean(final.predict(X_dev) == np.array(y_dev))), 4) if dev else None,
        "dev_log_loss": round(_log_loss(final, X_dev, y_dev), 4) if dev else None,
        "train_examples": Counter(c.label for c in train),
        "dev_examples": Counter(c.label for c in dev),
    }
    return fitted, report


# ---------------------------------------------------------------- evaluation


def predicted_spans(document: Document, extraction: Extraction, collected: list) -> set[tuple[int, int, str]]:
    """The spans a pipeline marks: every mention of a reported indication, every dose and threshold."""
    reported = {i.char_start for i in extraction.indications}
    spans = set()
    for group, _evidence in collected:
        if any(m.start in reported for m in group.mentions):
            spans |= {(m.start, m.end, "INDICATION") for m in group.mentions}
    spans |= {(d.char_start, d.char_end, "DOSE") for d in extraction.doses}
    spans |= {(t.char_start, t.char_end, "THRESHOLD") for t in extraction.thresholds}
    return spans


def span_scores(gold: set[tuple[int, int, str]], predicted: set[tuple[int, int, str]]) -> dict:
    """Per-label precision/recall/F1, a predicted span matching a gold span of the same label when they overlap."""
    out = {}
    for label in ("INDICATION", "DOSE", "THRESHOLD"):
        g = [s for s in gold if s[2] == label]
        p = [s for s in predicted if s[2] == label]
        tp_gold = sum(any(a < d and c < b for c, d, _ in p) for a, b, _ in g)
        tp_pred = sum(any(a < d and c < b for c, d, _ in g) for a, b, _ in p)
        recall = tp_gold / len(g) if g else 1.0
        precision = tp_pred / len(p) if p else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"gold": len(g), "predicted": len(p), "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    return out


def span_evaluation(doc_ids: list[str], records: list[dict], nlp, coverage_model) -> dict:
    """Span-level scores of a pipeline on annotated documents (micro over all their spans)."""
    by_doc: dict[str, list[dict]] = {}
    for record in records:
        by_doc.setdefault(record["doc"], []).append(record)
    gold_all: set = set()
    pred_all: set = set()
    for n, doc_id in enumerate(doc_ids):
        if doc_id not in by_doc:
            continue
        document = read_document(latest_file(doc_id), root=RAW_DOCS)
        collected: list = []
        extraction = extract_from_spacy(document, nlp(document.text), coverage_model=coverage_model, collected=collected)
        for record in by_doc[doc_id]:
            offset = record.get("offset", 0)
            for span in record["spans"]:
                gold_all.add((n, offset + span["start"], offset + span["end"], span["label"]))
        pred_all |= {(n, s, e, label) for s, e, label in predicted_spans(document, extraction, collected)}
    flat = lambda spans: {(n * 10_000_000 + s, n * 10_000_000 + e, label) for n, s, e, label in spans}  # noqa: E731
    return span_scores(flat(gold_all), flat(pred_all))


def calibration(extract_fn, doc_ids: list[str]) -> dict:
    """On gold documents: does sorting indications by confidence put the wrong coverage labels at the bottom?"""
    from pipeline.quality.scoring import score_extraction

    pairs = []
    for _doc_id, document, gold in gold_documents(doc_ids):
        extraction = extract_fn(document)
        score = score_extraction(extraction, document.text, gold)
        wrong = {(e["extracted"]) for e in score["indications"]["coverage_errors"]}
        matched = {m["extracted"] for m in score["indications"]["matches"]}
        for indication in extraction.indications:
            if indication.name in matched:
                pairs.append((indication.confidence, indication.name not in wrong))
    if not pairs:
        return {"matched": 0}
    pairs.sort(key=lambda p: -p[0])
    half = len(pairs) // 2
    correct = [c for c, ok in pairs if ok]
    wrong = [c for c, ok in pairs if not ok]
    auc = (
        sum((cw < cc) + 0.5 * (cw == cc) for cc in correct for cw in wrong) / (len(correct) * len(wrong))
        if correct and wrong
        else None
    )
    return {
        "matched": len(pairs),
        "accuracy_top_half": round(sum(ok for _, ok in pairs[:half]) / max(half, 1), 4),
        "accuracy_bottom_half": round(sum(ok for _, ok in pairs[half:]) / max(len(pairs) - half, 1), 4),
        "mean_confidence_correct": round(float(np.mean(correct)), 4) if correct else None,
        "mean_confidence_wrong": round(float(np.mean(wrong)), 4) if wrong else None,
        "auroc_confidence_vs_correct": round(auc, 4) if auc is not None else None,
    }


# ---------------------------------------------------------------- the workflow


def crossfit_folds(doc_ids: list[str], folds: int = CROSSFIT_FOLDS) -> list[set[str]]:
    """The annotated train documents dealt into `folds` held-out sets, in sorted order (deterministic)."""
    ordered = sorted(set(doc_ids))
    return [{doc for i, doc in enumerate(ordered) if i % folds == fold} for fold in range(folds)]


def _train_ner_model(train_records: list[dict], dev_records: list[dict], out: Path, paths: Paths, ner_overrides: dict | None, log) -> None:
    """DocBins of the records, NER training (early stop on dev), the best tok2vec+ner copied to `out`."""
    with tempfile.TemporaryDirectory(prefix="lcd-train-") as tmp:
        tmp_dir = Path(tmp)
        stats = [write_docbin(records, tmp_dir / f"{name}.spacy") for name, records in (("train", train_records), ("dev", dev_records))]
        log(f"    train {stats[0]}, dev {stats[1]}")
        best = train_ner(tmp_dir / "train.spacy", tmp_dir / "dev.spacy", tmp_dir / "ner", paths.config, ner_overrides)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(best, out)
    forget_corpus_paths(out / "config.cfg")


def forget_corpus_paths(config_path: Path) -> None:
    """Null the temp DocBin paths a trained model's config records, so a rerun writes the same bytes."""
    from thinc.api import Config

    config = Config().from_disk(config_path, interpolate=False)
    config["paths"].update(train=None, dev=None)
    config.to_disk(config_path)


def _train_and_assemble(paths: Paths, records: dict, ner_overrides: dict | None, log) -> None:
    """Steps 1-3: the fold NERs (for the classifier's candidates), the full NER, assembly into paths.pipeline."""
    for fold, held in enumerate(crossfit_folds([r["doc"] for r in records["train"]])):
        log(f"1/5 fold NER {fold + 1}/{CROSSFIT_FOLDS} ({len(held)} train documents held out)")
        _train_ner_model([r for r in records["train"] if r["doc"] not in held], records["dev"], paths.fold_ners / str(fold), paths, ner_overrides, log)
    log("2/5 NER on every train document")
    with tempfile.TemporaryDirectory(prefix="lcd-train-") as tmp:
        _train_ner_model(records["train"], records["dev"], Path(tmp) / "ner", paths, ner_overrides, log)
        log("3/5 assemble")
        assemble(Path(tmp) / "ner", paths.pipeline)


def out_of_fold_candidates(doc_ids: list[str], records: list[dict], paths: Paths, role_model) -> list[Candidate]:
    """Labelled candidates of the train documents, each document's from the fold NER that did not see it
    (assembled with today's rules, so a rule change needs no NER retraining)."""
    candidates: list[Candidate] = []
    for fold, held in enumerate(crossfit_folds([r["doc"] for r in records])):
        with tempfile.TemporaryDirectory(prefix="lcd-fold-") as tmp:
            nlp = spacy.load(assemble(paths.fold_ners / str(fold), Path(tmp) / "pipeline"))
            candidates += candidates_for([d for d in doc_ids if d in held], records, nlp, role_model)
    return candidates


def train_all(paths: Paths = Paths(), ner_overrides: dict | None = None, log=print, reuse_pipeline: bool = False) -> dict:
    """Run the whole workflow and write the metrics; returns the summary.

    `reuse_pipeline` keeps the assembled NER pipeline at paths.pipeline and the fold NERs, and refits only the classifiers.
    """
    splits = load_splits()
    records = {split: load_split(split, paths.annotations) for split in ("train", "dev", "test")}
    if not records["train"]:
        raise RuntimeError(f"no corrected annotations under {paths.annotations}/train: nothing to train on")
    if not reuse_pipeline:
        _train_and_assemble(paths, records, ner_overrides, log)
    trained_nlp = spacy.load(paths.pipeline)
    log("4/5 list-item roles, coverage classifier")
    train_roles(paths.role_model, paths.metrics)
    role_model = load_role_model(paths.role_model)
    train_examples = out_of_fold_candidates(splits["train"], records["train"], paths, role_model)
    dev_examples = candidates_for(splits["dev"], records["dev"], trained_nlp, role_model)
    model, coverage_report = fit_coverage(train_examples, dev_examples)
    save_model(model, paths.coverage_model)
    log("5/5 evaluate")
    rules_nlp = build_nlp()
    rules_extract = lambda d: extract_from_spacy(d, rules_nlp(d.text), coverage_model=None)  # noqa: E731
    trained_extract = lambda d: extract_from_spacy(d, trained_nlp(d.text), coverage_model=model, role_model=role_model)  # noqa: E731
    results = {
        "rules": {
            "facts": evaluate(rules_extract, extractor_version(trained=False)),
            "spans_test": span_evaluation(splits["test"], records["test"], rules_nlp, None),
        },
        "ner_rules": {
            "facts": evaluate(trained_extract, extractor_version(trained=True)),
            "spans_test": span_evaluation(splits["test"], records["test"], trained_nlp, model),
        },
        "coverage": {
            **coverage_report,
            "calibration_test_rules": calibration(rules_extract, splits["test"]),
            "calibration_test_ner_rules": calibration(trained_extract, splits["test"]),
        },
    }
    from pipeline.training.icd10_eval import evaluate_linker

    results["icd10"] = evaluate_linker()
    paths.metrics.mkdir(parents=True, exist_ok=True)
    for name, payload in results.items():
        (paths.metrics / f"{name}.json").write_text(json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")
    summary = summarize(results)
    (paths.metrics / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def _jsonable(value):
    if isinstance(value, Counter):
        return dict(value)
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value)}")


def summarize(results: dict) -> dict:
    """The headline numbers: held-out test facts and spans for rules vs NER + rules, and calibration."""
    out = {}
    for name in ("rules", "ner_rules"):
        micro = results[name]["facts"]["test_gold"]["micro"]
        out[name] = {
            "test_indication_recall": round(micro["indication_recall"], 4),
            "test_indication_precision": round(micro["indication_precision"], 4),
            "test_indication_f1": round(micro["indication_f1"], 4),
            "test_coverage_accuracy": round(micro["coverage_accuracy"], 4),
            "test_dose_policy_f1": round(micro["dose_policy_f1"], 4),
            "test_threshold_policy_f1": round(micro["threshold_policy_f1"], 4),
            "test_span_f1": {label: v["f1"] for label, v in results[name]["spans_test"].items()},
            "train_dev_expectations": results[name]["facts"]["train_dev_expectations"]["passed"],
        }
    out["calibration_test"] = results["coverage"]["calibration_test_ner_rules"]
    if "icd10" in results:
        out["icd10_test_top1"] = results["icd10"].get("splits", {}).get("test", {}).get("top1_accuracy")
    return out
