"""`extract(document) -> Extraction`: run the spaCy pipeline and assemble indications, doses, thresholds, criteria."""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from dataclasses import dataclass, replace

from pipeline import settings
from pipeline.paths import COVERAGE_MODEL, EXTRACT_DATA_DIR, ICD10_DIR, ROLE_MODEL, TRAINED_PIPELINE
from pipeline.extract import facts as F
from pipeline.extract.coverage_model import CoverageModel, GroupEvidence, load_model
from pipeline.extract.icd10 import link_codes_many
from pipeline.extract.indications import (
    COVERED_AT,
    SECTION_WEIGHT,
    IndicationGroup,
    PROSE_KINDS,
    Mention,
    clean_name,
    coverage_from_vote,
    is_condition_like,
    not_a_name,
    words,
    find_mentions,
    group_mentions,
    head_word,
    normalize_name,
    treats_an_outcome,
)
from pipeline.extract.lexicon import Lexicon, load_lexicon
from pipeline.extract.nlp import cue_spans, get_nlp
from pipeline.extract.numbers import Quantity, find_quantities
from pipeline.extract.numbers.categories import Category, find_categories
from pipeline.extract.roles import RoleModel, apply_roles, load_role_model, predict_roles
from pipeline.extract.attach import Attacher
from pipeline.text import fold
from pipeline.extract.tree import build_tree, by_index
from pipeline.extract.structure import Line, Sentence, find_abbreviations, sentences_from_doc, split_lines
from pipeline.datamodel import Criterion, Document, Dose, Extraction, Indication, Threshold

# Bumped by hand when the rule code changes; the data and the trained artifacts are fingerprinted
# (extractor_version), so `lcd reextract` finds the versions an edited lexicon or a retrain made stale.
EXTRACTOR_VERSION = "lcd_rules.v6"
NER_EXTRACTOR_VERSION = "lcd_ner_rules.v6"
ICD10_RE = re.compile(r"\b([A-TV-Z][0-9][0-9AB](?:\.[0-9A-Z]{1,4})?)\b")


@dataclass
class _Context:
    """Everything the assembly steps share for one document."""

    doc: Document
    lexicon: Lexicon
    lines: list[Line]
    sentences: list[Sentence]
    sentence_starts: list[int]
    cues: list[tuple[int, int, float]]
    cue_starts: list[int]
    line_votes: dict[int, float] = None  # coverage inherited from the list introduction above each line

    def sentence_at(self, offset: int) -> Sentence | None:
        i = bisect.bisect_right(self.sentence_starts, offset) - 1
        if i >= 0 and self.sentences[i].start <= offset <= self.sentences[i].end:
            return self.sentences[i]
        return None

    def cue_vote(self, start: int, end: int) -> float:
        i = bisect.bisect_left(self.cue_starts, start)
        total = 0.0
        while i < len(self.cues) and self.cues[i][0] < end:
            total += self.cues[i][2]
            i += 1
        return total

    def text_of(self, sentence: Sentence) -> str:
        return self.doc.text[sentence.start : sentence.end]


def extract(document: Document, nlp=None, coverage_model: CoverageModel | None | str = "default") -> Extraction:
    """Extract indications, doses, thresholds and criteria from one document."""
    nlp = nlp or get_nlp()
    return extract_from_spacy(document, nlp(document.text), coverage_model)


def default_coverage_model() -> CoverageModel | None:
    """The committed coverage classifier, unless LCD_RULES_ONLY=1 asks for the rules alone."""
    if settings.rules_only():
        return None
    return load_model()


def extract_from_spacy(
    document: Document,
    spacy_doc,
    coverage_model: CoverageModel | None | str = "default",
    collected: list | None = None,
    role_model: RoleModel | None | str = "default",
) -> Extraction:
    """Assemble an Extraction from a document and its processed spaCy Doc (lets callers batch with nlp.pipe).

    `coverage_model`: "default" (the committed classifier when present), None (the rules' vote), or a model.
    `role_model`: "default" (the committed list-item role model, unless coverage_model is None: the rules
    alone then), None, or a model.
    `collected`, when given, receives (group, evidence) for every candidate indication (for training).
    """
    if isinstance(role_model, str):
        role_model = None if coverage_model is None or settings.rules_only() else load_role_model()
    if isinstance(coverage_model, str):
        coverage_model = default_coverage_model()
    lexicon = load_lexicon()
    lines = split_lines(document)
    sentences = sentences_from_doc(spacy_doc, lines)
    cues = sorted(cue_spans(spacy_doc, lexicon.negators))
    ctx = _Context(document, lexicon, lines, sentences, [s.start for s in sentences], cues, [c[0] for c in cues])
    abbreviations = find_abbreviations(document.text)
    mentions, criteria_items, line_votes = find_mentions(document.text, lines, sentences, ctx.cue_vote, lexicon)
    ctx.line_votes = line_votes
    if role_model is not None:
        mentions, criteria_items = _apply_tree_roles(document.text, lines, lexicon, role_model, mentions, criteria_items, ctx.cue_vote)
    mentions += ner_mentions(spacy_doc, mentions, ctx)
    groups = group_mentions(mentions, abbreviations)
    quantities = find_quantities(document.text)
    indications, mention_to_indication = _indications(ctx, groups, abbreviations, quantities, coverage_model, collected)
    scopes = _scopes(groups, mention_to_indication)
    doses, thresholds = _numeric_facts(ctx, quantities, scopes, find_categories(document.text), indications)
    criteria = _criteria(ctx, criteria_items, mentions, mention_to_indication)
    version = pipeline_version_of(spacy_doc)
    return Extraction(tuple(indications), tuple(doses), tuple(thresholds), tuple(criteria), version)


def _apply_tree_roles(text: str, lines: list[Line], lexicon: Lexicon, role_model: RoleModel, mentions: list[Mention], criteria_items,
                      cue_vote: Callable[[int, int], float] | None = None):
    """Mentions with the list-item roles applied (pipeline.extract.roles), and the criteria items re-pointed
    at the surviving mentions (a criterion of a dropped lead-in belongs to no indication)."""
    nodes = build_tree(text, lines)
    owners = [None if i is None else mentions[i] for i, _line, _kind in criteria_items]
    mentions = apply_roles(mentions, nodes, predict_roles(role_model, nodes, text, lexicon), text, lexicon, cue_vote)
    position = {id(m): i for i, m in enumerate(mentions)}
    items = [(None if owner is None else position.get(id(owner)), line, kind) for owner, (_i, line, kind) in zip(owners, criteria_items)]
    return mentions, items


def pipeline_version_of(spacy_doc) -> str:
    """Which extractor made these facts: the rules alone, or the trained NER with the rules."""
    return extractor_version(trained=spacy_doc.has_annotation("ENT_IOB"))


def extractor_version(trained: bool) -> str:
    """The extractor_version facts carry: the rules' (or the trained pipeline's) name and a fingerprint of
    what decides them besides the code, e.g. "lcd_ner_rules.v5+3f9a0c1d2e"."""
    return f"{NER_EXTRACTOR_VERSION if trained else EXTRACTOR_VERSION}+{_fingerprint(trained)}"


@lru_cache(maxsize=2)
def _fingerprint(trained: bool) -> str:
    """A short hash of the rule data and, for the trained pipeline, the shipped model artifacts."""
    files = sorted(EXTRACT_DATA_DIR.glob("*.json"))
    if trained:
        files += sorted(p for p in TRAINED_PIPELINE.rglob("*") if p.is_file())
        files += [p for p in (COVERAGE_MODEL, ROLE_MODEL, *sorted(ICD10_DIR.glob("*.json"))) if p.is_file()]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def ner_mentions(spacy_doc, mentions: list[Mention], ctx: "_Context") -> list[Mention]:
    """INDICATION entities of the trained NER that the rules did not find, as mentions of their sentence.

    The NER proposes; the rules decide coverage (cue votes in the sentence and the list above it) and
    merge the mention with the rule mentions of the same condition.
    """
    if not spacy_doc.has_annotation("ENT_IOB"):
        return []
    taken = [(m.start, m.end) for m in mentions]
    out = []
    for ent in spacy_doc.ents:
        if ent.label_ != "INDICATION":
            continue
        if any(start < ent.end_char and ent.start_char < end for start, end in taken):
            continue
        sentence = ctx.sentence_at(ent.start_char)
        if sentence is None:
            continue
        line = ctx.lines[sentence.line]
        if line.section_kind == "other":
            continue
        if _ruled_out(ctx.doc.text, ent.start_char) or _in_instrument_name(ctx.doc.text, ent.end_char, ctx.lexicon):
            continue
        span = _before_verb(ent.text, ctx.lexicon)
        name, abbreviation, aliases = clean_name(span)
        if not name:
            continue
        mention = Mention(name, ent.start_char, ent.start_char + len(span), line.index, "ner", line.section_kind, abbreviation, aliases)
        mention.scope = (sentence.start, sentence.end)
        mention.list_vote = ctx.line_votes.get(line.index, 0.0) if line.is_item else 0.0
        same_line = [m for m in mentions if m.line == line.index and m.kind not in PROSE_KINDS]
        in_series = any(_in_series(ctx.doc.text, m, mention) for m in [*same_line, *out] if m.line == line.index)
        # an item's other span names its condition again, unless it is a member of a series with one of the
        # item's names ("... for patients with X; Y; an allergy to Z; or W"): then it is a condition of its own
        mention.same_as = same_line[-1] if same_line and not in_series else None
        out.append(mention)
    return out


# what separates two members of a series: a comma or semicolon, "and"/"or", an article
_SERIES_GAP_RE = re.compile(r"\s*(?:[,;]\s*(?:(?:and|or|and/or)\s+)?|(?:and|or|and/or)\s+)(?:(?:an?|the)\s+)?", re.I)


def _in_series(text: str, a: Mention, b: Mention) -> bool:
    """Whether only a series separator stands between two mentions ("X; an allergy to Z")."""
    first, second = (a, b) if a.end <= b.start else (b, a)
    return _SERIES_GAP_RE.fullmatch(text, first.end, second.start) is not None


_NEGATED_BEFORE_RE = re.compile(r"\b(?:no|without|absence of|lack of|free of)\s+(?:other\s+|further\s+|known\s+)?$", re.I)


def _ruled_out(text: str, start: int) -> bool:
    """The words before a span rule the condition out ("and no other symptoms suggestive of X", "without X"):
    a condition that must be absent is a criterion of the indication, not one of its own."""
    return bool(_NEGATED_BEFORE_RE.search(text, max(0, start - 30), start))


_PHRASE_TAIL_RE = re.compile(r"[^\n,;:.()\[\]]{0,60}")


def _in_instrument_name(text: str, end: int, lexicon: Lexicon) -> bool:
    """The span is part of a scoring instrument's name ("Knee Injury and Osteoarthritis Outcome Score"):
    the phrase it stands in ends in an instrument word, so it names the scale, not a condition."""
    tail = words(_PHRASE_TAIL_RE.match(text, end).group())
    return bool(tail) and tail[-1] in lexicon.instrument_words


def _before_verb(span: str, lexicon: Lexicon) -> str:
    """An entity span cut before its first verb: the NER sometimes runs on into the clause
    ("Home sleep testing is not covered for persons"), and a condition name has no finite verb."""
    for token in re.finditer(r"\S+", span):
        if token.start() > 0 and token.group().lower().strip(",;:()") in lexicon.verb_stops:
            return span[: token.start()].rstrip(" ,;:(")
    return span


# "denied for acute pain other than for post-operative pain": the condition after it is the exception
_EXCEPTION_RE = re.compile(r"\b(?:other than|except|excluding|apart from)(?:\s+(?:for|in|with))?\s*$", re.I)
_SUBORDINATE_RE = re.compile(r"\b(?:for whom|in whom|who|whose|when|if|unless|after|other (?:\w+ )?(?:interventions|treatments|therapies|therapy|options))\b", re.I)
_CONDITIONAL_RE = re.compile(r"(?:^|[,;(]\s*|\b)(?:if|unless|when|where|in whom|for whom)\b[^,;.]*$", re.I)


# "not indicated in patients younger than 20 years": a negative cue whose limit (a quantity with its
# comparator) follows within this many characters restricts a covered indication rather than denying it (its vote counts half)
LIMIT_AFTER_NEGATIVE = 80


def _sentence_vote(ctx: _Context, sentence: Sentence, quantity_in=None) -> float:
    """The summed cue weights of a sentence; `quantity_in(start, end)` tells whether a quantity lies in a span."""
    vote = 0.0
    seen_positive_at = None
    i = bisect.bisect_left(ctx.cue_starts, sentence.start)
    cues = []
    while i < len(ctx.cues) and ctx.cues[i][0] < sentence.end:
        cues.append(ctx.cues[i])
        i += 1
    has_positive = any(weight > 0 for _, _, weight in cues)
    for start, end, weight in cues:
        if weight < 0 and seen_positive_at is not None and _SUBORDINATE_RE.search(ctx.doc.text, seen_positive_at, start):
            continue  # "may be used in patients for whom other therapies are contraindicated": a condition of coverage
        if weight < 0 and has_positive and _CONDITIONAL_RE.search(ctx.doc.text[sentence.start : start]):
            continue  # "If other treatments have failed or are contraindicated, ... may be covered"
        if weight > 0 and seen_positive_at is None:
            seen_positive_at = end
        vote += weight
    limits = quantity_in is not None and any(
        weight < 0 and quantity_in(end, min(end + LIMIT_AFTER_NEGATIVE, sentence.end)) for _, end, weight in cues
    )
    if vote < 0 and limits:
        vote /= 2  # "not indicated in patients younger than 20": a limit on a covered indication, not non-coverage
    return vote


def group_evidence(ctx: _Context, group: IndicationGroup, has_quantity) -> GroupEvidence:
    """Collect the rules' evidence about one candidate indication (its vote and what it was made of)."""
    evidence = GroupEvidence()
    seen: set[int] = set()
    list_votes = [m.list_vote for m in group.mentions if m.list_vote]
    if list_votes:
        evidence.list_vote = max(list_votes, key=abs)
        evidence.vote += evidence.list_vote
    texts = []
    for mention in group.mentions:
        start, end = mention.scope
        i = bisect.bisect_left(ctx.sentence_starts, start)
        while i < len(ctx.sentences) and ctx.sentences[i].start < end:
            sentence = ctx.sentences[i]
            if sentence.start not in seen:
                seen.add(sentence.start)
                kind = ctx.lines[sentence.line].section_kind
                sentence_vote = _sentence_vote(ctx, sentence, has_quantity)
                weight = SECTION_WEIGHT.get(kind, 0.25)
                evidence.vote += weight * sentence_vote
                evidence.positive += weight * max(sentence_vote, 0.0)
                evidence.negative += weight * max(-sentence_vote, 0.0)
                if len(texts) < 6:
                    texts.append(ctx.text_of(sentence))
            i += 1
    for mention in group.mentions:
        own = ctx.sentence_at(mention.start)
        exception = _EXCEPTION_RE.search(ctx.doc.text, max(0, mention.start - 30), mention.start)
        if own is not None and mention.section_kind == "policy" and not exception:
            own_vote = _sentence_vote(ctx, own, has_quantity)
            if own_vote <= -EXPLICIT_NEGATIVE:
                evidence.stated_not_covered = True
    # epidemiology, mechanism, "occurs in patients who have X": a sentence that describes states no indication
    evidence.background = all(
        m.kind in PROSE_KINDS and (own := ctx.sentence_at(m.start)) is not None and F.in_background(ctx.text_of(own), ctx.lexicon)
        for m in group.mentions
    )
    best = group.best
    evidence.mentions = len(group.mentions)
    evidence.policy_mentions = sum(m.section_kind == "policy" for m in group.mentions)
    evidence.evidence_mentions = sum(m.section_kind == "evidence" for m in group.mentions)
    evidence.kinds = {m.kind for m in group.mentions}
    evidence.best_section = best.section_kind
    evidence.bare = best.bare
    name_words = words(best.name)
    evidence.name_words = len(name_words)
    evidence.condition_words = sum(is_condition_like(w, ctx.lexicon) for w in name_words)
    # "end stage or advanced renal disease" is named "end stage", its head kept in the alias
    evidence.names_condition = any(is_condition_like(n, ctx.lexicon) for n in (best.name, *best.aliases))
    evidence.not_a_name = not_a_name(best.name, ctx.lexicon)
    evidence.names_service = head_word(best.name) in ctx.lexicon.not_conditions or treats_an_outcome(name_words, ctx.lexicon)
    evidence.rules_keep = not (
        all(m.kind in PROSE_KINDS for m in group.mentions)
        and not any(ctx.cue_vote(m.scope[0], m.scope[1]) or m.list_vote for m in group.mentions)
    ) and not (evidence.vote == 0 and all(m.section_kind != "policy" for m in group.mentions))
    evidence.text = " ".join([best.name, *texts])
    return evidence


def _icd10_codes(items: list[tuple[str, list[str], str]]) -> list[tuple[str, ...]]:
    """For each (name, aliases, sentence): the codes the policy writes next to the condition, else the
    nearest ICD-10-CM description (if close enough). The names to link go to the linker as one batch."""
    codes = [tuple(dict.fromkeys(ICD10_RE.findall(sentence))) if "ICD" in sentence else () for _, _, sentence in items]
    if settings.no_icd10_linking():
        return codes
    to_link = [i for i, explicit in enumerate(codes) if not explicit]
    for i, linked in zip(to_link, link_codes_many([(items[i][0], items[i][1]) for i in to_link])):
        codes[i] = linked
    return codes


DROP_RULE_INDICATION_AT = 0.9  # the classifier must be this sure to drop an indication the rules report
DROP_NON_RULE_AT = 0.5  # ... and this sure to drop a candidate the rules alone would not report
EXPLICIT_NEGATIVE = 2.0  # weighted negative cue votes that make "not_covered" final (one explicit policy statement)


def unsupported_proposal(evidence: GroupEvidence) -> bool:
    """An NER proposal that nothing in the rules backs: no cue and no list decides it, and it is named in
    background text or is not worded like a condition (a device, a method, a clause the NER over-read)."""
    if evidence.kinds != {"ner"}:
        return False
    if evidence.rules_keep:
        # a cue or a list backs it, yet it is named as a thing the policy pays for, not a condition
        # ("ocular hypotensive medication", "Home sleep testing")
        return evidence.names_service and not evidence.names_condition
    # Evidence and background sections name conditions of studies, populations and mechanisms; an indication
    # there is one the text decides (a cue, a list), which is what rules_keep already says is missing.
    return evidence.best_section != "policy" or not evidence.names_condition


def undecided_in_background(evidence: GroupEvidence) -> bool:
    """A condition named only outside the policy text, where no list lead-in and no cue strong enough to call
    coverage (`COVERED_AT`; a study's "should be considered as a treatment of X" weighs half there) says anything of its
    coverage ("Other secondary causes of osteoporosis include the following: - Hypogonadism"): the text
    does not decide it, so it is no indication (guideline 12.8), whatever its words look like."""
    return (evidence.best_section != "policy" and evidence.policy_mentions == 0 and abs(evidence.vote) < COVERED_AT
            and not evidence.list_vote)


def described_only(evidence: GroupEvidence) -> bool:
    """A candidate named only in descriptive sentences (prevalence, mechanism, "most cases occur in patients who
    have A, B and C": a background cue and no rule word) that no cue or list decides: background, not an indication."""
    return evidence.background and not evidence.rules_keep


def _decide(evidence: GroupEvidence, probs: dict[str, float]) -> tuple[str, float]:
    """Coverage and confidence from the classifier's probabilities.

    Candidates the rules report are dropped only when the classifier is very sure they are no indication;
    candidates the rules alone would not report (NER-only, passing mentions) need P(none) < 0.5 to stay
    (a higher cut for "patients with X" in the policy text, 0.7, let fragments through once the classifier
    was fit on out-of-fold candidates: the IVIG reference's precision fell from 0.93 to 0.78).
    Whatever the classifier says, a candidate worded as no condition name (`not_a_name`) or an NER proposal
    nothing in the rules backs (`unsupported_proposal`) is dropped: its words are not in the model's features.
    Confidence is the probability of the chosen label among the three coverage labels.
    """
    drop_at = DROP_RULE_INDICATION_AT if evidence.rules_keep else DROP_NON_RULE_AT
    if (
        probs.get("none", 0.0) >= drop_at
        or evidence.not_a_name
        or unsupported_proposal(evidence)
        or undecided_in_background(evidence)
        or described_only(evidence)
    ):
        return "none", probs["none"]
    if evidence.stated_not_covered:
        # "X is not covered" / "not reasonable and necessary for X" in the policy text decides, whatever the
        # words around it suggest: a withdrawn coverage must never read as covered.
        return "not_covered", max(probs.get("not_covered", 0.0), 0.5)
    coverage = {label: probs.get(label, 0.0) for label in ("covered", "not_covered", "unclear")}
    total = sum(coverage.values()) or 1.0
    best = max(coverage, key=coverage.get)
    return best, coverage[best] / total


def _indications(
    ctx: _Context,
    groups: list[IndicationGroup],
    abbreviations: dict[str, str],
    quantities: list[Quantity],
    coverage_model: CoverageModel | None,
    collected: list | None = None,
):
    # only a limit with its comparator written restricts: "not covered more than once per lifetime" is a cap,
    # "not covered once per lifetime" a denial
    q_starts = sorted(q.start for q in quantities if q.comparator is not None)
    has_quantity = lambda start, end: bisect.bisect_left(q_starts, start) < len(q_starts) and q_starts[bisect.bisect_left(q_starts, start)] < end  # noqa: E731
    ordered = sorted(groups, key=lambda g: g.best.start)
    evidence = [group_evidence(ctx, group, has_quantity) for group in ordered]
    if collected is not None:
        collected.extend(zip(ordered, evidence))
    if coverage_model is not None:
        decisions = [_decide(e, probs) for e, (_label, _p, probs) in zip(evidence, coverage_model.predict(evidence))]
    else:
        decisions = [coverage_from_vote(e.vote) if e.rules_keep and not e.not_a_name else ("none", 1.0) for e in evidence]
    kept = []  # (group, coverage, confidence, sentence text, aliases) of the candidates that stay
    for group, (coverage, confidence) in zip(ordered, decisions):
        if coverage == "none":
            continue  # named in passing, or in background text, with nothing said about its coverage
        best = group.best
        sentence = ctx.sentence_at(best.start)
        sentence_text = ctx.text_of(sentence) if sentence else ctx.doc.text[best.start : best.end]
        kept.append((group, coverage, confidence, sentence_text, _aliases_of(group)))
    codes = _icd10_codes([(group.best.name, aliases, sentence_text) for group, _, _, sentence_text, aliases in kept])
    indications: list[Indication] = []
    mention_to_indication: dict[int, int] = {}
    for (group, coverage, confidence, sentence_text, aliases), icd10_codes in zip(kept, codes):
        best = group.best
        local_id = len(indications)
        indications.append(
            Indication(
                local_id=local_id,
                name=best.name,
                normalized_name=normalize_name(best.name, abbreviations),
                coverage=coverage,
                section=best.section_kind,
                sentence=sentence_text,
                char_start=best.start,
                char_end=best.start + len(best.name) if ctx.doc.text.startswith(best.name, best.start) else best.end,
                confidence=round(float(confidence), 3),
                icd10_codes=icd10_codes,
                aliases=tuple(aliases),
            )
        )
        for m in group.mentions:
            mention_to_indication[id(m)] = local_id
    return indications, mention_to_indication


def _aliases_of(group: IndicationGroup) -> list[str]:
    """The group's other names (its mentions' names and aliases), first seen first, without the best name."""
    best_name = group.best.name
    aliases: list[str] = []
    for m in group.mentions:
        for alias in [m.name, *m.aliases]:
            if alias != best_name and alias not in aliases:
                aliases.append(alias)
    return aliases


def _scopes(groups: list[IndicationGroup], mention_to_indication: dict[int, int]) -> list[tuple[int, int, int, str]]:
    """(start, end, indication id, kind) of every head mention's scope, for attaching facts."""
    out = []
    for group in groups:
        for m in group.mentions:
            if id(m) in mention_to_indication:  # dropped groups govern nothing
                out.append((m.scope[0], m.scope[1], mention_to_indication[id(m)], m.kind))
    return out


def _document_drug(ctx: _Context) -> str | None:
    title = ctx.doc.meta.title or ctx.doc.text.split("\n", 1)[0]
    for match in re.finditer(r"\(([A-Z][A-Za-z\-]{2,9})\)", title):
        if match.group(1).lower() in ctx.lexicon.drug_markers:
            return match.group(1)
    lowered = title.lower()
    for marker in ctx.lexicon.drug_markers:
        if re.search(rf"\b{re.escape(marker)}\b", lowered):
            return marker.upper() if len(marker) <= 5 else marker
    return None


def _phase_windows(ctx: _Context, sentence: Sentence, offset: int, scopes, indication: int | None) -> list[tuple[int, int]]:
    """Where to look for a dose's phase: its sentence, its line so far, then its indication's head line."""
    line = ctx.lines[sentence.line]
    windows = [(sentence.start, sentence.end), (line.start, sentence.start)]
    for start, _end, ind, kind in scopes:
        if ind == indication and kind not in PROSE_KINDS and start <= offset:
            head_line = ctx.lines[bisect.bisect_right([ln.start for ln in ctx.lines], start) - 1]
            windows.append((head_line.start, head_line.end))
    return windows


_NO_FACT_SECTIONS = ("cms_national_coverage_policy", "bibliography", "references", "preamble")


def _read_thresholds(ctx: _Context, readings: list[tuple[Quantity, str]], attacher: Attacher) -> list[Threshold]:
    """Thresholds of limits read whole by a dedicated reader (category numbers "stage III or greater", caps "One
    stent per eye", Snellen acuities "20/50 or worse"): each (quantity, measure) filtered and attached as any threshold."""
    text = ctx.doc.text
    out = []
    for q, measure in readings:
        sentence = ctx.sentence_at(q.start)
        if sentence is None:
            continue
        line = ctx.lines[sentence.line]
        sentence_text = ctx.text_of(sentence)
        if line.section_name in _NO_FACT_SECTIONS or F.in_outcome_context(text, q, sentence.start, line.section_kind) or F.in_background(sentence_text, ctx.lexicon):
            continue
        negative = _sentence_vote(ctx, sentence) < 0 or ctx.line_votes.get(sentence.line, 0.0) < 0
        out.append(
            Threshold(
                indication_id=attacher.indication(q.start, sentence),
                measure=measure,
                comparator=q.comparator,
                value=q.low,
                value_high=q.high if q.comparator == "between" else None,
                unit=q.unit,
                polarity="exclusion" if negative else "inclusion",
                section=line.section_kind,
                text=text[q.start : q.end],
                char_start=q.start,
                char_end=q.end,
                sentence=sentence_text,
            )
        )
    return out


def _category_readings(ctx: _Context, categories: list[Category]) -> list[tuple[Quantity, str]]:
    """(quantity, measure) of each category number ("CKD stage" for "CKD stage III or greater")."""
    out = []
    for category in categories:
        sentence = ctx.sentence_at(category.quantity.start)
        sentence_start = sentence.start if sentence is not None else 0
        out.append((category.quantity, F.category_measure(ctx.doc.text, category.quantity.start, category.label, sentence_start)))
    return out


def _attacher(ctx: _Context, scopes, indications: list[Indication]) -> Attacher:
    """The attachment rules (pipeline.extract.attach) over this document's tree and indications."""
    forms = {ind.local_id: tuple(dict.fromkeys(fold(n) for n in (ind.name, *ind.aliases) if fold(n))) for ind in indications}
    covered = [ind.local_id for ind in indications if ind.coverage == "covered" and ind.section == "policy"]
    return Attacher(ctx.doc.text, ctx.lines, by_index(build_tree(ctx.doc.text, ctx.lines)), scopes, forms,
                    ctx.lexicon.criteria_intro, ctx.lexicon.alternatives_intro, ctx.lexicon.population_words,
                    sole=covered[0] if len(covered) == 1 else None)


def _numeric_facts(ctx: _Context, quantities: list[Quantity], scopes, categories: list[Category], indications: list[Indication]):
    """Doses and thresholds of the document's quantities and category numbers, each attached to the indication
    governing it."""
    text = ctx.doc.text
    drug = _document_drug(ctx)
    doses: list[Dose] = []
    attacher = _attacher(ctx, scopes, indications)
    thresholds: list[Threshold] = _read_thresholds(ctx, _category_readings(ctx, categories) + F.find_snellen(text), attacher)
    # a number read as a category ("stage 3 or greater") or an acuity is not also a quantity
    spans = [(t.char_start, t.char_end) for t in thresholds]
    quantities = [q for q in quantities if not any(s < q.end and q.start < e for s, e in spans)]
    # a cap overrides the bare count the parser read on its number ("a single dose (...) per eligible eye"), never a
    # limit or an amount ("1 gram per kg per month" is a dose)
    caps = [(c, m) for c, m in F.find_caps(text)
            if not any(q.start < c.number_end and c.number_start < q.end and (q.comparator is not None or q.unit not in (None, *F.COUNT_UNITS))
                       for q in quantities)]
    thresholds += _read_thresholds(ctx, caps, attacher)
    quantities = [q for q in quantities if not any(c.number_start < q.end and q.start < c.number_end for c, _m in caps)]
    previous: Quantity | None = None
    dose_end: int | None = None  # where the last dose ended: an interval after it in its sentence is its schedule
    for q in quantities:
        q, previous = replace(q, comparator=F.refine_comparator(text, q, previous)), q
        sentence = ctx.sentence_at(q.start)
        if sentence is None:
            continue
        line = ctx.lines[sentence.line]
        section = line.section_kind
        if line.section_name in _NO_FACT_SECTIONS:
            continue
        indication = attacher.indication(q.start, sentence)
        sentence_text = ctx.text_of(sentence)
        dose = F.is_dose(q, text, sentence.start)
        plain_amount = q.unit in F.PLAIN_AMOUNT_UNITS and not F.in_dose_context(sentence_text, ctx.lexicon)
        if dose and plain_amount and q.comparator != "between":
            continue  # an amount in a sentence about no drug ("300 mL of contrast"): neither a dose nor a limit
        if dose and not plain_amount:  # (a plain range goes on as a threshold: "prostate volume of 30-150ml")
            unit, per_time = F.split_per_time(q.unit)
            dose_end = q.end
            doses.append(
                Dose(
                    indication_id=indication,
                    drug=F.drug_near(text, q, sentence.start, sentence.end, drug, ctx.lexicon),
                    amount_low=q.low,
                    amount_high=q.high if q.high is not None else q.low,
                    unit=unit,
                    frequency=F.frequency_near(text, q, sentence.end, ctx.lexicon) or per_time,
                    phase=F.phase_near(text, q.start, _phase_windows(ctx, sentence, q.start, scopes, indication), ctx.lexicon),
                    section=section,
                    text=text[q.start : q.end],
                    char_start=q.start,
                    char_end=q.end,
                    sentence=sentence_text,
                )
            )
            continue
        if q.comparator is None and q.unit in F.SERVICE_COUNT_UNITS and _sentence_vote(ctx, sentence) > 0:
            q = replace(q, comparator="<=")  # "An additional 8 sessions will be covered": at most 8
        frequency = F.is_frequency_limit(text, q)  # "covered once per year", "three times a week": at most that often
        interval = None if frequency else F.interval_of(text, q)
        if (frequency or interval is not None) and (
            dose_end is not None and sentence.start <= dose_end <= q.start or F.is_dosing_interval(text, q, sentence.start, ctx.lexicon)
        ):
            frequency, interval = False, None  # a drug's schedule ("IVIG every 4 weeks", the interval after a dose), not a limit
        if frequency:
            q = replace(q, comparator="<=")
        if interval is not None:
            q = replace(q, comparator=interval[0], low=interval[1], high=interval[2])
        elif q.comparator is None or F.is_schedule(text, q):
            continue  # a bare number, or how often a dose of this sentence is given ("2 g/kg every 4 weeks")
        if F.in_outcome_context(text, q, sentence.start, section) or F.is_list_logic(text, q) or F.in_background(sentence_text, ctx.lexicon):
            continue
        measure = F.interval_measure(text, q, sentence.start) if interval is not None else F.measure_for(text, q, sentence.start, ctx.lexicon)
        unit = F.threshold_unit(text, q, measure, ctx.lexicon)
        negative = _sentence_vote(ctx, sentence) < 0 or ctx.line_votes.get(sentence.line, 0.0) < 0
        if F.is_prohibition(text, q, sentence.start) and q.comparator in F.FLIPPED:
            # "must not dispense more than a 3-month quantity": state the allowed side, "<= 3 months"
            q, negative = replace(q, comparator=F.FLIPPED[q.comparator]), False
        elif F.is_negated_look_back(text, q, sentence.start):
            q, negative = replace(q, comparator=">"), False  # "has not been performed within the past 2 years": > 2 years
        thresholds.append(
            Threshold(
                indication_id=indication,
                measure=measure,
                comparator=q.comparator,
                value=q.low,
                value_high=q.high if q.comparator == "between" else None,
                unit=unit,
                polarity="exclusion" if negative else "inclusion",
                section=section,
                text=text[q.start : q.end],
                char_start=q.start,
                char_end=q.end,
                sentence=sentence_text,
            )
        )
    thresholds.sort(key=lambda t: t.char_start)
    return doses, thresholds


def _criteria(ctx: _Context, items: list[tuple[int | None, Line, str]], mentions, mention_to_indication) -> list[Criterion]:
    out = []
    for mention_index, line, kind in items:
        text = ctx.doc.text[line.content_start : line.end].strip()
        text = re.sub(r"[;,.]?\s*(?:and|or|and/or)?\s*$", "", text).strip()
        if not text:
            continue
        if ctx.cue_vote(line.start, line.end) < 0:
            kind = "exclusion"
        out.append(
            Criterion(
                indication_id=None if mention_index is None else mention_to_indication.get(id(mentions[mention_index])),
                kind=kind,
                text=text,
                section=line.section_kind,
                char_start=line.content_start,
                char_end=line.content_start + len(text),
            )
        )
    return out
