"""Train the list-item role model (pipeline.extract.roles) on labels derived from the hand-made gold.

Labels come from models/gold/<ID>.json of the train and dev documents (never from rule output, never from
test); C is chosen on the dev documents' labels with a train-only fit, whose dev figures go to
models/metrics/roles.json; the shipped model is then refit on train + dev.

    python -m pipeline.training.roles      # ~10 s; rewrites models/roles/model.json and models/metrics/roles.json
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from pipeline.extract.coverage_model import write_model_json
from pipeline.extract.lexicon import Lexicon, load_lexicon
from pipeline.extract.roles import CONDITION_ROLES, ROLES, RoleModel, classified_nodes, hash_features, item_names, node_features
from pipeline.extract.structure import split_lines
from pipeline.extract.tree import Node, build_tree, node_text
from pipeline.paths import METRICS_DIR, ROLE_MODEL
from pipeline.quality.evaluation import gold_documents, load_splits
from pipeline.quality.scoring import name_similarity

C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)  # the penalties both classifiers search (roles here, coverage in workflow)
CRITERION_OVERLAP = 0.5  # share of an item's content words found in one gold criterion


def _matches(forms: list[str], entry: dict) -> bool:
    """Whether one of the item's name forms names the gold entry (its name or an alias), by the scorer's rule."""
    gold_forms = [entry["name"], *entry.get("aliases", [])]
    return any(f and g and name_similarity(f, g) > 0 for f in forms for g in gold_forms)


def _content_words(text: str) -> set[str]:
    return {w for w in text.lower().replace(",", " ").replace(";", " ").split() if len(w) > 3}


def _is_gold_criterion(content: str, gold: dict) -> bool:
    """Most of the item's words are in one criterion of a gold indication."""
    mine = _content_words(content)
    if not mine:
        return False
    for entry in gold["indications"]:
        for criterion in entry.get("criteria", []):
            if len(mine & _content_words(criterion)) >= CRITERION_OVERLAP * len(mine):
                return True
    return False


def label_node(node: Node, nodes: dict[int, Node], text: str, gold: dict, lexicon: Lexicon) -> str | None:
    """The role of a node by the gold, or None when the gold leaves it open (an optional indication).

    1. one of its names (item_names) or its opening words name a gold indication -> "exclusion" when that indication
       is not_covered, else "member" when the item is nested under another item, else "indication";
    2. it names an optional indication -> None (not a training example);
    3. in an evidence section -> "background";
    4. most of its words are in a gold criterion -> "criterion";
    5. under a negative lead-in (a denial cue, "the following are not ...") or heading (limitations) -> "limitation";
    6. its lead-in or its own text opens a criteria list -> "criterion";
    7. anything else -> "other".
    """
    content = node_text(text, node)
    forms = [form for name, aliases in item_names(content, lexicon) for form in (name, *aliases)]
    for entry in gold["indications"]:
        if _matches(forms, entry):
            if entry["coverage"] == "not_covered":
                return "exclusion"
            return "member" if node.parent is not None else "indication"
    if any(_matches(forms, entry) for entry in gold.get("optional_indications", [])):
        return None
    if node.section_kind == "evidence":
        return "background"
    lead_in = node_text(text, nodes.get(node.lead_in)).lower()
    heading = node_text(text, nodes.get(node.heading)).lower()
    if _is_gold_criterion(content, gold):
        return "criterion"
    negative_cues = [c.phrase for c in lexicon.cues if c.label == "NEGATIVE"]
    if any(p in lead_in for p in (*lexicon.list_intro_negative, *negative_cues)) or any(p in heading for p in lexicon.heading_negative):
        return "limitation"  # "will be denied ... under any of the following circumstances:" is no criteria list
    if any(p in content.lower() or p in lead_in for p in lexicon.criteria_intro):
        return "criterion"
    return "other"


def labelled_nodes(doc_ids: list[str], lexicon: Lexicon) -> tuple[list[list[str]], list[str]]:
    """Features and gold-derived roles of the classified nodes of the documents that have a gold file."""
    features, labels = [], []
    for _doc_id, document, gold in gold_documents(doc_ids):
        nodes = build_tree(document.text, split_lines(document))
        index = {n.index: n for n in nodes}
        for node in classified_nodes(nodes):
            label = label_node(node, index, document.text, gold, lexicon)
            if label is not None:
                features.append(node_features(node, index, document.text, lexicon))
                labels.append(label)
    return features, labels


def _condition_f1(predicted: list[str], gold: list[str]) -> float:
    """F1 of "names a condition" (indication, member or exclusion) - what extraction uses the roles for."""
    tp = sum(p in CONDITION_ROLES and g in CONDITION_ROLES for p, g in zip(predicted, gold))
    fp = sum(p in CONDITION_ROLES and g not in CONDITION_ROLES for p, g in zip(predicted, gold))
    fn = sum(p not in CONDITION_ROLES and g in CONDITION_ROLES for p, g in zip(predicted, gold))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _estimator(c: float) -> LogisticRegression:
    """The role model's estimator at penalty C (one definition for the search and the final refit)."""
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=0)


def fit_roles(train: tuple[list, list], dev: tuple[list, list]) -> tuple[RoleModel, dict]:
    """Choose C by the dev condition F1 of a fit on train (ties toward the smaller C), then refit on train + dev.

    The report's dev figures are those of the train-only fit. The refit adds the dev documents' nodes: out of fold,
    role models of half the train documents read the other half better with dev added (indications F1 0.831 -> 0.836),
    so the shipped model learns from every non-test document; its dev figures are in-sample for the roles."""
    X_train, X_dev = hash_features(train[0]), hash_features(dev[0])
    scores, models = {}, {}
    for c in C_GRID:
        model = _estimator(c).fit(X_train, train[1])
        models[c], scores[c] = model, _condition_f1(list(model.predict(X_dev)), dev[1])
    best_c = max(C_GRID, key=lambda c: (scores[c], -c))
    best = models[best_c]
    predicted = list(best.predict(X_dev))
    final = _estimator(best_c).fit(sparse.vstack([X_train, X_dev]).tocsr(), [*train[1], *dev[1]])
    fitted = RoleModel(tuple(final.classes_), sparse.csr_matrix(final.coef_), np.asarray(final.intercept_),
                       {"C": best_c, "fit_on": "train + dev"})
    report = {
        "C": best_c,
        "fit_on": "train + dev (C and the dev figures from the train-only fit)",
        "dev_condition_f1_by_C": {str(c): round(s, 4) for c, s in scores.items()},
        "dev_accuracy": round(float(np.mean(np.array(predicted) == np.array(dev[1]))), 4),
        "dev_per_role": _per_role(predicted, dev[1]),
        "train_examples": dict(Counter(train[1])),
        "dev_examples": dict(Counter(dev[1])),
    }
    return fitted, report


def _per_role(predicted: list[str], gold: list[str]) -> dict:
    """Precision/recall of each role on the dev nodes."""
    out = {}
    for role in ROLES:
        tp = sum(p == g == role for p, g in zip(predicted, gold))
        n_pred, n_gold = predicted.count(role), gold.count(role)
        out[role] = {"gold": n_gold, "precision": round(tp / n_pred, 4) if n_pred else None, "recall": round(tp / n_gold, 4) if n_gold else None}
    return out


def train_roles(model_path: Path = ROLE_MODEL, metrics_dir: Path = METRICS_DIR) -> dict:
    """Label the train and dev nodes from the gold, fit, save the model and write its dev metrics."""
    lexicon = load_lexicon()
    splits = load_splits()
    model, report = fit_roles(labelled_nodes(splits["train"], lexicon), labelled_nodes(splits["dev"], lexicon))
    write_model_json(model, model_path)
    metrics_dir.mkdir(parents=True, exist_ok=True)
    (metrics_dir / "roles.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    print(json.dumps(train_roles(), indent=2, sort_keys=True))
