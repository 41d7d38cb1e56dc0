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
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher

from pipeline.extract.coverage_model import coef_from_json, coef_to_json, read_model_json, write_model_json
from pipeline.extract.indications import (
    PROSE_KINDS, Mention, clean_name, denies_its_items, first_cell, head_word, is_condition_like, is_sentence_start, list_intro_vote,
    treats_an_outcome, words,
)
from pipeline.extract.lexicon import Lexicon
from pipeline.extract.tree import Node, node_text
from pipeline.paths import ROLE_MODEL as MODEL_PATH
from pipeline.text import fold

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
        found = re.search(rf"\s{re.escape(clause)}[\s,]", lowered)  # "including, but not limited to"
        at = found.start() if found else -1
        if 0 < at < cut:
            cut = at
    head = text[:cut].rstrip(" ,;:")
    if cut < len(text):  # "Arteriography, during which ...": the clause's preposition goes with it
        while (last := head.rsplit(None, 1)) and len(last) == 2 and last[1].lower() in lexicon.mention_stops:
            head = last[0].rstrip(" ,;:")
    return head


# Where an item's head joins conditions (guideline 12.2): commas, semicolons, "or", "and", "and/or", "X/ Y".
_COORDINATION_RE = re.compile(r"\s*[,;]\s*(?:and/or\s+|and\s+|or\s+)?|\s+(?:and/or|or|and|&)\s+|\s*/\s+", re.I)
_PREPOSITIONS = frozenset({"of", "in", "with", "to", "for", "from", "on"})  # a phrase with one is no bare head to share
_FOOTNOTE_RE = re.compile(r"(?<=\w)\*+(?=\s|$)")  # "contraindication to CCTA*", "Intermediate risk* patients": a footnote marker
_SEMICOLON_LIST_RE = re.compile(r";\s+(?:or|and|and/or)\s", re.I)
_COMPARATIVE_RE = re.compile(r"(?:more|less|fewer|greater|higher|lower|equal|above|below|over|under)\b", re.I)
_ADJECTIVE_ENDINGS = ("ar", "al", "ic", "ous", "ive", "ary")  # "of acetabular or proximal femur fracture": a shared head follows
_ARTICLES = frozenset({"the", "a", "an"})
_ARTICLE_RE = re.compile(rf"^(?:{'|'.join(sorted(_ARTICLES))})\s+", re.I)
_STATE_PREPOSITION_RE = re.compile(r"^(?:on|with)\s+(?=\S)", re.I)
_SHARED_TAIL_RE = re.compile(r"^([\w'’-]+)(\s+of\s+.+)$", re.I)  # "pain or swelling of the scrotum": "of ..." is shared


def _subject_clause(content: str, lexicon: Lexicon) -> tuple[str, bool]:
    """An item that states its condition as a clause about its subject ("patients whose primary problem is a physical
    health problem ..."): the clause without the subject (guideline 12.23), and whether it was one."""
    lowered = content.lower()
    lead = next((lead for lead in _subject_leads(lexicon.population_words, lexicon.subject_clause_openers) if lowered.startswith(lead)), None)
    if lead is None:
        return content, False
    return _ARTICLE_RE.sub("", content[len(lead) :].strip()), True


@lru_cache(maxsize=8)
def _subject_leads(population_words: frozenset[str], openers: tuple[str, ...]) -> tuple[str, ...]:
    """Every "(the) <population word> <clause opener> " a subject item may open with, built once per word list
    (items are read thousands of times per document batch)."""
    return tuple(f"{the}{word} {opener} " for word in population_words for opener in openers for the in ("the ", ""))


_SERVICE_SUBJECT_WORDS = 3  # "CRT in patients with X": at most this many words name the service before its population


def _service_subject_end(head: str, lexicon: Lexicon) -> int:
    """Where a short service subject and its population phrase end ("CRT in patients with X" -> before "X"), else 0:
    a name prefix naming a population ("in patients with") after one to three words without a verb."""
    lowered = head.lower()
    for prefix in lexicon.name_prefixes:
        if not set(prefix.split()) & lexicon.population_words:
            continue
        at = lowered.find(f" {prefix} ")
        lead = words(head[:at]) if at > 0 else []
        # an article alone is no service ("The beneficiary has been diagnosed with X" is read by the prefixes)
        if set(lead) - _ARTICLES and len(lead) <= _SERVICE_SUBJECT_WORDS and not set(lead) & (lexicon.verb_stops | lexicon.population_words):
            return at + len(prefix) + 2
    return 0


def _subject_stripped(head: str, lexicon: Lexicon) -> str:
    """The head without its leading subject or purpose ("Patients with known or suspected X" -> "X", "CRT in patients
    with X" -> "X"), repeatedly."""
    head = head[_service_subject_end(head, lexicon) :]
    while True:
        lowered = head.lower()
        prefix = next((p for p in lexicon.name_prefixes if lowered.startswith(p + " ")), None)
        if prefix is None:
            return head
        head = _ARTICLE_RE.sub("", head[len(prefix) :].strip())


def _stands_alone(part: str, lexicon: Lexicon) -> bool:
    """A coordinated part that can be named alone: a condition word, or two words that are not an adjective
    sharing the next part's head ("acetabular or proximal femur fracture", "second or third degree block")."""
    tokens = words(part)
    if is_condition_like(part, lexicon):
        return True
    return len(tokens) >= 2 and not tokens[-1].endswith(_ADJECTIVE_ENDINGS)


def _shares_head(first: str, second: str, lexicon: Lexicon) -> bool:
    """Whether two short noun phrases joined by "or"/"and" share the second one's head word: the first names no
    condition and is two or three plain words ("Active urinary tract or dental infection"), the second at most three."""
    tokens, rest = words(first), words(second)
    return (2 <= len(tokens) <= 3 and len(rest) <= 3 and "," not in first and not is_condition_like(first, lexicon)
            and is_condition_like(rest[-1], lexicon) and not any(t in lexicon.mention_stops or t == "the" for t in tokens))


def _shares_rest(word: str, joiner: str, part: str, lexicon: Lexicon) -> bool:
    """Whether a bare modifier joined by "or"/"and" to a phrase of two or more words without a preposition shares
    that phrase's rest ("Pregnant and lactating women"), not a condition word of its own ("Pain or swelling")."""
    tokens = words(part)
    return (len(words(word)) == 1 and joiner.strip().lower() in ("or", "and", "and/or") and not is_condition_like(word, lexicon)
            and len(tokens) >= 2 and not any(t in _PREPOSITIONS for t in tokens))


# an upper-case "OR"/"AND" of list logic opening a participle clause, not a second condition
_LOGIC_CLAUSE_RE = re.compile(r"\s+(?:OR|AND)\s+(?=[a-z]+(?:ed|ing)\b)")


# a severity grade written as a label and a number ("stage 3", "Class IIb") and the grade joined to it
_GRADE_END_RE = re.compile(r"\b(?:stage|class|grade)\s+(?:[IVX]+|\d{1,2})[A-Ca-c]?$", re.I)
_GRADE_NEXT_RE = re.compile(r"(?:(?:stage|class|grade)\s+)?(?:[IVX]+|\d{1,2})[A-Ca-c]?\b", re.I)


def coordinated_parts(head: str, lexicon: Lexicon) -> list[str]:
    """The conditions a joined head names, one per part that can be named alone (guideline 12.2): a part that
    cannot ("Absent or impaired sensation", "Swelling of the extremity, face or neck") stays with its neighbour;
    a shared "of ..." tail goes to bare words before it ("Pain or swelling of scrotal contents"), a shared head
    to a first part that names none ("Active urinary tract or dental infection") and a shared modifier to bare
    head words ("gastrointestinal obstruction, stricture, or fistula")."""
    clause = _LOGIC_CLAUSE_RE.search(head)
    if clause:
        head = head[: clause.start()]  # "Symptoms upon exposure to the allergen OR inferred when ...": the rest is a clause
    spans, at = [], 0
    for sep in _COORDINATION_RE.finditer(head):
        if _COMPARATIVE_RE.match(head, sep.end()):
            continue  # "in one or more extremities", "greater than or equal to 5": a count or a comparator, not two conditions
        if _GRADE_END_RE.search(head, 0, sep.start()) and _GRADE_NEXT_RE.match(head, sep.end()):
            continue  # "stage 3 or stage 4 pressure ulcer": one condition over a range of grades (12.5), not two
        if not re.search(r"[,;]", sep.group()) and any(f" {q} " in f" {head[at : sep.start()].lower()} " for q in lexicon.qualifier_openers):
            continue  # "Dyspnea without cor pulmonale or evidence of hypoxemia": the "or" joins the qualifier, up to a comma
        if sep.start() > at:
            spans.append((at, sep.start()))
        at = sep.end()
    if at < len(head):
        spans.append((at, len(head)))
    groups: list[tuple[int, int]] = []
    pending: list[tuple[int, int]] = []  # the parts waiting for a part that stands alone
    modified: dict[int, str] = {}  # group index -> its text read with the shared words
    for start, end in spans:
        part = head[start:end]
        if not _stands_alone(part, lexicon):
            pending.append((start, end))
            continue
        if len(pending) == 1 and _shares_rest(head[pending[0][0] : pending[0][1]], head[pending[0][1] : start], part, lexicon):
            # "Pregnant and lactating women", "second or third degree AV block": one condition per modifier (12.2)
            modified[len(groups)] = f"{head[pending[0][0] : pending[0][1]]} {part.split(maxsplit=1)[1]}"
            groups.append(pending[0])
        else:
            start = pending[0][0] if pending else start
        groups.append((start, end))
        pending = []
    if pending:
        groups = [*groups[:-1], (groups[-1][0], len(head))] if groups else [(0, len(head))]
    parts = [modified.get(i, head[s:e]).strip(" ,;") for i, (s, e) in enumerate(groups)]
    if len(parts) < 2:
        return parts
    tail = _SHARED_TAIL_RE.match(parts[-1])
    if tail and all(len(p.split()) == 1 for p in parts[:-1]):
        return [*(p + tail.group(2) for p in parts[:-1]), parts[-1]]
    if len(parts) == 2 and _shares_head(parts[0], parts[1], lexicon):
        return [f"{parts[0]} {parts[1].split()[-1]}", parts[1]]  # "Active urinary tract or dental infection": a shared head
    first = parts[0].split()
    if len(first) >= 2 and all(len(p.split()) == 1 and is_condition_like(p, lexicon) for p in parts[1:]):
        modifier = " ".join(first[:-1])
        return [parts[0], *(f"{modifier} {p}" for p in parts[1:])]
    return parts


def item_names(content: str, lexicon: Lexicon, denied: bool = False) -> list[tuple[str, list[str]]]:
    """The conditions an item names (guideline 6, 12.2): its head phrase before a separator, sentence end or
    criteria clause, without its subject ("Patients with ..."), split at its coordinations; defining parentheses
    ("Cognitive impairment (disorientation or memory loss)") become aliases, the joined form an alias of the first;
    `denied`: the item is one of an exclusion list, whose absences are names ("Absence of clinically relevant IgE")."""
    content = _subject_clause(first_cell(content), lexicon)[0]  # a table row is named by its first cell
    sep = _HEAD_CUT_RE.search(content)
    head = content[: sep.start()] if sep else content
    sentence = re.split(r"[.:]\s|[.:]$", content, maxsplit=1)[0]
    if sep and sep.group().startswith(";") and _SEMICOLON_LIST_RE.search(sentence):
        head = sentence  # "Torsion of the spermatic cord; acute epididymitis or epididymoorchitis; or torsion of ...": one list
    head = _subject_stripped(_cut_at_clause(head, lexicon), lexicon)
    # a parenthesis is another name only when it names a condition ("(disorientation or memory loss)", not "(renal, hepatic)")
    inner = [m.group(1).strip() for m in _INNER_PAREN_RE.finditer(head)
             if not m.group(1).strip().isupper() and is_condition_like(m.group(1), lexicon)]
    head = _INNER_PAREN_RE.sub(lambda m: m.group(0) if m.group(1).strip().isupper() else "", head)
    bare = words(re.sub(r"\([^()]*\)", " ", head))
    if bare and bare[-1] in lexicon.instrument_words:
        return []  # "Hip Disability and Osteoarthritis Outcome Score (HOOS)": an instrument, not the conditions it scores
    parts = coordinated_parts(head, lexicon)
    out = []
    for i, part in enumerate(parts):
        part = _FOOTNOTE_RE.sub("", part)
        if i:  # "X or on chronic inotropic therapy or with LV assist devices in place": the subject's other states
            part = _STATE_PREPOSITION_RE.sub("", part)
        name, _abbreviation, aliases = clean_name(part, alternatives=False, negated=denied)
        if not name or len(words(name)) > 16:
            if i == 0:
                return []  # a sentence, not a list of names: its later commas join no conditions
            continue
        if i == 0 and len(parts) > 1:
            aliases = [*aliases, clean_name(head, alternatives=False)[0]]
        out.append((name, [*aliases, *inner] if i == 0 else aliases))
    return out


def item_name(content: str, lexicon: Lexicon) -> tuple[str, list[str]]:
    """The first condition an item names (`item_names`), or ("", []) when it names none."""
    names = item_names(content, lexicon)
    return names[0] if names else ("", [])


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


def _is_name(name: str, lexicon: Lexicon, whole_item: bool = False, clause: bool = False) -> bool:
    """A cut item name that can name a condition: a condition word or two words (any word when it is the whole
    item: "- Hemorrhoids;", "- Pre-eclampsia"), no verb (unless it is the clause a subject item states: "patients
    whose ..."), no comparator, not a population word, a clause or a limit ("At least 100 days post transplant")."""
    tokens = words(name)
    lowered = name.lower()
    return (
        bool(tokens)
        and len(name) >= 4
        and (len(tokens) >= 2 or whole_item or is_condition_like(name, lexicon))
        and not re.search(r"[<>≤≥=]", name)
        and not any(lowered.startswith(p + " ") for p in lexicon.criteria_openers)
        and (clause or not any(w in lexicon.verb_stops for w in tokens))
        and not (len(tokens) == 1 and tokens[0] in lexicon.population_words)
        and tokens[0] not in lexicon.mention_stops  # "with weight loss", "following surgery": a clause's tail, not a name
        and not is_sentence_start(name)
    )


def _lead_negative(lead: Node | None, text: str, lexicon: Lexicon, cue_vote: Callable[[int, int], float] | None) -> bool:
    """Whether a list's lead-in denies its items: a negative list phrase ("the following contraindications"), or, read
    as the rules read a list introduction (`list_intro_vote`, with its coverage cues), a denial ("It is not reasonable
    and medically necessary to provide ... to the following types of patients:"), not one with exceptions ("... except:")
    or one whose items coverage requires ("denied unless all of the following are met:", `denies_its_items`)."""
    lowered = node_text(text, lead).lower()
    if any(p in lowered for p in lexicon.list_intro_negative):
        return True
    vote = _lead_vote(lead, text, lexicon, cue_vote)
    return vote is not None and vote < 0 and denies_its_items(node_text(text, lead), lexicon, cue_vote(lead.start, lead.end))


def _lead_vote(lead: Node | None, text: str, lexicon: Lexicon, cue_vote: Callable[[int, int], float] | None) -> float | None:
    """How a list's lead-in reads as a list introduction (`list_intro_vote` with its coverage cues); None without one."""
    if lead is None or cue_vote is None:
        return None
    return list_intro_vote(node_text(text, lead), lexicon, cue_vote(lead.start, lead.end), opens_sublist=lead.is_item)


def apply_roles(mentions: list[Mention], nodes: list[Node], roles: dict[int, str], text: str, lexicon: Lexicon,
                cue_vote: Callable[[int, int], float] | None = None) -> list[Mention]:
    """The mentions with the tree's decisions applied.

    - a condition item (indication, member, exclusion) the rules missed becomes an item mention named by
      `item_name`, its coverage vote from the role, its scope the item and its sub-items (doses and
      thresholds written under an item attach to it);
    - a rule head mention on such a line without a list vote takes the role's (an exclusion list's items are not covered);
    - head mentions on the lead-in of a list whose items are conditions ("the following conditions:"), and on
      criteria lines unless they read as a condition name, are dropped ("At least 75% reduction of pain").
    `cue_vote(start, end)`, the summed coverage cues of a span, lets a lead-in deny its items by its cues too.
    """
    position = {n.index: i for i, n in enumerate(nodes)}
    index = {n.index: n for n in nodes}
    lists = _leaf_lists(nodes)
    alternatives = {lead: _disjunctive(items, text) for lead, items in lists.items()}
    roles = _covering_list_items(_denied_items_excluded(roles, index, text, lexicon, cue_vote), index, lists, text, lexicon, cue_vote)
    condition_lines = {line for line, role in roles.items() if role in CONDITION_ROLES}
    lead_ins = {index[line].lead_in for line in condition_lines if index[line].lead_in is not None} - condition_lines
    lead_ins = {line for line in lead_ins if node_text(text, index[line]).endswith(":")}  # "Condition - text" items lead their doses
    heads_on: dict[int, list[Mention]] = {}
    prose_on: dict[int, list[Mention]] = {}
    for m in mentions:
        (prose_on if m.kind in PROSE_KINDS else heads_on).setdefault(m.line, []).append(m)
    criteria_lines = {line for line, role in roles.items() if role == "criterion"}
    kept = [
        m for m in mentions
        if m.kind in PROSE_KINDS
        or not (m.line in lead_ins or (m.line in criteria_lines and not (is_condition_like(m.name, lexicon) and _is_name(m.name, lexicon))))
    ]  # a criteria line the lexicon reads as a condition name stays: the model errs more than a named condition
    for line in sorted(condition_lines):
        node, vote = index[line], CONDITION_ROLES[roles[line]]
        lead_negative = _lead_negative(index.get(node.lead_in), text, lexicon, cue_vote)
        if lead_negative:
            vote = -1.0  # "when the following contraindications are present:": the lead-in decides its items, whatever the role
        elif node.section_kind != "policy" and not _decides(node_text(text, index.get(node.lead_in)).lower(), lexicon):
            # a background list ("risk factors include:", "secondary causes include the following:") decides nothing;
            # its items with no other cue are then no indications (extractor.undecided_in_background)
            vote = 0.0
        if line in heads_on:
            for m in heads_on[line]:
                m.list_vote = vote if vote < 0 and lead_negative else (m.list_vote or vote)  # a vote the rules read off the list stays
            kept += _refined_heads(heads_on[line], prose_on.get(line, []), node, text, lexicon)
            continue
        if not _may_name_condition(node, index, heads_on, text):
            continue
        scope = (node.start, _descendants_end(node, nodes, position) if node.is_item else node.end)
        lead_text = node_text(text, index.get(node.lead_in)).lower()
        conditions = _item_conditions(node_text(text, node), lexicon, denied=vote < 0)
        treatment_parts, joined_by_or = _lists_treatments(lead_text, lexicon), alternatives.get(node.lead_in, False)
        may_name = [_model_may_name(name, lead_text, lexicon, treatment_parts, joined_by_or) for name, _ in conditions]
        # a part joined to a condition keeps its own state ("Bleeding disorders and anticoagulant therapy"); under a
        # treatment's parts the head decides ("Nonpharmacologic therapy (such as ... weight loss ...)": its examples)
        if not any(may_name) or (treatment_parts and not may_name[0]):
            continue
        for name, aliases in conditions:
            mention = _item_mention(name, aliases, node, text)
            mention.list_vote, mention.scope = vote, scope
            kept.append(mention)
    return kept


def _denied_items_excluded(roles: dict[int, str], index: dict[int, Node], text: str, lexicon: Lexicon,
                           cue_vote: Callable[[int, int], float] | None) -> dict[int, str]:
    """The roles with every leaf item of a denying list an exclusion: under "The following are considered not
    reasonable and necessary:" each item names what is denied, however it is worded ("The beneficiary has
    coexisting pulmonary disease"), and the lead-in says so more surely than the model reads a wording it never saw."""
    out = dict(roles)
    denies: dict[int | None, bool] = {}  # lead-in line -> whether it denies its items, read once per list
    for line, role in roles.items():
        node = index[line]
        if role in CONDITION_ROLES or not node.is_item or node.children:
            continue
        if node.lead_in not in denies:
            denies[node.lead_in] = _lead_negative(index.get(node.lead_in), text, lexicon, cue_vote)
        if denies[node.lead_in]:
            out[line] = "exclusion"
    return out


def _covering_lead(lead: Node | None, text: str, lexicon: Lexicon, cue_vote: Callable[[int, int], float] | None) -> bool:
    """Whether a list's lead-in covers its items as conditions: it reads as covering (`_lead_vote`) and opens no list
    of criteria that must all hold ("when all of the following criteria are met:"); "one of the following
    conditions:" offers alternatives, each a condition."""
    vote = _lead_vote(lead, text, lexicon, cue_vote)
    if vote is None or vote <= 0:
        return False
    lowered = node_text(text, lead).lower()
    return not any(p in lowered for p in lexicon.criteria_intro if p not in lexicon.alternatives_intro)


def _introduces_members(lead_in: str, lexicon: Lexicon) -> bool:
    """"IVIG is covered for autoimmune blistering diseases, including:": a lead-in naming a condition and then its
    members (`member_intro` words right before the colon)."""
    body = lead_in.rstrip().rstrip(":").rstrip()
    for phrase in lexicon.member_intro:
        if body.lower().endswith(" " + phrase):
            named = body[: -len(phrase)].rstrip(" ,")
            return is_condition_like(" ".join(words(named)[-4:]), lexicon)
    return False


def _leaf_lists(nodes: list[Node]) -> dict[int, list[Node]]:
    """Lead-in line -> the leaf items it introduces, in document order: one list as the tree writes it."""
    lists: dict[int, list[Node]] = {}
    for node in nodes:
        if node.is_item and not node.children and node.lead_in is not None:
            lists.setdefault(node.lead_in, []).append(node)
    return lists


def _covering_list_items(roles: dict[int, str], index: dict[int, Node], lists: dict[int, list[Node]], text: str,
                         lexicon: Lexicon, cue_vote: Callable[[int, int], float] | None) -> dict[int, str]:
    """The roles with the leaf items of a covering list of conditions read as one list: under "HBO therapy is covered
    for the following conditions:" an item the model reads as a criterion ("Gas gangrene", among four it reads as
    indications) names a covered condition when most of its siblings do; under a lead-in that names a condition and
    introduces its members ("... autoimmune blistering diseases, including:") every item is a member. The item's name
    must still pass the name filters (`_item_conditions`, `_model_may_name`)."""
    out = dict(roles)
    for lead_line, leaves in lists.items():
        items = [n.index for n in leaves if n.index in roles]
        lead = index[lead_line]
        if not _covering_lead(lead, text, lexicon, cue_vote):
            continue
        if _introduces_members(node_text(text, lead), lexicon):
            out.update({line: "member" for line in items if roles[line] not in CONDITION_ROLES})
            continue
        named = [roles[line] for line in items if roles[line] in CONDITION_ROLES]
        if len(items) >= 3 and 2 * len(named) > len(items):
            majority = max(set(named), key=named.count)
            out.update({line: majority for line in items if roles[line] not in CONDITION_ROLES and roles[line] != "background"})
    return out


_ENDS_IN_OR_RE = re.compile(r"\bor\s*$", re.I)
_MARK_END_RE = re.compile(r"(?:\^[\d,\-–]+|\*+|[\s,;])+$")  # footnote marks and punctuation before the joiner
_TREATMENT_TO_INCLUDES = 100  # characters: "treatment as clinically appropriate for ... typically includes"


@lru_cache(maxsize=4)
def _treatment_parts_re(treatment_words: frozenset[str]) -> re.Pattern[str]:
    """A treatment word, then "include(s)" / "consist(s)" / "are" / "(is) defined (as)" in the same clause, built once
    per word list."""
    words_alt = "|".join(re.escape(w) for w in sorted(treatment_words, key=len, reverse=True))
    return re.compile(rf"\b(?:{words_alt})\b[^:.]{{0,{_TREATMENT_TO_INCLUDES}}}?\b(?:include|includes|including|consist|consists|consisting|are|defined)\b")


def _lists_treatments(lead_in: str, lexicon: Lexicon) -> bool:
    """Whether a lower-cased lead-in enumerates a treatment's parts: a treatment word, then within its clause
    "include(s)", "consist(s) of", "are" or "defined as" ("Non-surgical treatment ... typically includes one or more of
    the following:", "Conservative therapy is defined as:")."""
    return _treatment_parts_re(lexicon.treatment_words).search(lead_in) is not None


def _disjunctive(items: list[Node], text: str) -> bool:
    """Whether a list's leaf items are alternatives joined by "or" ("Monitoring for arrhythmic events pre/post-TAVR OR"):
    three or more, all but the last ending in "or" (one shared one may end in "AND"), whatever the lead-in calls
    them ("when the following criteria are met:" then A OR B OR C offers each as a reason of its own)."""
    ends = [bool(_ENDS_IN_OR_RE.search(_MARK_END_RE.sub("", node_text(text, n)))) for n in items]
    return len(ends) >= 3 and sum(ends[:-1]) >= len(ends) - 2


def _model_may_name(name: str, lead_in: str, lexicon: Lexicon, treatment_parts: bool = False, alternatives: bool = False) -> bool:
    """Whether an item the rules did not read as a condition may become one on the role model's word. On documents
    it never saw, the model calls the treatments, programs and bodies of a criteria list indications ("supervised
    physical therapy", "home exercise program", "American College of Radiology"); such a name stays out: one stating
    how a treatment went ("Poor response to pharmacotherapy", `treats_an_outcome`), one headed
    by a service, drug or organisation word with no condition word (a history such as "Prior placement of grafts"
    is a state, and so is a drug exposure such as "Cisplatin treatment" outside a criteria list), one under a lead-in
    that enumerates a treatment's parts (`treatment_parts`: "The components of the conservative therapy include:",
    `_lists_treatments`) that names no condition, or one under a criteria lead-in
    ("... all of the following criteria:") that names no condition, unless the items are alternatives joined by "or"
    (`alternatives`, `_disjunctive`)."""
    tokens = words(name)
    if treats_an_outcome(tokens, lexicon):
        return False
    if treatment_parts and not is_condition_like(name, lexicon):
        return False  # "The components of the conservative therapy include:" - weight reduction, leg elevation
    criteria_lead_in = any(p in lead_in for p in lexicon.criteria_intro)
    if head_word(name) in lexicon.not_conditions and not any(t in lexicon.condition_heads for t in tokens):
        # an exposure in a list of indications ("- Cisplatin treatment" among the patients to test) is a state of the
        # patient; under a criteria lead-in a treatment is one tried or required, not an indication
        exposure = head_word(name) in lexicon.treatment_words and len(tokens) >= 2 and not criteria_lead_in
        if not (name.lower().startswith(lexicon.history_openers) or exposure):
            return False
    return is_condition_like(name, lexicon) or alternatives or not criteria_lead_in


def _decides(lead_in: str, lexicon: Lexicon) -> bool:
    """Whether a list's lower-cased lead-in says something about coverage (a list-intro phrase or a coverage cue)."""
    phrases = (*lexicon.list_intro_positive, *lexicon.list_intro_negative, *lexicon.list_intro_exception)
    return any(p in lead_in for p in phrases) or any(cue.phrase in lead_in for cue in lexicon.cues)


def _item_conditions(content: str, lexicon: Lexicon, denied: bool = False) -> list[tuple[str, list[str]]]:
    """The item's names that may become mentions: the first when it can name a condition (`_is_name`), a further
    coordinated part when the lexicon reads it as a condition or most parts are conditions ("Bladder cancer,
    neurogenic bladder, bladder calculus"), not in a joined requirement ("driving, or meeting vocational needs")."""
    names = item_names(content, lexicon, denied)
    bare = _INNER_PAREN_RE.sub("", content)  # "Screening (in the absence of signs, symptoms, or disease)" is a one-word item
    whole = len(names) == 1 and fold(names[0][0]) == fold(clean_name(bare, alternatives=False)[0])
    clause = _subject_clause(content, lexicon)[1]
    named = [_is_name(n, lexicon, whole, clause) for n, _ in names]
    conditions = [ok and is_condition_like(n, lexicon) for ok, (n, _) in zip(named, names)]
    # a further part of an item that opens with a clause ("when records fail to document X and Y") must be a condition
    most = bool(named) and named[0] and 2 * sum(conditions) > len(names)
    head_word = words(names[0][0])[-1:] if names else []
    # a part with the first one's head word was read with the shared words ("Pregnant women", "lactating women");
    # a therapy joined to a condition is a state of its own ("Bleeding disorders and anticoagulant therapy", 12.2)
    # ("Failure of conservative therapy and physical therapy" joins two therapies: the second is no state of its own)
    first_condition = bool(conditions) and conditions[0] and not set(words(names[0][0])) & lexicon.state_heads
    states = [first_condition and is_patient_state(n, lexicon) for n, _ in names]
    return [na for i, na in enumerate(names)
            if named[i] and (i == 0 or conditions[i] or most or states[i] or words(na[0])[-1:] == head_word)]


_STATE_WORDS = (2, 4)  # "anticoagulant therapy" .. "chronic inotropic HF therapy": longer parts are clauses


def is_patient_state(part: str, lexicon: Lexicon) -> bool:
    """Whether a coordinated part names a patient state, not a condition: a short phrase ending in a state head
    ("anticoagulant therapy") with no preposition or function word ("failure of physical therapy" is a criterion)."""
    tokens = words(part)
    return (_STATE_WORDS[0] <= len(tokens) <= _STATE_WORDS[1] and tokens[-1] in lexicon.state_heads
            and not any(t in _PREPOSITIONS or t in lexicon.mention_stops or t in lexicon.verb_stops for t in tokens))


def _item_mention(name: str, aliases: list[str], node: Node, text: str) -> Mention:
    """A mention of `name` on an item's line, placed where the line writes it (else at the item's start)."""
    at = text.find(name, node.start, node.end)
    start = at if at >= 0 else node.start
    kind = "item" if node.is_item else "heading"
    return Mention(name, start, start + len(name), node.index, kind, node.section_kind, None, list(aliases))


def _within(shorter: str, longer: str) -> bool:
    """Whether a folded name is a word-aligned part of another."""
    return f" {shorter} " in f" {longer} "


def _refined_heads(heads: list[Mention], prose: list[Mention], node: Node, text: str, lexicon: Lexicon) -> list[Mention]:
    """The item's names where the rules' heads on its line cut one short or join several (guideline 12.2): a head
    inside a longer item name takes that name ("Cataract causing symptomatic" -> "... impairment of visual
    function"), a head holding several names takes the first (the joined form becomes its alias), and the other
    names become mentions of their own, sharing the head's vote and scope; a prose mention of the line that names
    one of them describes that one, not the head. A heading's joined head is split, never lengthened. Returns the
    new mentions."""
    names = _item_conditions(node_text(text, node), lexicon)
    if not names or (not node.is_item and len(names) < 2):
        return []  # a heading's head is only split ("Colon and Rectal Cancer"), never lengthened
    keys = [fold(name) for name, _ in names]
    used: set[int] = set()
    added = []
    for key, (name, aliases) in zip(keys, names):
        owner = next((i for i, h in enumerate(heads) if i not in used and _within(fold(h.name), key)), None)
        if owner is None and len(names) > 1:
            owner = next((i for i, h in enumerate(heads) if i not in used and _within(key, fold(h.name))), None)
        if owner is None and key == keys[0] and len(names) > 1:  # "Colon and Rectal Cancer": the head is the joined form
            joined = [fold(a) for a in aliases]
            owner = next((i for i, h in enumerate(heads) if i not in used and any(_within(fold(h.name), j) for j in joined)), None)
        if owner is not None:
            head = heads[owner]
            used.add(owner)
            if fold(head.name) != key:
                if _within(key, fold(head.name)):  # the head joins several names: it keeps the first, the joined form as alias
                    head.aliases = [*head.aliases, head.name]
                head.name = name
            others = set(keys) - {key}  # an "or" alternative the rules kept as an alias is now a mention of its own
            head.aliases = [a for a in dict.fromkeys([*head.aliases, *aliases]) if fold(a) not in others]
            continue
        if any(_within(key, fold(h.name)) or _within(fold(h.name), key) for h in heads):
            continue  # already named by a head the item's names do not map to one to one
        mention = _item_mention(name, aliases, node, text)
        mention.list_vote, mention.scope, mention.bare = heads[0].list_vote, heads[0].scope, heads[0].bare
        added.append(mention)
    for m in prose:
        part = next((a for a in added if _within(fold(m.name), fold(a.name))), None)
        if part is not None and m.same_as in heads:
            m.same_as = part
    return added
