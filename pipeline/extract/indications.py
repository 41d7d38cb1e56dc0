"""Indications: find condition mentions, group them into indications, and score their coverage.

How MACs write indications, and what each rule here reads:
- a list under a coverage statement, one condition per item, often "Condition (ABBR) - text"
  ("NGS has approved IVIG for the following off label uses:") -> item heads;
- headings or "Condition - text" paragraphs in the evidence sections -> line heads;
- prose: "... is reasonable and necessary for patients with <condition> who ..." -> trigger phrases; an inline
  series after a trigger or a bare "for" ("does not support PNS for A, B, or C", "the following disorders: A;
  B"), a bracketed series after a class, and "A or B" when each part names a condition are one mention each;
  family members ("Classical MPNs include A (PV), B and C") take the decision of the sentence naming the family;
- lists written as plain lines ("Severe demineralization of bone;" after a ":" lead-in) -> entries like items;
- criteria lists under an indication ("when the following criteria are met:") are criteria, not
  new indications, until the next item that is headed by a condition.
Coverage is a weighted vote of the cue phrases in each mention's scope (policy sections count more
than evidence sections); conflicting votes give `unclear`.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field

from pipeline.text import fold
from pipeline.extract.lexicon import Lexicon, load_lexicon, phrase_patterns
from pipeline.extract.numbers.lexicons import WORDS as NUMBER_WORDS
from pipeline.extract.units import match_unit
from pipeline.extract.structure import Line, Sentence
from pipeline.extract.tree import looks_like_heading, unmarked_item

SECTION_WEIGHT = {"policy": 1.0, "evidence": 0.5, "other": 0.25}
PROSE_KINDS = frozenset({"trigger", "ner"})  # mentions inside a sentence; they head no list or paragraph
COVERED_AT = 0.75  # |vote| needed to call coverage; below it the policy is unclear for us
LIST_INTRO_WEIGHT = 1.0
_WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9’'\-/.]*")
# A head is cut at a dash with a space on one side, at a colon, or at a dangling dash at line end.
_HEAD_SEPARATOR_RE = re.compile(r"\s+[-–—]+\s*(?=\S)|(?<=\S)[-–—]+\s+|:\s+|\s*[-–—:]+\s*$")
_ABBR_PAREN_RE = re.compile(r"\s*\(([A-Za-z][A-Za-z0-9\-]{1,9})\)")
_LEADING_NOISE_RE = re.compile(
    r"^(?:(?:the|a|an|any|all|some|other|certain|confirmed|known|documented|this|that|these|those|such|their|its)\s+)+", re.I
)
_POPULATION_PREFIX_RE = re.compile(
    r"^(?:(?:adult|pediatric|elderly)\s+)?(?:patients?|adults?|children|individuals?|beneficiar(?:y|ies)|members?|persons?|people)\s+"
    r"(?:with|who have|who has|diagnosed with|suffering from)\s+",
    re.I,
)
_ACTION_PREFIX_RE = re.compile(
    r"^(?:(?:the|long-term|short-term|symptomatic|acute)\s+)*(?:(?:treatment|management|suppression|relief|control|prevention|"
    r"reduction|evaluation|monitoring|indications?)(?:\s*(?:/|and|or)\s*)?)+\s+of\s+(?:the\s+)?",
    re.I,
)
_TRAILING_CONNECTOR_RE = re.compile(r"\s+(?:due|related|associated|secondary|caused|induced|resulting)$", re.I)
_NEGATED_RE = re.compile(r"^(?:absence|lack|no|without|exclusion)\b", re.I)
GENERIC_HEADS = frozenset(
    {"disease", "diseases", "condition", "conditions", "disorder", "disorders", "illness", "illnesses", "syndrome", "syndromes",
     "symptoms", "symptom", "injury", "injuries", "failure", "intolerance", "or", "and", "of"}
)
# "Other Cancers:" heads the rest of a group of conditions and names none ("Malignancies that involve ..." names one)
_OTHER_CLASS_RE = re.compile(r"^(?:all\s+)?other\s+(?:cancers|tumou?rs|malignancies|neoplasms|indications|uses)$", re.I)


@dataclass
class Mention:
    """One place the document names a condition."""

    name: str
    start: int
    end: int
    line: int
    kind: str  # "item" | "heading" | "line_head" | "trigger" | "ner"
    section_kind: str
    abbreviation: str | None = None
    aliases: list[str] = field(default_factory=list)
    scope: tuple[int, int] = (0, 0)  # char range whose cue phrases vote on this mention's coverage
    bare: bool = False  # a list entry that is only a name: its scope is its own line and sub-items
    list_vote: float = 0.0
    same_as: "Mention | None" = None  # a prose mention on a head's own line describes that head


@dataclass
class IndicationGroup:
    """Mentions that name the same indication, merged."""

    mentions: list[Mention]
    vote: float = 0.0

    @property
    def best(self) -> Mention:
        """The mention that names the indication: policy before evidence, list items before prose."""
        rank = {"item": 0, "line_head": 1, "heading": 2, "trigger": 3, "ner": 4}
        section_rank = {"policy": 0, "evidence": 1, "other": 2}
        return min(self.mentions, key=lambda m: (section_rank.get(m.section_kind, 3), rank[m.kind], m.start))


def words(text: str) -> list[str]:
    """Lower-case word tokens of a phrase."""
    return [w.strip(".’'").lower() for w in _WORD_RE.findall(text)]


def is_condition_like(name: str, lexicon: Lexicon) -> bool:
    """A phrase names a condition when one of its words is a condition head or has a condition suffix."""
    tokens = words(name)
    if not tokens or len(tokens) > 14:
        return False
    if tokens[-1] in lexicon.not_conditions and not any(t in lexicon.condition_heads for t in tokens[:-1]):
        return False
    for token in tokens:
        for part in token.split("/"):
            if part in lexicon.suffix_exceptions:
                continue
            if part in lexicon.condition_heads:
                return True
            if len(part) > 5 and part.endswith(lexicon.condition_suffixes):
                return True
    return False


def not_a_name(name: str, lexicon: Lexicon) -> bool:
    """A candidate worded as something other than a condition name: the lead-in of a list ("Located in the
    following areas"), a reference back ("these syndromes", "the patient's condition"), the lower-case
    continuation of the sentence above it ("with NYHA I, II", "as an alternative when ..."), a clause
    ("Conversely", "Having trained"), a name cut before its object ("Medical Conditions for"), one headed by an outcome
    or a place ("Consistent pain relief from previous TPI", "Sleep disorder clinics"), or a measure
    (`names_a_measure`: "Tumor size <= 2.5 cm", "International Prostate Symptom Score", "dL")."""
    lowered = " " + " ".join(name.lower().replace("’", "'").split()) + " "
    if any(f" {phrase} " in lowered for phrase in lexicon.name_lead_ins):
        return True
    # only a reference followed by a generic head: "these nerve distributions" still names something
    if any(f" {ref} {head} " in lowered for ref in lexicon.name_references for head in GENERIC_HEADS):
        return True
    tokens = words(name)
    if bool(tokens) and name[:1].islower() and tokens[0] in lexicon.name_continuations:
        return True
    if any(lowered.startswith(f" {opener} ") for opener in lexicon.clause_openers):
        return True  # "Conversely", "Having trained", "In some circumstances after diagnosis": a clause, whatever its case
    if tokens and (tokens[-1] in HEAD_ENDS or tokens[-1] in _DANGLING_ENDS):
        return True  # "Medical Conditions for", "abdominal ultrasound every": cut before its object
    if head_word(name) in lexicon.other_heads:
        return True  # "Consistent pain relief from previous TPI", "Sleep disorder clinics": an outcome, a place
    return names_a_measure(name, lexicon)


def treats_an_outcome(tokens: list[str], lexicon: Lexicon) -> bool:
    """Whether a name states how a treatment went: its head is an outcome of treatment and what follows names a
    treatment ("failure of/or contraindication to conservative therapy", "Poor response to pharmacotherapy";
    "Heart failure" and "failure of the graft" are conditions). Usually a criterion; an indication only where a
    list the rules read says so ("Failure of outpatient psychiatric treatment" among admission indications)."""
    for i, token in enumerate(tokens):
        if token in lexicon.treatment_outcomes and i + 1 < len(tokens) and tokens[i + 1] in _OUTCOME_LINKS:
            return any(t in lexicon.treatment_words for t in tokens[i + 1 :])
    return False


# words a name cannot end with: a frequency or quantifier cut before what it counts
_DANGLING_ENDS = frozenset({"every", "each", "per", "than", "least", "most", "the", "a", "an"})
# A name's head is its last word before one of these: "allergy to any medication" is an allergy, not a drug.
HEAD_ENDS = frozenset({"of", "to", "for", "with", "in", "on", "from", "after", "during", "due"})
# what joins an outcome to the treatment it is of: "failure of", "response to", "failure of/or contraindication to"
_OUTCOME_LINKS = HEAD_ENDS | {"or", "and"}
_LIMIT_RE = re.compile(r"[<>≤≥]=?\s*-?\d")
_PARENTHESES_RE = re.compile(r"\([^()]*\)")


def head_word(name: str) -> str | None:
    """The head of a name: its last word before a preposition ("allergy to any medication" -> "allergy")."""
    head = list(itertools.takewhile(lambda w: w not in HEAD_ENDS, words(name)))
    return head[-1] if head else None


def names_a_measure(name: str, lexicon: Lexicon) -> bool:
    """A candidate that names a measure, a limit or a bare quantity, not a condition: a limit written in it
    outside brackets ("Tumor size <= 2.5 cm"; "High grade stenosis (>70%)" keeps its condition) or opening it
    ("At least 75% reduction of pain", "50% or more improvement"), a head word that
    names a scale or a quantity ("International Prostate Symptom Score", "Disease severity", "Pain duration of"),
    or only numbers and units ("dL", "Two")."""
    if _LIMIT_RE.search(_PARENTHESES_RE.sub(" ", name)):
        return True
    lowered = " ".join(name.lower().split())
    if any(lowered.startswith(opener + " ") for opener in lexicon.criteria_openers):
        return True  # "At least 75% reduction of pain": a criterion opens with its limit
    head = head_word(name)
    if head in lexicon.instrument_words:
        return True
    # a quantity's word heads the name and ends it ("Pain duration of"): "Longstanding duration of a squamous cell
    # carcinoma" and "chronic back pain of long-standing duration" name conditions
    tokens = words(name)
    while tokens and tokens[-1] in HEAD_ENDS:
        tokens.pop()
    if head in lexicon.measure_heads and tokens and tokens[-1] == head:
        return True
    tokens = name.split()
    if tokens and _is_number(tokens[0].strip(",.;:()")):
        return True  # "50% or more consistent improvement in pain", "One to 2 levels": a limit opens it (no gold name does)
    return bool(tokens) and all(_is_quantity_word(t.strip(",.;:()")) for t in tokens)


_NUMBER_RE = re.compile(r"[\d.,/%-]*\d[\d.,/%-]*")


def _is_number(token: str) -> bool:
    """A number written alone: digits ("50%", "2.5", "1-2") or a number word ("One"); "22q11.2", "3-vessel" are words."""
    return bool(_NUMBER_RE.fullmatch(token)) or token.lower() in NUMBER_WORDS.cardinals or token.lower() in NUMBER_WORDS.tens


def _is_quantity_word(token: str) -> bool:
    """A number (digits or a number word) or a unit written alone."""
    if not token or _is_number(token):
        return True
    unit = match_unit(token, 0)
    return unit is not None and unit.start == 0 and unit.end == len(token)


def normalize_name(name: str, abbreviations: dict[str, str]) -> str:
    """Canonical spelling used to align indications across versions and mentions: abbreviations expanded,
    "vs" spelled out, possessives dropped, then folded (pipeline.text.fold)."""
    text = _ABBR_PAREN_RE.sub(" ", name)
    expanded = []
    for token in re.split(r"(\s+)", text):
        bare = token.strip(".,;:")
        expanded.append(abbreviations.get(bare, token) if bare.isupper() or bare in abbreviations else token)
    text = "".join(expanded).lower()
    text = re.sub(r"\bvs\.?(?=\s)", "versus", text)
    text = text.replace("hematopoetic", "hematopoietic").replace("haematopoietic", "hematopoietic")
    text = re.sub(r"[’'`]s\b", "", text)  # "Clarkson’s disease" == "Clarkson disease"
    return fold(text)


_BACK_REFERENCE_RE = re.compile(
    r"\b(?:this|these|those|such|said|above|aforementioned)\s+(?:\w+\s+)?(?:" + "|".join(
        ("diseases?", "conditions?", "disorders?", "syndromes?", "illness(?:es)?", "indications?", "diagnos[ie]s")
    ) + r")$",
    re.I,
)
_GENERIC_MODIFIERS = frozenset({"medical", "other", "certain", "underlying", "serious", "various", "clinical", "specific", "such", "related", "similar", "existing", "new",
                                "identified", "known", "listed", "aforementioned"})  # "identified condition": a reference back


# "/or chronic inflammatory bowel disease": a span that starts inside "and /or" keeps the joiner's rest
_LEADING_JOINER_RE = re.compile(r"^(?:(?:and\s*)?/\s*(?:or|and)|and/or|or|and)\s+", re.I)


def _outside_stray_bracket(raw: str) -> str:
    """The part of a span outside a bracket it closes but never opened: "spinal cord injury)" (a span that ends
    inside an aside) -> the words before it; "fistulae) and /or chronic inflammatory bowel disease" (one that runs
    from an aside into the series' next member) -> the words after the joiner. Any other span stays as it is."""
    depth = 0
    for i, char in enumerate(raw):
        depth += (char == "(") - (char == ")")
        if depth < 0:
            after = raw[i + 1 :].strip()
            if not after:
                return raw[:i].rstrip()
            joined = _LEADING_JOINER_RE.match(after)
            return after[joined.end() :] if joined else raw
    return raw


def _before_open_bracket(raw: str) -> str:
    """The span before the first bracket it opens and never closes, nested ones included ("Systemic hypotension
    (systolic blood pressure (BP)" -> "Systemic hypotension"); a span with its brackets closed stays as it is."""
    opened: list[int] = []
    for i, char in enumerate(raw):
        if char == "(":
            opened.append(i)
        elif char == ")" and opened:
            opened.pop()
    return raw[: opened[0]].rstrip() if opened else raw


def first_cell(row: str) -> str:
    """A table row's first cell (cells are joined by " | "), which names the row; other text is returned whole."""
    return row.split(" | ", 1)[0]


def clean_name(raw: str, alternatives: bool = True, negated: bool = False) -> tuple[str, str | None, list[str]]:
    """Split "Name (ABBR) or Other Name" into the name, its abbreviation and aliases; `alternatives=False` keeps
    an "or" inside the name (a list item already split at its coordinations, pipeline.extract.roles); `negated=True`
    keeps a name of an absence ("Absence of clinically relevant IgE"), which an exclusion list item names (12.21)."""
    raw = re.sub(r"\^[\d,\-–]+", "", raw)  # "^41" reference markers of plain-text exports
    raw = _before_open_bracket(raw)  # "disease (except" cut inside a bracket: the open bracket is not the name's
    raw = re.sub(r"[\s,;]+(?:or|and|and/or)\s*$", "", raw.strip(), flags=re.I)
    raw = _LEADING_JOINER_RE.sub("", _outside_stray_bracket(raw.strip(" \t-–—:;,."))).strip(" \t-–—:;,.")
    abbreviation = None
    match = _ABBR_PAREN_RE.search(raw)
    if match and sum(c.isupper() for c in match.group(1)) >= 2:
        abbreviation = match.group(1)
    text = _ABBR_PAREN_RE.sub("", raw).strip()
    aliases: list[str] = []
    trailing = re.search(r"\s*\(([^()]{3,80})\)\s*$", text)
    if trailing:  # "Fibrous dysplasia of bone (McCune-Albright syndrome)": the bracket names it again
        aliases.append(trailing.group(1).strip())
        text = text[: trailing.start()].strip()
    parts = re.split(r"\s+or\s+|\s*/\s+", text)
    # "A or B" names two conditions only when A is a name on its own ("dilated or restrictive cardiomyopathy" is one)
    if alternatives and len(parts) > 1 and (len(parts[0].split()) >= 2 or parts[0][:1].isupper() or re.search(r"\s*/\s+", text)):
        text, aliases = parts[0].strip(), [p.strip() for p in parts[1:] if p.strip()]
    if _OTHER_CLASS_RE.match(text):
        return "", abbreviation, aliases
    text = _POPULATION_PREFIX_RE.sub("", text)
    text = _LEADING_NOISE_RE.sub("", text)
    text = _ACTION_PREFIX_RE.sub("", text)
    text = _TRAILING_CONNECTOR_RE.sub("", text).strip(" -–—:;,.")
    if _NEGATED_RE.match(text) and not negated:
        text = ""  # "absence of thrombosis" is a criterion about a condition, not an indication
    if set(words(text)) <= GENERIC_HEADS | _GENERIC_MODIFIERS or _BACK_REFERENCE_RE.search(text):
        text = ""  # "this disease", "medical conditions", "a mild case of these syndromes": a reference back or a category
    if abbreviation:
        aliases.append(abbreviation)
    return text, abbreviation, aliases


@dataclass(frozen=True)
class Head:
    """The condition a line starts with, and how its end was found."""

    text: str
    start: int
    end: int
    how: str  # "separator" | "abbreviation" | "stopword" | "whole" | "table"

    @property
    def bare(self) -> bool:
        """The line is nothing but the name ("- Tracheostomy"): it heads no text of its own."""
        return self.how in ("whole", "table")


def item_head(text: str, offset: int, lexicon: Lexicon, allow_lower: bool = False) -> Head | None:
    """The condition a list item or paragraph starts with, if any (list items may start in lower case)."""
    if not text or not (text[0].isupper() or text[0].isdigit() or (allow_lower and text[0].isalpha())):
        return None
    head_end, how = None, "separator"
    sep = _HEAD_SEPARATOR_RE.search(text)
    if sep and sep.start() <= 140:
        head_end = sep.start()
    abbr = _ABBR_PAREN_RE.search(text)
    if abbr and abbr.start() <= 120 and (head_end is None or abbr.end() <= head_end):
        rest = text[abbr.end() :]
        # "Condition (ABBR) IVIG is indicated ..." / "Condition (ABBR) that is ...": the head ends at the abbreviation,
        # unless an "or Other Name" continues it up to the separator.
        if not (head_end is not None and re.match(r"\s+or\s", rest)):
            head_end, how = abbr.end(), "abbreviation"
    if head_end is None:
        how = "stopword"
        # "Stiff-person syndrome may be treated ...": cut at the first function word.
        sentence_end = re.search(r"[.;]\s", text)
        tokens = list(re.finditer(r"\S+", text[: sentence_end.start()] if sentence_end else text))
        for i, tok in enumerate(tokens[:12]):
            if i > 0 and tok.group().lower().strip(",;()") in lexicon.mention_stops:
                head_end = tokens[i - 1].end()
                break
        else:
            if len(tokens) <= 12:
                head_end, how = (sentence_end.start() if sentence_end else len(text)), "whole"
    if head_end is None:
        return None
    head = text[:head_end].rstrip(" ,;:-–—.")
    if not head or len(head.split()) > 14:
        return None
    if any(w in lexicon.verb_stops for w in words(_ABBR_PAREN_RE.sub("", head))):
        return None  # a clause ("Diagnosis has been confirmed by ..."), not a name
    return Head(head, offset, offset + len(head), how)


# "indicated in the management of the following disorders: A, B, C": the series starts after the colon
_FOLLOWING_RE = re.compile(r"(?:the\s+)?following(?:\s+[A-Za-z\-]+){0,3}\s*:\s*", re.I)
# "A or B", "A and/or B" inside one phrase: two conditions when each part names one on its own (ANNOTATION.md 12.2)
_JOINED_RE = re.compile(r"\s+(?:and/or|and|or)\s+", re.I)
# a bare "for" opens indications only as a series ("does not support PNS for A, B, or C"): "for X" alone is too common
_SERIES_FOR_RE = re.compile(r"\bfor\s+", re.I)
# a bracketed series after a class names its members; "(e.g., ...)", "(such as ...)" only give examples (12.3c)
_BRACKET_SERIES_RE = re.compile(r"\s*\((?!\s*(?:e\.g\.|i\.e\.|eg\b|ie\b|such as|including|for example|see)\b)", re.I)
# ... and the series goes on after such an aside: "generalized pain conditions (such as fibromyalgia) or chronic
# centralized pain syndromes" names two members
_EXAMPLES_ASIDE_RE = re.compile(r"\s*\(\s*(?:e\.g\.|i\.e\.|eg\b|ie\b|such as|including|for example)[^()]{0,120}\)", re.I)
# the rest of a series member after its name ("nociceptive pain in trunk or lower back, or ..."): a few words, no verb
_MEMBER_TAIL_RE = re.compile(r"[^,;:.()]{1,40}(?=,)")


@lru_cache(maxsize=4)
def _series_join_re(links: tuple[str, ...]) -> re.Pattern:
    """What joins two members of an inline series: ", ", ", and ", " and/or ", ", such as ", " especially "."""
    link = "|".join(re.escape(w) for w in links)
    return re.compile(rf"\s*,?\s*(?:{link})\s+|\s*[,;]\s*(?:(?:and|or|and/or)\s+)?|\s+(?:and/or|and|or)\s+", re.I)


def _series(text: str, start: int, lexicon: Lexicon) -> list[tuple[int, int]]:
    """(start, end) of the condition phrases of the inline series starting at `start` ("A, B, and C")."""
    following = _FOLLOWING_RE.match(text, start)
    if following:
        start = following.end()
    join = _series_join_re(lexicon.series_links)
    found = []
    while start < len(text):
        phrase = _phrase_until_stop(text[start:], lexicon)
        if not phrase:
            break
        found.append((start, start + len(phrase)))
        end = start + len(phrase)
        abbreviation = _ABBR_PAREN_RE.match(text, end)
        if abbreviation:
            end = abbreviation.end()  # "Polycythemia Vera (PV), Essential Thrombocythemia (ET)"
        bracket = _BRACKET_SERIES_RE.match(text, end)
        if bracket and not abbreviation:
            inner = _series(text, bracket.end(), lexicon)
            close = text.find(")", inner[-1][1]) if inner else -1
            if len(inner) >= 2 and close >= 0 and "(" not in text[inner[-1][1] : close]:
                found.extend(inner)  # "comorbidities (moderate to severe pulmonary disease, ... or heart failure)"
                end = close + 1
        aside = _EXAMPLES_ASIDE_RE.match(text, end)
        if aside:
            end = aside.end()
        tail = _MEMBER_TAIL_RE.match(text, end)
        if found[1:] and tail and not set(words(tail.group())) & lexicon.verb_stops:
            end = tail.end()  # inside a series already: the member's qualifier, then the next member
        more = join.match(text, end)
        if not more or not _series_member(text, more.end(), lexicon):
            break
        start = more.end()
    return found


def _series_member(text: str, start: int, lexicon: Lexicon) -> bool:
    """Whether a condition is named at `start`: a condition phrase that starts with a content word ("per NCCN
    guidelines" is no member) and does not end in an instrument or record word ("Pain Disability Scale")."""
    first = re.match(r"[^\s,;:.()]+", text[start:])
    if not first or first.group().lower() in lexicon.mention_stops:
        return False
    phrase = _phrase_until_stop(text[start:], lexicon)
    tokens = words(phrase)
    return bool(tokens) and tokens[-1] not in lexicon.not_conditions and is_condition_like(phrase, lexicon)


def split_joined(phrase: str, lexicon: Lexicon) -> list[tuple[int, int]]:
    """(start, end) of each part of "A or B" / "A and/or B" when every part names a condition on its own,
    else of the whole phrase ("dilated or restrictive cardiomyopathy", "pain in trunk or lower back" are one)."""
    cuts = list(_JOINED_RE.finditer(phrase))
    bounds = [0, *[x for c in cuts for x in (c.start(), c.end())], len(phrase)]
    parts = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    # one-word parts joined by "or" may be near-synonyms ("stenosis or occlusion" is one entry); by "and" they are two
    named = [len(phrase[a:b].split()) >= 2 or not any(c.group().strip().lower() == "or" for c in cuts) for a, b in parts]
    if len(parts) > 1 and all(ok and is_condition_like(phrase[a:b], lexicon) for ok, (a, b) in zip(named, parts)):
        return parts
    return [(0, len(phrase))]


def trigger_mentions(text: str, offset: int, lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """Condition phrases after trigger words ("patients with X who ...") in one sentence; every member of an
    inline series after a trigger or after "for" ("does not support PNS for A, B, or C") is its own phrase."""
    found = []
    lowered = text.lower()
    for trigger, pattern in phrase_patterns(lexicon.mention_triggers, r"\b{}\s+"):
        if trigger not in lowered:
            continue  # most of the ~60 triggers are absent from a sentence: a substring test is far cheaper than the regex
        for match in pattern.finditer(lowered):
            found.extend(_series(text, match.end(), lexicon))
    for match in _SERIES_FOR_RE.finditer(text):
        series = _series(text, match.end(), lexicon)
        if len(series) >= 2:
            found.extend(series)
    states = state_mentions(text, offset, lexicon)
    # Keep the longest phrase at each position ("patients with" inside "in patients with").
    found.sort(key=lambda f: (f[0], -(f[1] - f[0])))
    result: list[tuple[str, int, int]] = []
    last_end = -1
    for start, end in found:
        if start < last_end:
            continue
        last_end = end
        phrase = text[start:end]
        for a, b in split_joined(phrase, lexicon):
            result.append((phrase[a:b], offset + start + a, offset + start + b))
    taken = [(start, end) for _, start, end in result]
    result += [s for s in states if not any(a < s[2] and s[1] < b for a, b in taken)]
    return sorted(result, key=lambda r: r[1])


@lru_cache(maxsize=4)
def _state_re(populations: frozenset[str], adjectives: tuple[str, ...]) -> re.Pattern:
    """A population described by a state adjective: "patients (who are) allergic to ", "individuals hypersensitive to "."""
    population = "|".join(sorted(map(re.escape, populations), key=len, reverse=True))
    adjective = "|".join(sorted(map(re.escape, adjectives), key=len, reverse=True))
    return re.compile(rf"\b(?:{population})\s+(?:(?:who|that)\s+(?:are|is)\s+(?:known\s+to\s+be\s+)?)?({adjective})\s+", re.I)


def state_mentions(text: str, offset: int, lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """The states a sentence gives its population by an adjective ("patients who are allergic to iodine"): the
    condition is the state, named by its noun ("allergy to iodine"; the population is the sentence's subject, 12.23),
    one per member of a series after it ("allergic to iodine or shellfish")."""
    found = []
    for match in _state_re(lexicon.population_words, tuple(lexicon.state_adjectives)).finditer(text):
        noun = lexicon.state_adjectives[match.group(1).lower()]
        for start, end in _series(text, match.end(), lexicon) or []:
            found.append((f"{noun} {text[start:end]}", offset + match.start(1), offset + end))
    return found


_CONNECTOR_RE = re.compile(r"(?:associated with|related to|due to|secondary to|caused by|induced by|of)\s", re.I)
# a participle or adjective after a generic head opens the clause that says which conditions are meant
_POSTMODIFIER_RE = re.compile(r"(?:ing|ed|able|ible)$|^(?:known|shown|seen)$")
# a dash standing alone ("anemia – the test") or glued to a word before a space ("hypersplenism– more") opens an aside
_DASH_RUN_RE = re.compile(r"[-–—]+")
_DANGLING_DASH_RE = re.compile(r"(?<=\w)[-–—]+$")


def _phrase_until_stop(text: str, lexicon: Lexicon) -> str:
    """The words of `text` up to a function word, punctuation, a population noun or a second "with"."""
    out_end = 0
    seen_head = False
    skip_until = -1
    previous = ""
    for tok in re.finditer(r"[^\s,;:.()\[\]]+(?:\.(?=\w))?[^\s,;:.()\[\]]*|[,;:.()\[\]]", text):
        word = tok.group()
        lower = word.lower()
        if tok.start() < skip_until:
            out_end = tok.end()
            continue
        if word in ",;:.()[]" or tok.start() > 110 or _DASH_RUN_RE.fullmatch(word):
            break
        dangling = _DANGLING_DASH_RE.search(word)
        if dangling and out_end and text[tok.end() : tok.end() + 1].isspace():
            out_end = tok.start() + dangling.start()  # "hypersplenism– more recent articles": the dash ends the name
            break
        connector = _CONNECTOR_RE.match(text, tok.start())
        if connector and out_end:
            skip_until = connector.end()
            out_end = tok.end()
            continue
        if out_end and lower in lexicon.population_words:
            break
        if lower in lexicon.verb_stops or lower in lexicon.drug_markers:
            break
        if lower in lexicon.mention_stops and out_end:
            if lower not in ("in", "to") or seen_head:
                break
        if lower == "with" and seen_head:
            break
        if previous in GENERIC_HEADS and _POSTMODIFIER_RE.search(lower):
            break  # "conditions amenable to laser photocoagulation", "diseases featuring low ...": the clause says which
        if lower in lexicon.condition_heads or lower.endswith(lexicon.condition_suffixes):
            seen_head = True
        previous = lower
        out_end = tok.end()
    phrase = text[:out_end].strip()
    phrase = re.sub(r"^(?:with|of|and|or|to)\s+", "", phrase, flags=re.I)
    phrase = re.sub(r"\s+(?:and|or|and/or|of|with|the|a|an|in|to)$", "", phrase, flags=re.I)
    return phrase


def _starts_criteria(text: str, lexicon: Lexicon) -> bool:
    """A line that opens a list of criteria ("... when the following criteria are met:", "any of the following:")."""
    lowered = text.lower().rstrip()
    intro = any(p in lowered for p in lexicon.criteria_intro) or any(p in lowered for p in lexicon.alternatives_intro)
    return intro and lowered.endswith((":", "met", "criteria"))


def denies_its_items(text: str, lexicon: Lexicon, cue_vote: float) -> bool:
    """A criteria-worded lead-in whose denial falls on each item, by its cues (`cue_vote`, "generally not covered for
    treating the following, and records must have ...:") or a negative list phrase ("not medically necessary when
    the following contraindications are present:"), not one whose items are what coverage requires ("denied unless
    all of the following are met:")."""
    lowered = text.lower()
    negative = cue_vote < 0 or any(p in lowered for p in lexicon.list_intro_negative)
    return negative and not _says_any(lowered, lexicon.criteria_denial_exceptions)


def list_intro_vote(text: str, lexicon: Lexicon, cue_vote: float, opens_sublist: bool = False) -> float | None:
    """The coverage a line gives to the list it introduces (a line ending in ':' or an item with sub-items)."""
    lowered = text.lower().rstrip()
    if not (lowered.endswith(":") or opens_sublist):
        return None
    if any(p in lowered for p in lexicon.list_intro_negative) or cue_vote < 0:
        vote = -LIST_INTRO_WEIGHT
    elif any(p in lowered for p in lexicon.list_intro_positive) or cue_vote > 0:
        vote = LIST_INTRO_WEIGHT
    else:
        return 0.0
    # "Abortions are not covered except:" - the line states the rule, its items the exceptions to it
    ending = lowered.rstrip(": ")
    if any(ending == p or ending.endswith(" " + p) for p in lexicon.list_intro_exception):
        return -vote
    return vote


@dataclass
class ListState:
    """What the list the current line belongs to is about."""

    intros: list[tuple[int, float]] = field(default_factory=list)  # (depth of the introducing line, its vote)
    heading_vote: float = 0.0  # vote of the last coverage sub-heading ("Covered Indications", "Limitations")
    criteria_of: int | None = None  # index of the mention whose criteria list this is
    criteria_vote: float = 0.0  # coverage vote of the line that opened the criteria list
    in_criteria: bool = False
    criteria_depth: int | None = None  # list depth of the criteria items; a shallower item ends the list
    alternatives: bool = False  # "any of the following" / items joined by OR: each item is its own indication
    glossary: bool = False  # under a "Definitions" / "Abbreviations" sub-heading: terms, not indications

    @property
    def vote(self) -> float:
        """The vote of the innermost list introduction governing the current line, else of the sub-heading."""
        return self.intros[-1][1] if self.intros else self.heading_vote

    def enter(self, line: Line, stripped: str) -> None:
        """Drop the introductions that no longer govern `line`."""
        if line.is_item:
            while self.intros and self.intros[-1][0] >= line.depth:
                self.intros.pop()
        elif looks_like_heading(stripped) or stripped.endswith(":"):
            self.intros.clear()  # a sub-heading or a new introduction starts a new list context

    def end_criteria(self) -> None:
        """Leave the current criteria list."""
        self.criteria_of, self.in_criteria, self.criteria_depth, self.alternatives = None, False, None, False


def _says_any(lowered: str, phrases: tuple[str, ...]) -> bool:
    """Whether one of the phrases occurs as whole words in the (lower-cased) text."""
    return any(p in lowered and pattern.search(lowered) for p, pattern in phrase_patterns(phrases, r"\b{}\b"))


def heading_vote(heading: str, lexicon: Lexicon) -> float:
    """+1 under a "Covered Indications" heading, -1 under "Limitations" / "Contraindications", 0 when it says both."""
    lowered = heading.lower()
    negative = _says_any(lowered, lexicon.heading_negative)
    positive = _says_any(lowered, lexicon.heading_positive)
    if positive and not negative:
        return LIST_INTRO_WEIGHT
    if negative and not positive:
        return -LIST_INTRO_WEIGHT
    return 0.0


def _opens_sublist(lines: list[Line], line: Line, text: str) -> bool:
    """An item followed by deeper items introduces them ("- Absolute contraindication" + sub-items)."""
    if not line.is_item:
        return False
    for nxt in lines[line.index + 1 :]:
        if text[nxt.start : nxt.end].strip():
            return nxt.is_item and nxt.depth > line.depth
    return False


def find_mentions(
    text: str,
    lines: list[Line],
    sentences: list[Sentence],
    cue_vote_of_range,
    lexicon: Lexicon,
) -> tuple[list[Mention], list[tuple[int | None, Line, str]], dict[int, float]]:
    """All condition mentions, the criteria items (with the index of the mention they belong to), and the
    coverage vote each line inherits from the list introduction governing it."""
    mentions: list[Mention] = []
    criteria: list[tuple[int | None, Line, str]] = []
    line_votes: dict[int, float] = {}
    state = ListState()
    current_section = None
    sentences_by_line: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        sentences_by_line.setdefault(sentence.line, []).append(sentence)

    previous_stripped, previous_unmarked = "", False
    for line in lines:
        content = text[line.content_start : line.end]
        stripped = content.strip()
        if line.section_name != current_section:
            current_section, state = line.section_name, ListState()
        if not stripped:
            continue
        unmarked = not line.is_item and not state.in_criteria and unmarked_item(previous_stripped, previous_unmarked, stripped)
        previous_stripped, previous_unmarked = stripped, unmarked
        if not unmarked:
            state.enter(line, stripped)  # an unmarked item stays under the list's introduction
        if not line.is_item and not unmarked and looks_like_heading(stripped):
            vote = heading_vote(stripped, lexicon)
            if vote:
                state.heading_vote = vote  # "Covered Indications" / "Limitations": what follows takes its side
        line_votes[line.index] = state.vote
        if line.section_kind == "other":
            continue  # statute citations, coding and documentation sections name no indications
        if looks_like_heading(stripped) and not line.is_item and not unmarked:
            state.glossary = stripped.lower().rstrip(": ") in lexicon.glossary_headings
        if state.glossary:
            continue
        if state.in_criteria and line.is_item and state.criteria_depth is not None and line.depth < state.criteria_depth:
            state.end_criteria()
        if state.in_criteria and line.is_item and _OR_END_RE.search(stripped):
            state.alternatives = True
        heads = _head_mentions(line, stripped, content, state, lexicon, unmarked)
        head_mention = heads[-1] if heads else None
        if heads and state.in_criteria and state.alternatives and line.is_item and (
            state.criteria_depth is None or line.depth == state.criteria_depth
        ):
            # one alternative of an "any of the following" list: an indication, and a criterion of the list's subject
            for mention in heads:
                mention.list_vote = state.criteria_vote
            mentions.extend(heads)
            state.criteria_depth = line.depth
            criteria.append((state.criteria_of, line, "alternative"))
        elif heads:
            mentions.extend(heads)
            state.end_criteria()
        elif state.in_criteria and line.is_item:
            if state.criteria_depth is None:
                state.criteria_depth = line.depth
            criteria.append((state.criteria_of, line, "alternative" if state.alternatives else "requirement"))
        elif state.in_criteria and not line.is_item:
            state.end_criteria()  # a paragraph ends the criteria list
        # Conditions named inside a criteria list or a list under a coverage statement take that statement's
        # direction; under a "not covered" list they must say so themselves (limitations mention many conditions).
        inherited = state.criteria_vote if state.in_criteria else (state.vote if line.is_item else 0.0)
        inherited = max(inherited, 0.0)
        line_sentences = sentences_by_line.get(line.index, [])
        for k, sentence in enumerate(line_sentences):
            previous = line_sentences[k - 1] if k else None
            for mention in _trigger_mentions(text, sentence, line, head_mention, lexicon, previous):
                mention.list_vote = inherited if line.is_item else 0.0
                if (unmarked or line.is_item and not state.in_criteria) and head_mention is None:
                    # "For cervical manipulations, vertebrobasilar insufficiency; and", "- Testing may not be used for
                    # routine or other screening.": an entry headed by no condition names its condition in its prose
                    mention.list_vote = state.vote
                mention.same_as = head_mention
                mentions.append(mention)
        cue_vote = cue_vote_of_range(line.start, line.end)
        if _starts_criteria(stripped, lexicon):
            on_line = [i for i, m in enumerate(mentions) if m.line == line.index]
            earlier = [i for i, m in enumerate(mentions) if m.kind not in PROSE_KINDS and lines[m.line].section_name == line.section_name]
            state.end_criteria()
            state.criteria_of = (on_line or earlier or [None])[-1]
            state.in_criteria = True
            denial = denies_its_items(stripped, lexicon, cue_vote)
            state.criteria_vote = -LIST_INTRO_WEIGHT if denial or cue_vote < 0 else (LIST_INTRO_WEIGHT if cue_vote > 0 else state.vote)
            # each item of a denied list is its own not-covered condition, as in an "any of the following" list
            state.alternatives = denial or any(p in stripped.lower() for p in lexicon.alternatives_intro)
        else:
            intro = list_intro_vote(stripped, lexicon, cue_vote, _opens_sublist(lines, line, text))
            if intro is not None:
                state.intros.append((line.depth, intro))
    _assign_scopes(mentions, lines, text)
    return mentions, criteria, line_votes


_TABLE_YES = frozenset({"x", "yes", "y", "covered", "✓", "✔", "√"})
_TABLE_NO = frozenset({"no", "n", "not covered", "non-covered", "noncovered"})


def table_row_vote(stripped: str) -> float | None:
    """A coverage table row ("Condition | X | | X"): covered when any cell is marked, not covered when all say no."""
    cells = [c.strip().lower() for c in stripped.split(" | ")[1:]]
    marks = [c for c in cells if c]
    if not marks:
        return None
    if any(c in _TABLE_YES for c in marks):
        return LIST_INTRO_WEIGHT
    if all(c in _TABLE_NO for c in marks):
        return -LIST_INTRO_WEIGHT
    return None


def _head_mentions(
    line: Line, stripped: str, content: str, state: ListState, lexicon: Lexicon, unmarked: bool = False
) -> list[Mention]:
    """Mentions for a line headed by a condition (list item, sub-heading, table row, "Condition - text" paragraph,
    an entry of a list without bullets)."""
    offset = line.content_start + (len(content) - len(content.lstrip()))
    if " | " in stripped:
        vote = table_row_vote(stripped)
        if vote is None:
            return []
        first = first_cell(stripped)
        head = Head(first, offset, offset + len(first), "table")
        kind = "item"
    else:
        listed = line.is_item or unmarked
        heading = looks_like_heading(stripped) and not unmarked
        if not (listed or heading or _HEAD_SEPARATOR_RE.search(stripped[:140])):
            return []
        head = item_head(stripped, offset, lexicon, allow_lower=listed)
        if head is None:
            return []
        nested_list = state.criteria_depth is not None and line.depth > state.criteria_depth and state.intros and (
            state.intros[-1][0] >= state.criteria_depth and state.intros[-1][1] != 0
        )
        if state.in_criteria and not state.alternatives and not nested_list and head.how not in ("separator", "abbreviation"):
            return []  # inside a criteria list only an explicitly headed item starts a new indication
        kind = "item" if listed else ("heading" if heading else "line_head")
        if kind == "line_head" and head.how not in ("separator", "abbreviation"):
            return []
        vote = state.vote if listed else 0.0
    if not is_condition_like(head.text, lexicon) or is_sentence_start(head.text):
        return []
    name, abbreviation, aliases = clean_name(head.text)
    if not name:
        return []
    mentions = []
    # "Osteoporosis and Osteopenia": two indications when every part names a condition on its own
    parts = [p for p in re.split(r"\s*,\s*(?:(?:and|or)\s+)?|\s+(?:and|&)\s+", name) if p]
    if len(parts) > 1 and all(is_condition_like(p, lexicon) for p in parts) and (parts[0][:1].isupper() or "," in name):
        for part in parts:
            start = head.start + max(head.text.find(part), 0)
            mentions.append(Mention(part, start, start + len(part), line.index, kind, line.section_kind, None, []))
        mentions[0].abbreviation, mentions[0].aliases = abbreviation, aliases
    else:
        mentions.append(Mention(name, head.start, head.end, line.index, kind, line.section_kind, abbreviation, aliases))
    for mention in mentions:
        mention.list_vote = vote
        mention.bare = head.bare
    return mentions


def _trigger_mentions(
    text: str, sentence: Sentence, line: Line, head: Mention | None, lexicon: Lexicon, previous: Sentence | None = None
) -> list[Mention]:
    """Prose mentions ("patients with X") in one sentence, outside the line's own head. Members of a family
    ("Classical MPNs include A, B and C") take the decision of the sentence before, which names the family."""
    out = []
    sentence_text = text[sentence.start : sentence.end]
    members = family_members(sentence_text, sentence.start, lexicon)
    member_starts = {start for _, start, _ in members}
    found = trigger_mentions(sentence_text, sentence.start, lexicon)
    taken = [(start, end) for _, start, end in found]
    found += [m for m in members if not any(a < m[2] and m[1] < b for a, b in taken)]
    for phrase, start, end in sorted(found, key=lambda f: f[1]):
        if head and start < head.end:
            continue
        if not is_condition_like(phrase, lexicon):
            continue
        name, abbreviation, aliases = clean_name(phrase)
        if name and is_condition_like(name, lexicon):
            mention = Mention(name, start, end, line.index, "trigger", line.section_kind, abbreviation, aliases)
            mention.scope = (sentence.start, sentence.end)
            if start in member_starts and previous is not None:
                mention.scope = (previous.start, sentence.end)
            out.append(mention)
    return out


# "<family> include(s) A, B and C": the subject is the text since the last clause break before the verb
_FAMILY_INCLUDES_RE = re.compile(r"(?:^|[,;:().]\s*|\band\s+)([^,;:()]{3,80}?)\s+includes?\s+", re.I)
_ABBREVIATION_WORD_RE = re.compile(r"^[A-Z][A-Z0-9\-]+s?$")


def family_members(text: str, offset: int, lexicon: Lexicon) -> list[tuple[str, int, int]]:
    """Members of a condition family listed in one sentence ("Classical BCR-ABL negative MPNs include
    Polycythemia Vera (PV), Essential Thrombocythemia (ET) and Primary Myelofibrosis (PMF)"): one phrase each.
    The subject must name conditions (a condition word or an abbreviation such as "MPNs"), and not their
    symptoms, causes or risk factors, which are background (ANNOTATION.md section 1)."""
    found = []
    for match in _FAMILY_INCLUDES_RE.finditer(text):
        subject = match.group(1).split()
        if not subject or set(w.lower() for w in subject) & lexicon.not_families:
            continue
        if not (is_condition_like(subject[-1], lexicon) or _ABBREVIATION_WORD_RE.match(subject[-1])):
            continue
        series = _series(text, match.end(), lexicon)
        if len(series) < 2:
            continue
        for start, end in series:
            for a, b in split_joined(text[start:end], lexicon):
                found.append((text[start + a : start + b], offset + start + a, offset + start + b))
    return found


_CLAUSE_STARTS = frozenset(
    {"there", "it", "this", "these", "those", "the", "a", "an", "in", "for", "if", "when", "we", "all", "each", "use", "to",
     "patient", "patients", "beneficiary", "beneficiaries", "individuals", "members", "adults", "children", "any", "no", "not"}
)


def is_sentence_start(head: str) -> bool:
    """Heads that are really clauses ("There is ...", "Patients with ...", "To monitor ...")."""
    return head.split()[0].lower() in _CLAUSE_STARTS


def _is_boundary(line: Line, text: str) -> bool:
    """Short stand-alone lines (sub-headings, with or without a full stop) close an evidence head's scope."""
    stripped = text[line.content_start : line.end].strip()
    return not line.is_item and 0 < len(stripped) <= 120 and len(stripped.split()) <= 16


def _closes_item(item: Line, nxt: Line, text: str) -> bool:
    """A list item's scope runs over its sub-items and continuation paragraphs, not past a sibling or a heading."""
    stripped = text[nxt.content_start : nxt.end].strip()
    if not stripped:
        return False
    if nxt.is_item:
        # Flat lists put an indication's doses and notes in sibling items after it ("- Induction Dose - ..."),
        # so only a shallower item (or the next head, handled by the caller) ends the scope.
        return nxt.depth < item.depth and bool(stripped.strip("-–— "))
    return looks_like_heading(stripped) or stripped.endswith(":")


def _assign_scopes(mentions: list[Mention], lines: list[Line], text: str) -> None:
    """Heads govern the lines after them until the next head, a sub-heading, or the end of the section."""
    heads = [m for m in mentions if m.kind not in PROSE_KINDS]
    head_lines = {m.line for m in heads}
    for mention in heads:
        line = lines[mention.line]
        end = line.end
        for nxt in lines[line.index + 1 :]:
            if nxt.section_name != line.section_name or nxt.index in head_lines:
                break
            if mention.kind != "item" and _is_boundary(nxt, text):
                break
            if mention.kind == "item" and _closes_item(line, nxt, text):
                break
            if mention.kind == "item" and mention.bare and not (nxt.is_item and nxt.depth > line.depth):
                break  # "- Tracheostomy" in a list of conditions owns its sub-items, not the paragraphs after the list
            end = nxt.end
        mention.scope = (line.start, end)


def group_mentions(mentions: list[Mention], abbreviations: dict[str, str]) -> list[IndicationGroup]:
    """Merge mentions naming the same indication (same canonical name, same abbreviation, or containment)."""
    parent = list(range(len(mentions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    keys = [normalize_name(m.name, abbreviations) for m in mentions]
    content = [content_key(k) for k in keys]
    stems = [frozenset(_stem(w) for w in c) for c in content]
    alias_keys = [{normalize_name(a, abbreviations) for a in m.aliases} | {keys[i]} for i, m in enumerate(mentions)]
    abbreviation_of = _abbreviations_by_key(abbreviations)
    abbrs = [m.abbreviation or abbreviation_of.get(keys[i]) for i, m in enumerate(mentions)]
    index = {id(m): i for i, m in enumerate(mentions)}
    for i, mention in enumerate(mentions):
        if mention.same_as is not None and id(mention.same_as) in index:
            union(i, index[id(mention.same_as)])
    lexicon = load_lexicon()
    negators = frozenset(n for n in lexicon.negators if " " not in n)
    # the subtype words of each group so far: "acute GVHD" and "chronic GVHD" both contain "GVHD", and a
    # link through that shorter form must not make the two subtypes one indication
    group_subtypes: dict[int, frozenset[str]] = {}
    for i, key in enumerate(keys):
        group_subtypes[find(i)] = group_subtypes.get(find(i), frozenset()) | {w for w in key.split() if w in lexicon.opposed_subtypes}

    def link(i: int, j: int) -> None:
        ri, rj = find(i), find(j)
        if ri == rj:
            return
        if any(lexicon.opposed_subtypes[w] & group_subtypes[rj] for w in group_subtypes[ri]):
            return
        union(ri, rj)
        group_subtypes[rj] = group_subtypes[ri] | group_subtypes[rj]

    for i in range(len(mentions)):
        for j in range(i):
            if keys[i] != keys[j] and negates(keys[i], keys[j], negators):
                continue  # "AD not due to dust mites" is not "AD due to dust mites", nor the "Atopic Dermatitis" heading
            if keys[i] == keys[j] or (alias_keys[i] & alias_keys[j]) or (content[i] and content[i] == content[j]):
                link(i, j)
            elif abbrs[i] and abbrs[i] == abbrs[j]:
                link(i, j)
            elif _contains(keys[i], keys[j]) or _contains(keys[j], keys[i]):
                link(i, j)
            elif _prose_restates_head(mentions[i], mentions[j], stems[i], stems[j]):
                link(i, j)
    groups: dict[int, list[Mention]] = {}
    for i, mention in enumerate(mentions):
        groups.setdefault(find(i), []).append(mention)
    return [IndicationGroup(sorted(g, key=lambda m: m.start)) for g in groups.values()]


def negates(a: str, b: str, negators: frozenset[str]) -> bool:
    """Whether one canonical name has a negator the other lacks ("atopic dermatitis not due to dust mites" against
    "atopic dermatitis"): the negated one names the exception, another indication."""
    return bool((set(a.split()) ^ set(b.split())) & negators)


_OR_END_RE = re.compile(r"[,;]?\s+OR\s*$")
_CONNECTOR_WORDS = frozenset(
    {"of", "the", "a", "an", "with", "associated", "related", "to", "due", "secondary", "caused", "by", "induced", "and", "or", "in", "for"}
)


def content_key(normalized: str) -> frozenset[str]:
    """The content words of a canonical name: "hypercalcemia of malignancy" == "hypercalcemia associated with malignancy"."""
    return frozenset(w for w in normalized.split() if w not in _CONNECTOR_WORDS)


def _stem(word: str) -> str:
    """A crude stem so "transplant" == "transplantation" and "fractures" == "fracture"."""
    for suffix in ("ation", "ations", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _prose_restates_head(a: Mention, b: Mention, stems_a: frozenset[str], stems_b: frozenset[str]) -> bool:
    """A prose mention whose words all appear in a list item or heading names that same indication
    ("stem cell transplant" in "Hematopoetic Stem Cell Transplantation")."""
    if (a.kind in PROSE_KINDS) == (b.kind in PROSE_KINDS):
        return False
    prose, head = (stems_a, stems_b) if a.kind in PROSE_KINDS else (stems_b, stems_a)
    # most of the head's words too: "acute pain" is not "acute post-operative pain"
    return len(prose) >= 2 and prose <= head and len(prose) >= 0.7 * len(head)


def _abbreviations_by_key(abbreviations: dict[str, str]) -> dict[str, str]:
    """Canonical long form -> its abbreviation (the first defined, when two share a long form).

    Built once per document: normalising every long form again for every mention was quadratic.
    """
    by_key: dict[str, str] = {}
    for abbr, long_form in abbreviations.items():
        by_key.setdefault(normalize_name(long_form, {}), abbr)
    return by_key


def _contains(longer: str, shorter: str) -> bool:
    """Word-boundary containment of a multi-word canonical name ("severe active sle" contains "sle")."""
    if longer == shorter or len(shorter.split()) < 2:
        return False
    return f" {shorter} " in f" {longer} "


def coverage_from_vote(vote: float) -> tuple[str, float]:
    """Coverage label and a confidence in [0.5, 0.99] from the summed cue vote."""
    if vote >= COVERED_AT:
        label = "covered"
    elif vote <= -COVERED_AT:
        label = "not_covered"
    else:
        return "unclear", round(0.5 + 0.2 * (1 - abs(vote) / COVERED_AT), 3)
    return label, round(min(0.99, 0.5 + 0.49 * (1 - math.exp(-abs(vote) / 2))), 3)
