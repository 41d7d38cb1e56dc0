"""The role of each list item and short heading-like line, decided by a trained model over the tree.

A list's lead-in decides what its items are ("is not covered for:" -> not-covered conditions; "when ALL of
the following are met:" -> criteria; "the following conditions:" -> indications). The role model is a
scikit-learn logistic regression over hashed features of the node (its head words, its lead-in, heading
and parent, depth, sibling and child counts, the lexicons' cue phrases in the lead-in and heading),
stored as plain JSON in models/roles/model.json (no pickle). Its roles:

- indication: a condition the list decides on (covered unless the lead-in says otherwise);
- member: a condition listed under a family item (guideline 12.3: the members are the indications);
- exclusion: a condition of an exclusion / contraindication list (a not_covered indication);
- criterion: a requirement of a criteria list, or a criteria lead-in;
- limitation, background, other: anything else (a limitation that names no condition, evidence text, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher

from pipeline.extract.coverage_model import coef_from_json, coef_to_json, read_model_json, write_model_json
from pipeline.extract.indications import PROSE_KINDS, Mention, clean_name, is_condition_like, is_sentence_start, words
from pipeline.extract.lexicon import Lexicon
from pipeline.extract.tree import Node, node_text
from pipeline.paths import ROLE_MODEL as MODEL_PATH

FORMAT_VERSION = 1
ROLES = ("indication", "member", "exclusion", "criterion", "limitation", "background", "other")
CONDITION_ROLES = {"indication": 1.0, "member": 1.0, "exclusion": -1.0}  # role -> the coverage vote it gives
N_FEATURES = 2**15
_HEAD_CUT_RE = re.compile(r":\s|\s[-–—]+\s|[.;]\s|[.;:]$")
_INNER_PAREN_RE = re.compile(r"\s*\(([^()]{2,80})\)")


def _cut_at_clause(text: str, lexicon: Lexicon) -> str:
    """The text before the first criteria clause ("X who ...", "X so that ...", "X, which ...")."""
    lowered = f" {text.lower()} "
    cut = len(text)
    for clause in lexicon.criteria_clause_starts:
        at = lowered.find(f" {clause} ")
        if 0 < at < cut:
            cut = at
    return text[:cut].rstrip(" ,;:")


def item_name(content: str, lexicon: Lexicon) -> tuple[str, list[str]]:
    """The condition an item names (guideline 6): its head phrase before a separator, sentence end or
    criteria clause; defining parentheses ("Cognitive impairment (disorientation or memory loss)") become aliases."""
    sep = _HEAD_CUT_RE.search(content)
    head = content[: sep.start()] if sep else content
    head = _cut_at_clause(head, lexicon)
    lowered = head.lower()
    prefix = next((p for p in lexicon.name_prefixes if lowered.startswith(p + " ")), None)
    if prefix:  # "to rule out stenosis before ...": the condition follows the purpose
        head = re.sub(r"^(?:the|a|an)\s+", "", head[len(prefix) :].strip(), flags=re.I)
    inner = [m.group(1).strip() for m in _INNER_PAREN_RE.finditer(head) if not m.group(1).strip().isupper()]
    head = _INNER_PAREN_RE.sub(lambda m: m.group(0) if m.group(1).strip().isupper() else "", head)
    name, _abbreviation, aliases = clean_name(head)
    if len(words(name)) > 16:
        return "", []
    return name, [*aliases, *inner]


def _flags(text: str, lexicon: Lexicon, prefix: str) -> list[str]:
    """Cue features of a lead-in or heading: which lexicon lists its words come from."""
    lowered = text.lower()
    lists = {
        "criteria": lexicon.criteria_intro,
        "alternatives": lexicon.alternatives_intro,
        "positive": lexicon.list_intro_positive,
        "negative": lexicon.list_intro_negative,
        "head_positive": lexicon.heading_positive,
        "head_negative": lexicon.heading_negative,
    }
    out = [f"{prefix}:{name}" for name, phrases in lists.items() if any(p in lowered for p in phrases)]
    for cue in lexicon.cues:
        if cue.phrase in lowered:
            out.append(f"{prefix}:cue_{cue.label}")
    if lowered.rstrip().endswith(":"):
        out.append(f"{prefix}:colon")
    return out


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    """The first edge n does not exceed (or "more")."""
    return next((str(e) for e in edges if n <= e), "more")


def node_features(node: Node, nodes: dict[int, Node], text: str, lexicon: Lexicon) -> list[str]:
    """String features of one node: its words, its lead-in's, heading's and parent's words and cues, its shape."""
    content = node_text(text, node)
    lead_in, heading = nodes.get(node.lead_in), nodes.get(node.heading)
    name, _ = item_name(content, lexicon)
    head_words = words(content)[:10]
    features = [f"kind={node.kind}", f"section={node.section_kind}", f"depth={_bucket(max(node.depth, 0), (0, 1, 2))}",
                f"siblings={_bucket(node.siblings, (0, 1, 3, 8))}", f"children={_bucket(node.children, (0, 2))}",
                f"words={_bucket(len(words(content)), (3, 6, 12, 25))}", f"name_words={_bucket(len(words(name)), (0, 2, 4, 8))}",
                f"lead_kind={lead_in.kind if lead_in else 'none'}", f"upper={content[:1].isupper()}",
                f"condition={bool(name) and is_condition_like(name, lexicon)}", f"digits={any(c.isdigit() for c in content)}",
                f"ends={content[-1:]}", f"verb={any(w in lexicon.verb_stops for w in words(name))}"]
    features += [f"w:{w}" for w in head_words] + [f"first:{w}" for w in head_words[:2]]
    features += _flags(content, lexicon, "self")
    for prefix, other in (("lead", lead_in), ("head", heading)):
        other_text = node_text(text, other)
        features += [f"{prefix}:{w}" for w in words(other_text)[-12:]] + _flags(other_text, lexicon, prefix)
    return features


def classified_nodes(nodes: list[Node]) -> list[Node]:
    """The nodes that get a role: list items and heading-like lines outside the statute/coding sections."""
    return [n for n in nodes if n.section_kind != "other" and n.kind in ("item", "heading")]


@dataclass(frozen=True)
class RoleModel:
    """A fitted multinomial logistic regression over hashed node features, in plain arrays."""

    classes: tuple[str, ...]
    coef: sparse.csr_matrix  # n_classes x N_FEATURES
    intercept: np.ndarray
    metadata: dict

    def predict(self, features: list[list[str]]) -> list[str]:
        """The most probable role of each node."""
        if not features:
            return []
        scores = (hash_features(features) @ self.coef.T).toarray() + self.intercept
        return [self.classes[int(i)] for i in scores.argmax(axis=1)]

    def to_json(self) -> dict:
        """The plain, versioned representation written to models/roles/model.json."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": "multinomial logistic regression over hashed tree features of list items and headings",
            "classes": list(self.classes),
            "n_features": N_FEATURES,
            "intercept": [round(float(x), 6) for x in self.intercept],
            "coef": coef_to_json(self.coef, 1e-5),
            "metadata": self.metadata,
        }

    @classmethod
    def from_json(cls, data: dict) -> RoleModel:
        """Load and validate the JSON form; other features or roles are an error, not a guess."""
        if data.get("format_version") != FORMAT_VERSION or data.get("n_features") != N_FEATURES:
            raise ValueError("role model was written for other features; retrain it (python -m pipeline.training.roles)")
        classes = tuple(data["classes"])
        if not set(classes) <= set(ROLES):
            raise ValueError(f"role model has unknown roles {sorted(set(classes) - set(ROLES))}")
        return cls(classes, coef_from_json(data["coef"], (len(classes), N_FEATURES)), np.array(data["intercept"]), data.get("metadata", {}))


def hash_features(features: list[list[str]]) -> sparse.csr_matrix:
    """The hashed binary feature matrix of the nodes' string features."""
    return FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False).transform(features).tocsr()


@lru_cache(maxsize=4)
def load_role_model(path: Path = MODEL_PATH) -> RoleModel | None:
    """The committed role model, or None when there is none (written by pipeline.training.roles)."""
    return read_model_json(RoleModel, path)


def predict_roles(model: RoleModel, nodes: list[Node], text: str, lexicon: Lexicon) -> dict[int, str]:
    """Line index -> role of every classified node."""
    index = {n.index: n for n in nodes}
    targets = classified_nodes(nodes)
    return dict(zip((n.index for n in targets), model.predict([node_features(n, index, text, lexicon) for n in targets])))


def _descendants_end(node: Node, nodes: list[Node], position: dict[int, int]) -> int:
    """End offset of an item's last descendant (its own end when it has none): the item's scope in the tree."""
    end = node.end
    for nxt in nodes[position[node.index] + 1 :]:
        if not nxt.is_item or nxt.depth <= node.depth or nxt.section_name != node.section_name:
            break
        end = nxt.end
    return end


def _may_name_condition(node: Node, index: dict[int, Node], heads_on: dict[int, list[Mention]], text: str) -> bool:
    """Whether a condition-role node may become a new mention: a list item that introduces no list of its own
    ("Located in the following areas:" is a lead-in), not nested under an item the rules already read as an
    indication unless that item introduces its members with ":" (sub-items of "Condition (ABBR) - ..." are its
    criteria and doses; guideline 12.3)."""
    if not node.is_item or (node.children and node_text(text, node).endswith(":")):
        return False
    parent = index.get(node.parent) if node.parent is not None else None
    return parent is None or parent.index not in heads_on or node_text(text, parent).endswith(":")


def _is_name(name: str, lexicon: Lexicon) -> bool:
    """A cut item name that can name a condition: a condition word or two words, no verb, no comparator, not a
    population word, a clause or a limit ("At least 100 days post transplant")."""
    tokens = words(name)
    lowered = name.lower()
    return (
        bool(tokens)
        and len(name) >= 4
        and (len(tokens) >= 2 or is_condition_like(name, lexicon))
        and not re.search(r"[<>≤≥=]", name)
        and not any(lowered.startswith(p + " ") for p in lexicon.criteria_openers)
        and not any(w in lexicon.verb_stops for w in tokens)
        and not (len(tokens) == 1 and tokens[0] in lexicon.population_words)
        and not is_sentence_start(name)
    )


def apply_roles(mentions: list[Mention], nodes: list[Node], roles: dict[int, str], text: str, lexicon: Lexicon) -> list[Mention]:
    """The mentions with the tree's decisions applied.

    - a condition item (indication, member, exclusion) the rules missed becomes an item mention named by
      `item_name`, its coverage vote from the role, its scope the item and its sub-items (doses and
      thresholds written under an item attach to it);
    - a rule head mention on such a line without a list vote takes the role's (an exclusion list's items are not covered);
    - head mentions on the lead-in of a list whose items are conditions ("the following conditions:"), and on
      criteria lines unless they read as a condition name, are dropped ("At least 75% reduction of pain").
    """
    position = {n.index: i for i, n in enumerate(nodes)}
    index = {n.index: n for n in nodes}
    condition_lines = {line for line, role in roles.items() if role in CONDITION_ROLES}
    lead_ins = {index[line].lead_in for line in condition_lines if index[line].lead_in is not None} - condition_lines
    lead_ins = {line for line in lead_ins if node_text(text, index[line]).endswith(":")}  # "Condition - text" items lead their doses
    heads_on = {}
    for m in mentions:
        if m.kind not in PROSE_KINDS:
            heads_on.setdefault(m.line, []).append(m)
    criteria_lines = {line for line, role in roles.items() if role == "criterion"}
    kept = [
        m for m in mentions
        if m.kind in PROSE_KINDS
        or not (m.line in lead_ins or (m.line in criteria_lines and not (is_condition_like(m.name, lexicon) and _is_name(m.name, lexicon))))
    ]  # a criteria line the lexicon reads as a condition name stays: the model errs more than a named condition
    for line in sorted(condition_lines):
        node, vote = index[line], CONDITION_ROLES[roles[line]]
        if line in heads_on:
            for m in heads_on[line]:
                m.list_vote = m.list_vote or vote  # a vote the rules read off the list stays
            continue
        if not _may_name_condition(node, index, heads_on, text):
            continue
        name, aliases = item_name(node_text(text, node), lexicon)
        if not _is_name(name, lexicon):
            continue
        start = node.start + max(text.find(name, node.start, node.end) - node.start, 0)
        mention = Mention(name, start, start + len(name), line, "item", node.section_kind, None, aliases)
        mention.list_vote = vote
        mention.scope = (node.start, _descendants_end(node, nodes, position) if node.is_item else node.end)
        kept.append(mention)
    return kept
