"""The trained extraction: corpus validation, the JSON coverage model, the committed pipeline, and one
tiny end-to-end training run (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.extract import NER_EXTRACTOR_VERSION, extract
from pipeline.extract.coverage_model import MODEL_PATH, CoverageModel, GroupEvidence, load_model
from pipeline.extract.nlp import TRAINED_PIPELINE, build_nlp, load_trained
from pipeline.ingest import read_document
from pipeline.training.corpus import AnnotationError, load_file, load_split, validate_record
from pipeline.training.workflow import choose_c
from tests.conftest import RAW_DOCS, REPO


def test_annotation_with_a_span_text_that_does_not_match_is_refused():
    record = {"doc": "X", "text": "IgG < 400 mg/dL", "spans": [{"start": 0, "end": 3, "label": "INDICATION", "text": "IgA", "coverage": "covered"}]}
    with pytest.raises(AnnotationError, match="IgA"):
        validate_record(record, "x.jsonl:1")


def test_annotation_indication_without_coverage_is_refused():
    record = {"doc": "X", "text": "chronic pain", "spans": [{"start": 0, "end": 12, "label": "INDICATION"}]}
    with pytest.raises(AnnotationError, match="coverage"):
        validate_record(record, "x.jsonl:1")


def test_every_committed_annotation_file_is_valid_and_hand_checked_or_derived_from_gold():
    files = sorted((REPO / "models" / "annotations").glob("[tdv]*/*.jsonl"))
    assert {f.parent.name for f in files} == {"train", "dev", "test"}
    for path in files:
        sources = {record.get("source") for record in load_file(path)}
        if sources == {"gold"}:
            # derived from the hand-made gold (pipeline/training/gold_spans.py): train/dev documents only
            assert path.parent.name in ("train", "dev") and (REPO / "models" / "gold" / f"{path.stem}.json").exists(), path
        else:
            assert all(r.get("checked") is True and r.get("source") == "rules+hand" for r in load_file(path)), path


def test_annotation_splits_follow_the_document_split():
    splits = json.loads((REPO / "models" / "splits.json").read_text())
    for split in ("train", "dev", "test"):
        docs = {r["doc"] for r in load_split(split)}
        assert docs <= set(splits[split]), split


def test_coverage_model_round_trips_through_json(tmp_path):
    model = load_model()
    assert model is not None
    copy = CoverageModel.from_json(json.loads(json.dumps(model.to_json())))
    evidence = [GroupEvidence(vote=2.0, positive=2.0, list_vote=1.0, mentions=2, policy_mentions=2, kinds={"item"}, text="chronic pain is covered")]
    assert copy.predict(evidence) == model.predict(evidence)


def test_coverage_model_from_other_features_is_refused():
    data = json.loads(MODEL_PATH.read_text())
    data["numeric_features"] = data["numeric_features"][:-1]
    with pytest.raises(ValueError, match="retrain"):
        CoverageModel.from_json(data)


def test_committed_pipeline_is_small_and_loads_from_the_repo():
    size = sum(p.stat().st_size for p in TRAINED_PIPELINE.rglob("*") if p.is_file())
    assert size < 25 * 1024 * 1024
    nlp = load_trained()
    assert nlp is not None and nlp.pipe_names == ["lcd_sentencizer", "tok2vec", "ner", "coverage_cues"]
    doc = nlp("IVIG may be used in patients with severe active systemic lupus erythematosus.")
    assert all(ent.label_ == "INDICATION" for ent in doc.ents)


def test_extraction_uses_the_trained_pipeline_by_default():
    document = read_document(RAW_DOCS / "IVIG-OFFLABEL" / "2.txt", root=RAW_DOCS)
    extraction = extract(document)
    assert extraction.extractor_version.startswith(NER_EXTRACTOR_VERSION + "+")
    assert all(0.0 <= i.confidence <= 1.0 for i in extraction.indications)


def test_rules_only_extraction_needs_no_model():
    document = read_document(RAW_DOCS / "IVIG-OFFLABEL" / "2.txt", root=RAW_DOCS)
    extraction = extract(document, nlp=build_nlp(), coverage_model=None)
    assert extraction.extractor_version.startswith("lcd_rules.v6+")
    assert len(extraction.doses) == 13


@pytest.mark.slow
def test_tiny_training_runs_end_to_end(tmp_path):
    """The whole `lcd train` workflow on a few documents with a tiny step budget, into temp folders."""
    from pipeline.training.workflow import Paths, train_all

    source = REPO / "models" / "annotations"
    annotations = tmp_path / "annotations"
    for split, docs in {"train": ["IVIG-OFFLABEL", "L34544"], "dev": ["L34648"], "test": ["L34084"]}.items():
        (annotations / split).mkdir(parents=True)
        for doc in docs:
            shutil.copy(source / split / f"{doc}.jsonl", annotations / split / f"{doc}.jsonl")
    paths = Paths(annotations=annotations, pipeline=tmp_path / "pipeline", fold_ners=tmp_path / "folds", coverage_model=tmp_path / "coverage.json",
                  metrics=tmp_path / "metrics", role_model=tmp_path / "roles.json")  # never the committed role model
    summary = train_all(paths, ner_overrides={"training.max_steps": 20, "training.eval_frequency": 10}, log=lambda *_: None)
    assert (tmp_path / "pipeline" / "ner").is_dir()
    assert all((tmp_path / "folds" / str(fold) / "ner").is_dir() for fold in (0, 1))  # the classifier's out-of-fold NERs
    assert CoverageModel.from_json(json.loads((tmp_path / "coverage.json").read_text())).classes
    for name in ("rules", "ner_rules", "coverage", "summary"):
        assert (tmp_path / "metrics" / f"{name}.json").exists()
    assert {"rules", "ner_rules", "calibration_test"} <= set(summary)
    assert 0.0 <= summary["ner_rules"]["test_indication_recall"] <= 1.0


def test_coverage_c_is_the_one_with_the_lowest_cross_validated_log_loss():
    # the accuracies of these two runs picked C=3 and then C=0.1; their log losses agree on the middle
    assert choose_c({0.1: 0.7063, 0.3: 0.6754, 1.0: 0.6577, 3.0: 0.6526, 10.0: 0.6766}) == 3.0
    assert choose_c({0.1: 0.7217, 0.3: 0.6944, 1.0: 0.6836, 3.0: 0.6889, 10.0: 0.7263}) == 1.0
    assert choose_c({0.1: 0.5, 1.0: 0.5}) == 1.0


def _candidate(doc: str, text: str, label: str, vote: float):
    from pipeline.training.workflow import Candidate

    return Candidate(doc, GroupEvidence(vote=vote, positive=max(vote, 0.0), mentions=1, policy_mentions=1, kinds={"item"}, text=text), label)


def _tiny_coverage_train():
    rows = []
    for n in range(6):
        rows += [
            _candidate(f"L{n}", "IVIG is covered for chronic inflammatory demyelinating polyneuropathy", "covered", 2.0),
            _candidate(f"L{n}", "IVIG is not covered for chronic fatigue syndrome", "not_covered", -2.0),
            _candidate(f"L{n}", "the following criteria must be documented", "none", 0.0),
        ]
    return rows


def test_coverage_classifier_fit_does_not_depend_on_the_dev_documents():
    from pipeline.training.workflow import fit_coverage

    train = _tiny_coverage_train()
    agreeing = [_candidate("D1", "IVIG is covered for multifocal motor neuropathy", "covered", 2.0)]
    contrary = [_candidate("D2", "IVIG is covered for multifocal motor neuropathy", "not_covered", 2.0)] * 5
    model_a, report_a = fit_coverage(train, agreeing)
    model_b, report_b = fit_coverage(train, contrary)
    assert report_a["C"] == report_b["C"] and report_a["cv_accuracy_by_C"] == report_b["cv_accuracy_by_C"]
    assert (model_a.coef != model_b.coef).nnz == 0 and list(model_a.intercept) == list(model_b.intercept)
    assert report_a["dev_accuracy"] == 1.0 and report_b["dev_accuracy"] == 0.0


def test_coverage_cross_validation_holds_out_whole_documents():
    from pipeline.training.workflow import document_folds

    docs = ["L1"] * 3 + ["L2"] * 2 + ["L3"] * 4 + ["L4"] + ["L5"] * 2 + ["L6"] * 2
    folds = document_folds(docs, folds=5)
    assert len(folds) == 5
    held_out = [i for _, held in folds for i in held]
    assert sorted(held_out) == list(range(len(docs)))  # every candidate scored exactly once
    for fit_rows, held_rows in folds:
        assert not {docs[i] for i in fit_rows} & {docs[i] for i in held_rows}


def test_crossfit_folds_deal_each_train_document_to_exactly_one_fold():
    from pipeline.training.workflow import crossfit_folds

    docs = ["L33312", "A56781", "L34005", "L33312", "IVIG-OFFLABEL"]
    folds = crossfit_folds(docs, folds=2)
    assert folds == crossfit_folds(list(reversed(docs)), folds=2)  # the order records come in does not matter
    assert set().union(*folds) == set(docs) and not folds[0] & folds[1]
    assert folds == [{"A56781", "L33312"}, {"IVIG-OFFLABEL", "L34005"}]


def test_trained_model_config_forgets_the_temp_corpus_paths(tmp_path):
    from pipeline.training.workflow import forget_corpus_paths

    config = tmp_path / "config.cfg"
    config.write_text('[paths]\ntrain = "/tmp/lcd-train-x1/train.spacy"\ndev = "/tmp/lcd-train-x1/dev.spacy"\n\n[training]\nseed = 7\n')
    forget_corpus_paths(config)
    text = config.read_text()
    assert "/tmp/" not in text and "train = null" in text and "seed = 7" in text
