"""Hand-checked expectations over the train/dev documents of every reader (pipeline/quality/expectations/corpus.json).

Each expectation quotes the document and states the fact a correct extractor finds there. The few the
rules do not meet yet are listed with their reason in known_gaps.json and run as strict xfails.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.quality.evaluation import EXPECTATIONS as EXPECTATIONS_FILE
from pipeline.quality.evaluation import KNOWN_GAPS as KNOWN_GAPS_FILE
from pipeline.quality.scoring import load_expectations, match_expectation
from pipeline.extract import extract
from pipeline.ingest import read_document
from pipeline.datamodel import Extraction
from tests.conftest import RAW_DOCS, REPO

EXPECTATIONS = load_expectations(EXPECTATIONS_FILE)
KNOWN_GAPS = json.loads(KNOWN_GAPS_FILE.read_text())["gaps"]


@lru_cache(maxsize=None)
def _extraction(doc: str) -> Extraction:
    return extract(read_document(REPO / doc, root=RAW_DOCS))


def _params():
    for expectation in EXPECTATIONS:
        marks = []
        if expectation["id"] in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[expectation["id"]]))
        yield pytest.param(expectation, id=expectation["id"], marks=marks)


@pytest.mark.parametrize("expectation", list(_params()))
def test_corpus_expectation(expectation):
    assert (REPO / expectation["doc"]).exists()
    assert match_expectation(_extraction(expectation["doc"]), expectation), expectation["quote"]


def test_expectations_cover_every_reader_and_enough_documents():
    formats = {Path(e["doc"]).suffix for e in EXPECTATIONS}
    assert {".txt", ".json"} <= formats
    assert any("/NCD" in e["doc"] for e in EXPECTATIONS)
    passing = [e for e in EXPECTATIONS if e["id"] not in KNOWN_GAPS]
    assert len(passing) >= 25
    assert len({e["doc"] for e in passing}) >= 10


def test_known_gaps_name_real_expectations():
    ids = {e["id"] for e in EXPECTATIONS}
    assert set(KNOWN_GAPS) <= ids


def test_expectations_never_use_held_out_documents():
    splits = json.loads((REPO / "models" / "splits.json").read_text())
    held_out = set(splits["test"])
    assert not [e["id"] for e in EXPECTATIONS if Path(e["doc"]).parent.name in held_out]
