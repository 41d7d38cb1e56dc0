"""The learned coverage decision: a scikit-learn logistic regression over an indication's evidence.

For each group of mentions the rules collect the evidence (cue votes by direction and section, the list
or heading it sits under, how it was found, the words of its sentences); the classifier turns that into
`covered` / `not_covered` / `unclear` / `none` (not an indication after all), and its probability becomes
`indications.confidence`. The model is stored as plain, versioned JSON (no pickle): the hashing
parameters, the numeric feature names and scales, and the non-zero coefficients.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from pipeline.paths import COVERAGE_MODEL as MODEL_PATH
FORMAT_VERSION = 1
CLASSES = ("covered", "not_covered", "unclear", "none")
N_TEXT_FEATURES = 2**14
KINDS = ("item", "heading", "line_head", "trigger", "ner")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


@dataclass
class GroupEvidence:
    """What the rules found about one candidate indication."""

    vote: float = 0.0  # the rules' weighted vote (positive = covered)
    positive: float = 0.0  # sum of positive cue weights in its scope
    negative: float = 0.0  # sum of negative cue weights (as a positive number)
    list_vote: float = 0.0  # vote of the list introduction / heading above it
    mentions: int = 0
    policy_mentions: int = 0
    evidence_mentions: int = 0
    kinds: set[str] = field(default_factory=set)
    best_section: str = "policy"
    bare: bool = False  # a list entry that is only a name
    condition_words: int = 0  # words of the name that are condition heads or suffixes
    name_words: int = 0
    names_condition: bool = True  # the name or one of its aliases is worded like a condition (not a model feature)
    not_a_name: bool = False  # worded as a list lead-in, a reference back or a sentence's continuation (not a feature)
    names_service: bool = False  # the name ends in a service, drug or device word ("testing", "medication"; not a feature)
    rules_keep: bool = True  # whether the rules alone would report it
    background: bool = False  # named only in prose of descriptive sentences ("Most cases occur in patients who have X"; not a feature)
    stated_not_covered: bool = False  # a sentence naming it says "not covered" (and nothing positive)
    text: str = ""  # the words of its sentences (name included)


def numeric_features(evidence: GroupEvidence) -> dict[str, float]:
    """Named numeric features (kept small and interpretable)."""
    features = {
        "vote": evidence.vote,
        "vote_sign": float(np.sign(evidence.vote)),
        "abs_vote": abs(evidence.vote),
        "positive": evidence.positive,
        "negative": evidence.negative,
        "list_vote": evidence.list_vote,
        "log_mentions": math.log1p(evidence.mentions),
        "policy_mentions": float(min(evidence.policy_mentions, 5)),
        "evidence_mentions": float(min(evidence.evidence_mentions, 5)),
        "best_policy": float(evidence.best_section == "policy"),
        "bare": float(evidence.bare),
        "condition_words": float(min(evidence.condition_words, 3)),
        "name_words": float(min(evidence.name_words, 10)),
        "rules_keep": float(evidence.rules_keep),
    }
    for kind in KINDS:
        features[f"kind_{kind}"] = float(kind in evidence.kinds)
    return features


NUMERIC_NAMES = tuple(numeric_features(GroupEvidence()).keys())


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        n_features=N_TEXT_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2", lowercase=True, token_pattern=r"(?u)\b[a-z][a-z\-]+\b"
    )


def _numeric_row(evidence: GroupEvidence) -> list[float]:
    """The numeric features in NUMERIC_NAMES order (the feature dict is built once, not once per name)."""
    features = numeric_features(evidence)
    return [features[name] for name in NUMERIC_NAMES]


def featurize(evidence_list: list[GroupEvidence], scale: np.ndarray | None = None) -> sparse.csr_matrix:
    """The feature matrix: hashed words and bigrams of the sentences, then the scaled numeric features."""
    texts = [_NUMBER_RE.sub(" ", e.text.lower()) for e in evidence_list]
    text_matrix = _vectorizer().transform(texts)
    numeric = np.array([_numeric_row(e) for e in evidence_list], dtype=float)
    if scale is not None:
        numeric = numeric / scale
    return sparse.hstack([text_matrix, sparse.csr_matrix(numeric)]).tocsr()


def numeric_scale(evidence_list: list[GroupEvidence]) -> np.ndarray:
    """Per-feature max absolute value over the training set (so every numeric feature is in [-1, 1])."""
    numeric = np.array([_numeric_row(e) for e in evidence_list], dtype=float)
    scale = np.abs(numeric).max(axis=0) if len(numeric) else np.ones(len(NUMERIC_NAMES))
    return np.where(scale > 0, scale, 1.0)


@dataclass(frozen=True)
class CoverageModel:
    """A fitted multinomial logistic regression in plain arrays."""

    classes: tuple[str, ...]
    coef: sparse.csr_matrix  # n_classes x n_features
    intercept: np.ndarray
    scale: np.ndarray
    metadata: dict

    def predict(self, evidence_list: list[GroupEvidence]) -> list[tuple[str, float, dict[str, float]]]:
        """(label, its probability, all class probabilities) per candidate."""
        if not evidence_list:
            return []
        X = featurize(evidence_list, self.scale)
        scores = (X @ self.coef.T).toarray() + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        out = []
        for row in probs:
            best = int(row.argmax())
            out.append((self.classes[best], float(row[best]), {c: float(p) for c, p in zip(self.classes, row)}))
        return out

    def to_json(self) -> dict:
        """The plain, versioned representation written to models/coverage/model.json."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": "multinomial logistic regression over hashed words + numeric rule evidence",
            "classes": list(self.classes),
            "n_text_features": N_TEXT_FEATURES,
            "numeric_features": list(NUMERIC_NAMES),
            "numeric_scale": [round(float(x), 6) for x in self.scale],
            "intercept": [round(float(x), 6) for x in self.intercept],
            "coef": coef_to_json(self.coef, 1e-6),
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict) -> CoverageModel:
        """Load and validate the JSON form; a mismatch with this code's features is an error, not a guess."""
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"coverage model format {data.get('format_version')!r}, expected {FORMAT_VERSION}")
        if data.get("n_text_features") != N_TEXT_FEATURES or tuple(data.get("numeric_features", ())) != NUMERIC_NAMES:
            raise ValueError("coverage model was trained with other features; retrain it with `lcd train`")
        classes = tuple(data["classes"])
        n_features = N_TEXT_FEATURES + len(NUMERIC_NAMES)
        coef = coef_from_json(data["coef"], (len(classes), n_features))
        return cls(classes, coef, np.array(data["intercept"]), np.array(data["numeric_scale"]), data.get("metadata", {}))


def coef_to_json(coef: sparse.csr_matrix, min_abs: float) -> list[list]:
    """A sparse coefficient matrix as [row, column, value] triples, dropping |value| < min_abs."""
    coo = coef.tocoo()
    return [[int(r), int(c), round(float(v), 6)] for r, c, v in zip(coo.row, coo.col, coo.data) if abs(v) >= min_abs]


def coef_from_json(entries: list[list], shape: tuple[int, int]) -> sparse.csr_matrix:
    """The sparse matrix of coef_to_json's triples."""
    rows, cols, vals = zip(*entries) if entries else ((), (), ())
    return sparse.csr_matrix((vals, (rows, cols)), shape=shape)


def write_model_json(model, path: Path) -> Path:
    """Write a model's `to_json()` form (compact JSON, one line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")
    return path


def read_model_json(cls, path: Path):
    """The model of class `cls` (its `from_json`) stored at path, or None when the file does not exist."""
    return cls.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


def save_model(model: CoverageModel, path: Path = MODEL_PATH) -> Path:
    """Write the model as JSON."""
    return write_model_json(model, path)


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> CoverageModel | None:
    """The committed model, or None when there is none."""
    return read_model_json(CoverageModel, path)
