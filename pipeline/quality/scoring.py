"""Scoring of extractions against hand-made references (pure functions, no I/O except the loaders).

Used by the tests (`tests/test_evaluate.py`, the corpus expectations) and by the training workflow to report
held-out metrics. Nothing here calls the extractor: callers pass `pipeline.model.Extraction` objects in.

Reference formats (see `models/ANNOTATION.md`):

* gold file (`models/gold/<ID>.json`): ``document``, ``indications`` (name, aliases, coverage, accept,
  icd10cm, criteria), ``doses`` (indication, drug, section, phase, low, high, unit, text), ``thresholds``
  (indication, section, measure, comparator, value, value_high, unit, polarity, text) and optionally
  ``optional_indications`` / ``optional_doses`` / ``optional_thresholds`` - facts that are defensible either
  way: extracting them is neither rewarded nor penalised. A threshold may carry ``comparator_any`` (other
  comparators that read the same sentence correctly, e.g. ``>=`` and ``=`` for "an average of 4 hours").
* expectation (`pipeline/quality/expectations/corpus.json`): one hand-checked fact a correct extractor must find in one
  training/dev document; see `match_expectation`.

Matching rules
--------------
Indications: names are normalised (`pipeline.text.fold`: accents folded, lower case,
apostrophes dropped, other punctuation -> space);
an extracted indication matches a gold one when any of its surface forms (name, normalized_name, aliases)
equals, contains or is contained in (whole words, contained side >= 4 characters) any gold form (name or
alias), or when their content-word Jaccard similarity is >= 0.5. Recall uses a one-to-one assignment (best
pairs first); precision counts an extracted indication as correct when it matches any gold indication, so two
surface forms of one condition are not punished twice. Extracted indications that only match an optional
indication are ignored. Coverage accuracy is measured over the recall assignment; the gold ``accept`` list
counts as correct too.

Doses: same low and high (within 1e-6) and same unit (case and spaces ignored; nouns that only name what is
counted - visits, sessions, events, injections ... - all compare equal to "count", see `COUNT_UNITS` in
`pipeline/extract/facts.py`). Thresholds: same value
(and value_high for ``between``, order-insensitive), same unit, and the same comparator (or one listed in
``comparator_any``). A threshold stated the other way round with the opposite polarity is the same fact
(``age < 20`` exclusion == ``age >= 20`` inclusion): with ``allow_complement`` (default) the complement
comparator matches when the polarity is flipped as well. Doses and thresholds are matched one-to-one; pairs
whose character span overlaps the gold text in the document are preferred, then pairs in the same section and
linked to the same indication. Scores are reported for section="policy" facts (gold policy facts vs extracted
facts labelled policy) and for all sections.

Quantities (``quantities.policy``): every policy dose and threshold reduced to its value(s) and unit - a dose's
low/high, a threshold's value (value and value_high for ``between``) - matched one-to-one on those alone, so a
number read with the right unit counts whatever its comparator, polarity or kind (dose vs threshold). ICD-10:
of the matched indications whose gold lists codes, how many carry an extracted code equal to or under a gold
code (``G43.709`` is under the category ``G43.7``; dots and case ignored).

Besides the counts, each block lists what was matched and missed (``matches``, ``misses``,
``false_positives``, the indications' ``gold_items`` and ``predicted``) with names, values, sentences and
character spans, so `pipeline.quality.error_kinds` can sort the errors by kind.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipeline.extract.facts import COUNT_UNITS
from pipeline.text import fold as normalize_name  # names compare in the extractor's folded form
from pipeline.datamodel import (
    COMPARATORS,
    COVERAGE_VALUES,
    PHASES,
    POLARITIES,
    SECTION_KINDS,
    Dose,
    Extraction,
    Indication,
    Threshold,
)

__all__ = [
    "GoldError",
    "load_gold",
    "validate_gold",
    "load_expectations",
    "validate_expectation",
    "normalize_name",
    "names_match",
    "name_similarity",
    "score_extraction",
    "match_expectation",
    "find_quote",
    "content_words",
    "unit_key",
    "COUNT",
    "evaluate_documents",
]

EPS = 1e-6
COMPLEMENT = {"<": ">=", ">=": "<", "<=": ">", ">": "<="}
_STOPWORDS = frozenset(
    "a an and as at by for from in into of on or the to with without due associated related".split()
)
EXPECTATION_KINDS = ("threshold", "dose", "indication")


class GoldError(ValueError):
    """A gold reference or an expectation that does not have the documented shape."""


# --------------------------------------------------------------------------------------------------------
# names


def _content_tokens(norm: str) -> set[str]:
    return {t for t in norm.split() if t not in _STOPWORDS}


def content_words(name: str) -> set[str]:
    """The words of a name that carry meaning: folded (`normalize_name`), stop words dropped."""
    return _content_tokens(normalize_name(name or ""))


def _contains_words(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def name_similarity(a: str, b: str) -> float:
    """Similarity of two condition names in [0, 1]; 0 means "no match" under the documented rules."""
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    if len(short) >= 4 and _contains_words(long_, short):
        return 0.8
    ta, tb = _content_tokens(na), _content_tokens(nb)
    if ta and tb:
        jac = len(ta & tb) / len(ta | tb)
        if jac >= 0.5:
            return 0.5 + 0.25 * jac  # in [0.625, 0.75]: below a containment match
    return 0.0


def names_match(a: str, b: str) -> bool:
    return name_similarity(a, b) > 0.0


def _forms_similarity(forms_a: Iterable[str], forms_b: Iterable[str]) -> float:
    best = 0.0
    forms_b = [f for f in forms_b if f]
    for fa in forms_a:
        if not fa:
            continue
        for fb in forms_b:
            s = name_similarity(fa, fb)
            if s > best:
                best = s
                if best == 1.0:
                    return best
    return best


def _indication_forms(ind: Indication) -> list[str]:
    return [ind.name, ind.normalized_name, *ind.aliases]


def _gold_forms(g: Mapping[str, Any]) -> list[str]:
    return [g["name"], *g.get("aliases", [])]


# --------------------------------------------------------------------------------------------------------
# loading and validation


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _need(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise GoldError(f"{where}: missing key {key!r}")
    return obj[key]


def _str_list(obj: Mapping[str, Any], key: str, where: str) -> list[str]:
    v = obj.get(key, [])
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise GoldError(f"{where}: {key!r} must be a list of strings")
    return list(v)


COUNT = "count"  # the one unit every count noun compares equal to


def unit_key(unit: Any) -> str | None:
    """Comparison form of a unit: case and spaces ignored, count nouns folded to `COUNT`."""
    if unit is None:
        return None
    u = re.sub(r"\s+", "", str(unit)).lower()
    if not u:
        return None
    if u in ("iu", "unit"):
        return "units"  # guideline section 5: units and international units are both `units`
    return COUNT if u in COUNT_UNITS else u


def _validate_indication(raw: Any, where: str, optional: bool) -> dict:
    if not isinstance(raw, Mapping):
        raise GoldError(f"{where}: must be an object")
    name = _need(raw, "name", where)
    if not isinstance(name, str) or not name.strip():
        raise GoldError(f"{where}: 'name' must be a non-empty string")
    out = {"name": name, "aliases": _str_list(raw, "aliases", where)}
    if optional:
        out["note"] = raw.get("note", "")
        return out
    coverage = _need(raw, "coverage", where)
    if coverage not in COVERAGE_VALUES:
        raise GoldError(f"{where}: coverage {coverage!r} not one of {COVERAGE_VALUES}")
    accept = _str_list(raw, "accept", where)
    for a in accept:
        if a not in COVERAGE_VALUES:
            raise GoldError(f"{where}: accept value {a!r} not one of {COVERAGE_VALUES}")
    out.update(
        coverage=coverage,
        accept=accept,
        icd10cm=_str_list(raw, "icd10cm", where),
        criteria=_str_list(raw, "criteria", where),
    )
    return out


def _validate_section(raw: Mapping[str, Any], where: str) -> str:
    section = _need(raw, "section", where)
    if section not in SECTION_KINDS:
        raise GoldError(f"{where}: section {section!r} not one of {SECTION_KINDS}")
    return section


def _validate_dose(raw: Any, where: str) -> dict:
    if not isinstance(raw, Mapping):
        raise GoldError(f"{where}: must be an object")
    low, high = _need(raw, "low", where), _need(raw, "high", where)
    if not _is_number(low) or not _is_number(high):
        raise GoldError(f"{where}: 'low' and 'high' must be finite numbers")
    if low > high:
        raise GoldError(f"{where}: low {low} > high {high}")
    unit = _need(raw, "unit", where)
    if not isinstance(unit, str) or not unit.strip():
        raise GoldError(f"{where}: 'unit' must be a non-empty string")
    phase = raw.get("phase")
    if phase is not None and phase not in PHASES:
        raise GoldError(f"{where}: phase {phase!r} not one of {PHASES} or null")
    indication = raw.get("indication")
    if indication is not None and not isinstance(indication, str):
        raise GoldError(f"{where}: 'indication' must be a string or null")
    return {
        "indication": indication,
        "drug": raw.get("drug"),
        "section": _validate_section(raw, where),
        "phase": phase,
        "low": float(low),
        "high": float(high),
        "unit": unit,
        "schedule": raw.get("schedule"),
        "text": raw.get("text", "") or "",
    }


def _validate_threshold(raw: Any, where: str) -> dict:
    if not isinstance(raw, Mapping):
        raise GoldError(f"{where}: must be an object")
    measure = _need(raw, "measure", where)
    if not isinstance(measure, str) or not measure.strip():
        raise GoldError(f"{where}: 'measure' must be a non-empty string")
    comparator = _need(raw, "comparator", where)
    if comparator not in COMPARATORS:
        raise GoldError(f"{where}: comparator {comparator!r} not one of {COMPARATORS}")
    comparator_any = _str_list(raw, "comparator_any", where)
    for c in comparator_any:
        if c not in COMPARATORS:
            raise GoldError(f"{where}: comparator_any value {c!r} not one of {COMPARATORS}")
    if comparator not in comparator_any:
        comparator_any = [comparator, *comparator_any]
    value = _need(raw, "value", where)
    if not _is_number(value):
        raise GoldError(f"{where}: 'value' must be a finite number")
    value_high = raw.get("value_high")
    if comparator == "between":
        if not _is_number(value_high):
            raise GoldError(f"{where}: comparator 'between' needs a numeric 'value_high'")
        value, value_high = min(value, value_high), max(value, value_high)
    elif value_high is not None and not _is_number(value_high):
        raise GoldError(f"{where}: 'value_high' must be a number or null")
    unit = _need(raw, "unit", where)
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise GoldError(f"{where}: 'unit' must be a non-empty string or null")
    polarity = raw.get("polarity", "inclusion")
    if polarity not in POLARITIES:
        raise GoldError(f"{where}: polarity {polarity!r} not one of {POLARITIES}")
    indication = raw.get("indication")
    if indication is not None and not isinstance(indication, str):
        raise GoldError(f"{where}: 'indication' must be a string or null")
    return {
        "indication": indication,
        "section": _validate_section(raw, where),
        "measure": measure,
        "comparator": comparator,
        "comparator_any": comparator_any,
        "value": float(value),
        "value_high": None if value_high is None else float(value_high),
        "unit": unit,
        "polarity": polarity,
        "text": raw.get("text", "") or "",
    }


def validate_gold(data: Any, source: str = "gold") -> dict:
    """Check a parsed gold reference and return it normalised (defaults filled in).

    Raises `GoldError` naming the file, list and index of the first problem.
    """
    if not isinstance(data, Mapping):
        raise GoldError(f"{source}: top level must be a JSON object")
    for key in ("document", "indications", "doses", "thresholds"):
        _need(data, key, source)
    if not isinstance(data["document"], str) or not data["document"]:
        raise GoldError(f"{source}: 'document' must be a non-empty string")
    out: dict[str, Any] = {"document": data["document"], "about": data.get("about", "")}
    for key, fn, optional in (
        ("indications", _validate_indication, False),
        ("optional_indications", _validate_indication, True),
    ):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise GoldError(f"{source}: {key!r} must be a list")
        out[key] = [fn(item, f"{source}: {key}[{i}]", optional) for i, item in enumerate(items)]
    for key, fn in (
        ("doses", _validate_dose),
        ("optional_doses", _validate_dose),
        ("thresholds", _validate_threshold),
        ("optional_thresholds", _validate_threshold),
    ):
        items = data.get(key, [])
        if not isinstance(items, list):
            raise GoldError(f"{source}: {key!r} must be a list")
        out[key] = [fn(item, f"{source}: {key}[{i}]") for i, item in enumerate(items)]
    known = {normalize_name(i["name"]) for i in out["indications"] + out["optional_indications"]}
    for key in ("doses", "optional_doses", "thresholds", "optional_thresholds"):
        for i, fact in enumerate(out[key]):
            if fact["indication"] is not None and normalize_name(fact["indication"]) not in known:
                raise GoldError(
                    f"{source}: {key}[{i}]: indication {fact['indication']!r} is not the name of a gold indication"
                )
    seen: set[str] = set()
    for i, ind in enumerate(out["indications"]):
        n = normalize_name(ind["name"])
        if n in seen:
            raise GoldError(f"{source}: indications[{i}]: duplicate indication name {ind['name']!r}")
        seen.add(n)
    return out


def load_gold(path: str | Path) -> dict:
    """Read and validate a gold reference file (see the module docstring for the format)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldError(f"{p}: no such gold file") from None
    except json.JSONDecodeError as exc:
        raise GoldError(f"{p}: invalid JSON: {exc}") from None
    return validate_gold(data, source=str(p))


def validate_expectation(exp: Any, where: str = "expectation") -> dict:
    """Check one expectation object; returns it unchanged. Raises `GoldError`."""
    if not isinstance(exp, Mapping):
        raise GoldError(f"{where}: must be an object")
    for key in ("id", "doc", "kind", "quote", "why"):
        v = _need(exp, key, where)
        if not isinstance(v, str) or not v.strip():
            raise GoldError(f"{where}: {key!r} must be a non-empty string")
    kind = exp["kind"]
    if kind not in EXPECTATION_KINDS:
        raise GoldError(f"{where}: kind {kind!r} not one of {EXPECTATION_KINDS}")
    if kind == "threshold":
        mc = _need(exp, "measure_contains", where)
        if isinstance(mc, str):
            mc = [mc]
        if not isinstance(mc, list) or not mc or not all(isinstance(s, str) and s == s.lower() for s in mc):
            raise GoldError(f"{where}: 'measure_contains' must be a lower-case string or list of them")
        if "comparator" not in exp and "comparator_any" not in exp:
            raise GoldError(f"{where}: missing key 'comparator'")
        for c in [exp.get("comparator"), *exp.get("comparator_any", [])]:
            if c is not None and c not in COMPARATORS:
                raise GoldError(f"{where}: comparator {c!r} not one of {COMPARATORS}")
        if not _is_number(_need(exp, "value", where)):
            raise GoldError(f"{where}: 'value' must be a number")
        if "between" in (exp.get("comparator"), *exp.get("comparator_any", [])) and not _is_number(
            exp.get("value_high")
        ):
            raise GoldError(f"{where}: 'between' needs a numeric 'value_high'")
        if "polarity" in exp and exp["polarity"] not in POLARITIES:
            raise GoldError(f"{where}: polarity {exp['polarity']!r} not one of {POLARITIES}")
    elif kind == "dose":
        for key in ("low", "high"):
            if not _is_number(_need(exp, key, where)):
                raise GoldError(f"{where}: {key!r} must be a number")
        if "unit" not in exp and "unit_any" not in exp:
            raise GoldError(f"{where}: missing key 'unit'")
        if "phase" in exp and exp["phase"] is not None and exp["phase"] not in PHASES:
            raise GoldError(f"{where}: phase {exp['phase']!r} not one of {PHASES}")
    else:
        names = _need(exp, "name_any", where)
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise GoldError(f"{where}: 'name_any' must be a non-empty list of strings")
        if "coverage" not in exp and "coverage_any" not in exp:
            raise GoldError(f"{where}: missing key 'coverage'")
        for c in [exp.get("coverage"), *exp.get("coverage_any", [])]:
            if c is not None and c not in COVERAGE_VALUES:
                raise GoldError(f"{where}: coverage {c!r} not one of {COVERAGE_VALUES}")
    if "section" in exp and exp["section"] not in SECTION_KINDS:
        raise GoldError(f"{where}: section {exp['section']!r} not one of {SECTION_KINDS}")
    return dict(exp)


def load_expectations(path: str | Path) -> list[dict]:
    """Read and validate an expectations file (a JSON list); ids must be unique."""
    p = Path(path)
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise GoldError(f"{p}: top level must be a list")
    out, seen = [], set()
    for i, exp in enumerate(data):
        e = validate_expectation(exp, f"{p}[{i}]")
        if e["id"] in seen:
            raise GoldError(f"{p}[{i}]: duplicate id {e['id']!r}")
        seen.add(e["id"])
        out.append(e)
    return out


# --------------------------------------------------------------------------------------------------------
# fact comparison


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= EPS


def _units_equal(a: str | None, b: str | None) -> bool:
    return unit_key(a) == unit_key(b)


def _dose_compatible(g: Mapping[str, Any], d: Dose, check_unit: bool = True) -> bool:
    same_unit = _units_equal(g["unit"], d.unit) or not check_unit
    return _close(g["low"], d.amount_low) and _close(g["high"], d.amount_high) and same_unit


def _threshold_values_equal(g: Mapping[str, Any], t: Threshold, comparator: str) -> bool:
    if comparator == "between":
        if t.value_high is None or g.get("value_high") is None:
            return False
        return _close(min(g["value"], g["value_high"]), min(t.value, t.value_high)) and _close(
            max(g["value"], g["value_high"]), max(t.value, t.value_high)
        )
    return _close(g["value"], t.value)


def _threshold_compatible(g: Mapping[str, Any], t: Threshold, allow_complement: bool = True,
                          check_unit: bool = True) -> bool:
    if check_unit and not _units_equal(g["unit"], t.unit):
        return False
    accepted = g.get("comparator_any") or [g["comparator"]]
    if t.comparator in accepted:
        return _threshold_values_equal(g, t, t.comparator)
    if allow_complement and t.polarity != g.get("polarity", "inclusion"):
        if any(COMPLEMENT.get(c) == t.comparator for c in accepted):
            return _close(g["value"], t.value)
    return False


def find_quote(doc_text: str, snippet: str) -> list[tuple[int, int]]:
    """Character spans of `snippet` in `doc_text`, any run of whitespace matching any other."""
    if not doc_text or not snippet or not snippet.strip():
        return []
    pattern = r"\s+".join(re.escape(w) for w in snippet.split())
    try:
        return [(m.start(), m.end()) for m in re.finditer(pattern, doc_text)]
    except re.error:  # pragma: no cover - escaped pattern
        return []


def _overlaps(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _linked_indication(extraction: Extraction, indication_id: int | None) -> Indication | None:
    if indication_id is None:
        return None
    for ind in extraction.indications:
        if ind.local_id == indication_id:
            return ind
    return None


def _link_ok(extraction: Extraction, fact_indication_id: int | None, gold_indication: str | None,
             gold_aliases: Mapping[str, list[str]]) -> bool:
    ind = _linked_indication(extraction, fact_indication_id)
    if gold_indication is None:
        return ind is None
    if ind is None:
        return False
    forms = [gold_indication, *gold_aliases.get(normalize_name(gold_indication), [])]
    return _forms_similarity(_indication_forms(ind), forms) > 0


def _summ_gold(g: Mapping[str, Any], kind: str) -> dict:
    if kind == "dose":
        keys = ("indication", "drug", "section", "low", "high", "unit", "phase", "text")
    else:
        keys = ("indication", "section", "measure", "comparator", "comparator_any", "value", "value_high", "unit",
                "polarity", "text")
    return {k: g.get(k) for k in keys}


def _summ_fact(f: Dose | Threshold, kind: str, extraction: Extraction) -> dict:
    linked = _linked_indication(extraction, f.indication_id)
    where = {"text": f.text, "char_start": f.char_start, "char_end": f.char_end, "sentence": f.sentence,
             "indication": linked.name if linked else None}
    if kind == "dose":
        assert isinstance(f, Dose)
        return {"drug": f.drug, "section": f.section, "low": f.amount_low, "high": f.amount_high,
                "unit": f.unit, "phase": f.phase, **where}
    assert isinstance(f, Threshold)
    return {"measure": f.measure, "section": f.section, "comparator": f.comparator, "value": f.value,
            "value_high": f.value_high, "unit": f.unit, "polarity": f.polarity, **where}


def _ratio(num: int, den: int, empty: float = 1.0) -> float:
    return num / den if den else empty


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if (p + r) else 0.0


def _assign(pairs: list[tuple[float, int, int]]) -> dict[int, int]:
    """One-to-one matching of (-weight, gold index, predicted index) candidates, best pairs first:
    gold index -> predicted index."""
    g_used: dict[int, int] = {}
    p_used: set[int] = set()
    for _, gi, pi in sorted(pairs):
        if gi in g_used or pi in p_used:
            continue
        g_used[gi] = pi
        p_used.add(pi)
    return g_used


def _score_facts(
    kind: str,
    extraction: Extraction,
    doc_text: str,
    gold: Mapping[str, Any],
    scope: str,
    allow_complement: bool,
) -> dict:
    key = "doses" if kind == "dose" else "thresholds"
    facts: list[Dose | Threshold] = list(extraction.doses if kind == "dose" else extraction.thresholds)
    gold_facts = [g for g in gold[key] if scope == "all" or g["section"] == scope]
    optional = list(gold.get(f"optional_{key}", []))
    preds = [f for f in facts if scope == "all" or f.section == scope]

    def compatible(g: Mapping[str, Any], f: Dose | Threshold, check_unit: bool = True) -> bool:
        if kind == "dose":
            return _dose_compatible(g, f, check_unit)  # type: ignore[arg-type]
        return _threshold_compatible(g, f, allow_complement, check_unit)  # type: ignore[arg-type]

    aliases = {normalize_name(i["name"]): i.get("aliases", []) for i in gold["indications"]}
    spans = [find_quote(doc_text, g["text"]) for g in gold_facts]
    pairs = []
    for gi, g in enumerate(gold_facts):
        for pi, f in enumerate(preds):
            if not compatible(g, f):
                continue
            w = 1.0
            if _overlaps(spans[gi], f.char_start, f.char_end):
                w += 4.0
            if f.section == g["section"]:
                w += 1.0
            if _link_ok(extraction, f.indication_id, g["indication"], aliases):
                w += 0.5
            pairs.append((-w, gi, pi))
    g_used = _assign(pairs)
    p_used = set(g_used.values())

    ignored = [pi for pi, f in enumerate(preds) if pi not in p_used and any(compatible(o, f) for o in optional)]
    fps = [pi for pi in range(len(preds)) if pi not in p_used and pi not in ignored]
    missed = [gi for gi in range(len(gold_facts)) if gi not in g_used]
    # a missed gold fact and a false positive that agree on everything but the unit: the unit was lost or misread
    unit_pairs = _assign([(0.0, gi, pi) for gi in missed for pi in fps
                          if compatible(gold_facts[gi], preds[pi], check_unit=False)])
    tp, fn, fp = len(g_used), len(gold_facts) - len(g_used), len(fps)
    recall = _ratio(tp, tp + fn)
    precision = _ratio(tp, tp + fp)
    linked = sum(
        1 for gi, pi in g_used.items()
        if _link_ok(extraction, preds[pi].indication_id, gold_facts[gi]["indication"], aliases)
    )
    out = {
        "gold": len(gold_facts),
        "predicted": len(preds),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "ignored": len(ignored),
        "recall": recall,
        "precision": precision,
        "f1": _f1(precision, recall),
        "indication_link_correct": linked,
        "indication_link_accuracy": _ratio(linked, tp),
        "misses": [_summ_gold(gold_facts[gi], kind) for gi in range(len(gold_facts)) if gi not in g_used],
        "false_positives": [_summ_fact(preds[pi], kind, extraction) for pi in fps],
        "matches": [
            {"gold": _summ_gold(gold_facts[gi], kind), "extracted": _summ_fact(preds[pi], kind, extraction),
             "link_ok": _link_ok(extraction, preds[pi].indication_id, gold_facts[gi]["indication"], aliases)}
            for gi, pi in sorted(g_used.items())
        ],
        "unit_mismatches": [
            {"gold": _summ_gold(gold_facts[gi], kind), "extracted": _summ_fact(preds[pi], kind, extraction)}
            for gi, pi in sorted(unit_pairs.items())
        ],
    }
    if kind == "threshold":
        pol_ok = 0
        for gi, pi in g_used.items():
            g, t = gold_facts[gi], preds[pi]
            same_direction = t.comparator in (g.get("comparator_any") or [g["comparator"]])
            expected = g["polarity"] if same_direction else ("exclusion" if g["polarity"] == "inclusion" else "inclusion")
            pol_ok += t.polarity == expected
        out["polarity_correct"] = pol_ok
        out["polarity_accuracy"] = _ratio(pol_ok, tp)
    return out


def _score_indications(extraction: Extraction, gold: Mapping[str, Any]) -> dict:
    golds = gold["indications"]
    optional = gold.get("optional_indications", [])
    preds = list(extraction.indications)
    sims = [[_forms_similarity(_indication_forms(p), _gold_forms(g)) for p in preds] for g in golds]
    pairs = []
    for gi, g in enumerate(golds):
        ok_cov = {g["coverage"], *g.get("accept", [])}
        for pi, p in enumerate(preds):
            s = sims[gi][pi]
            if s > 0:
                pairs.append((-(s + (0.01 if p.coverage in ok_cov else 0.0)), gi, pi))
    g_used = _assign(pairs)
    tp_pred, ignored, fps = 0, 0, []
    for pi, p in enumerate(preds):
        if any(sims[gi][pi] > 0 for gi in range(len(golds))):
            tp_pred += 1
        elif any(_forms_similarity(_indication_forms(p), _gold_forms(o)) > 0 for o in optional):
            ignored += 1
        else:
            fps.append(p)
    cov_ok, cov_errors = 0, []
    for gi, pi in g_used.items():
        g, p = golds[gi], preds[pi]
        if p.coverage == g["coverage"] or p.coverage in g.get("accept", []):
            cov_ok += 1
        else:
            cov_errors.append({"gold": g["name"], "extracted": p.name, "expected": g["coverage"], "got": p.coverage})
    tp, fn = len(g_used), len(golds) - len(g_used)
    recall = _ratio(tp, len(golds))
    precision = _ratio(tp_pred, tp_pred + len(fps))
    icd_pairs = [(golds[gi]["icd10cm"], preds[pi].icd10_codes) for gi, pi in g_used.items() if golds[gi].get("icd10cm")]
    icd_ok = sum(_icd10_right(gold_codes, codes) for gold_codes, codes in icd_pairs)
    return {
        "gold": len(golds),
        "predicted": len(preds),
        "tp": tp,
        "tp_predicted": tp_pred,
        "fp": len(fps),
        "fn": fn,
        "ignored": ignored,
        "recall": recall,
        "precision": precision,
        "f1": _f1(precision, recall),
        "coverage_correct": cov_ok,
        "coverage_total": tp,
        "coverage_accuracy": _ratio(cov_ok, tp),
        "misses": [golds[gi]["name"] for gi in range(len(golds)) if gi not in g_used],
        "false_positives": [_summ_indication(p) for p in fps],
        "coverage_errors": cov_errors,
        "matches": [{"gold": golds[gi]["name"], "extracted": preds[pi].name} for gi, pi in sorted(g_used.items())],
        "icd10_correct": icd_ok,
        "icd10_total": len(icd_pairs),
        "icd10_accuracy": _ratio(icd_ok, len(icd_pairs)),
        "gold_items": [
            {"name": g["name"], "aliases": list(g.get("aliases", [])), "coverage": g["coverage"],
             "criteria": list(g.get("criteria", [])), "matched": preds[g_used[gi]].name if gi in g_used else None}
            for gi, g in enumerate(golds)
        ],
        "predicted_items": [_summ_indication(p) for p in preds],
    }


def _summ_indication(p: Indication) -> dict:
    return {"name": p.name, "coverage": p.coverage, "section": p.section, "aliases": list(p.aliases),
            "sentence": p.sentence, "char_start": p.char_start, "char_end": p.char_end,
            "icd10_codes": list(p.icd10_codes)}


def _icd10_key(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _icd10_right(gold_codes: Iterable[str], codes: Iterable[str]) -> bool:
    """Some extracted code equals a gold code or lies under it (a gold category covers its subcodes)."""
    wanted = [_icd10_key(g) for g in gold_codes]
    return any(_icd10_key(c).startswith(w) for c in codes for w in wanted if w)


def _gold_quantity(g: Mapping[str, Any], kind: str) -> tuple[float, float, str | None]:
    if kind == "dose":
        return g["low"], g["high"], unit_key(g["unit"])
    high = g["value_high"] if g["comparator"] == "between" and g["value_high"] is not None else g["value"]
    return min(g["value"], high), max(g["value"], high), unit_key(g["unit"])


def _quantity(f: Dose | Threshold) -> tuple[float, float, str | None]:
    if isinstance(f, Dose):
        return f.amount_low, f.amount_high, unit_key(f.unit)
    high = f.value_high if f.comparator == "between" and f.value_high is not None else f.value
    return min(f.value, high), max(f.value, high), unit_key(f.unit)


def _quantity_key(q: tuple[float, float, str | None]) -> tuple[float, float, str | None]:
    # values equal within EPS land on one key: the match is a multiset intersection, linear in the facts
    return round(q[0] / EPS) * EPS, round(q[1] / EPS) * EPS, q[2]


def _score_quantities(extraction: Extraction, gold: Mapping[str, Any], scope: str = "policy") -> dict:
    """Value(s) + unit of every dose and threshold in `scope`, matched one-to-one (see the module docstring)."""
    def gold_keys(prefix: str) -> Counter:
        return Counter(_quantity_key(_gold_quantity(g, kind)) for kind, key in (("dose", "doses"), ("threshold", "thresholds"))
                       for g in gold.get(f"{prefix}{key}", []) if scope == "all" or g["section"] == scope)

    wanted, optional = gold_keys(""), gold_keys("optional_")
    got = Counter(_quantity_key(_quantity(f)) for f in (*extraction.doses, *extraction.thresholds)
                  if scope == "all" or f.section == scope)
    tp = sum((wanted & got).values())
    extra = got - wanted
    ignored = sum(n for key, n in extra.items() if key in optional)  # as for facts: any optional match is ignored
    fp, fn = sum(extra.values()) - ignored, sum(wanted.values()) - tp
    recall, precision = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    return {"gold": sum(wanted.values()), "predicted": sum(got.values()), "tp": tp, "fp": fp, "fn": fn,
            "ignored": ignored, "recall": recall, "precision": precision, "f1": _f1(precision, recall)}


def score_extraction(extraction: Extraction, text: str, gold: Mapping[str, Any], *,
                     allow_complement: bool = True) -> dict:
    """Score one document's extraction against its gold reference.

    `text` is the document's normalised text (the one the extraction's char offsets point into); it is only
    used to prefer extracted facts whose span covers the gold quote. `gold` is a dict from `load_gold` (a raw
    dict is validated first). Returns ``{"indications": {...}, "doses": {"policy": {...}, "all": {...}},
    "thresholds": {"policy": {...}, "all": {...}}, "quantities": {"policy": {...}}, "summary": {flat metrics}}``;
    every block carries tp/fp/fn, recall, precision and f1; the indication, dose and threshold blocks also list
    their misses, false positives and matches.
    """
    # validation is idempotent and cheap: it also fills defaults for hand-built dicts
    gold = validate_gold(gold, source=str(gold.get("document", "gold")) if isinstance(gold, Mapping) else "gold")
    result: dict[str, Any] = {"document": gold["document"], "indications": _score_indications(extraction, gold)}
    for kind, key in (("dose", "doses"), ("threshold", "thresholds")):
        result[key] = {
            scope: _score_facts(kind, extraction, text or "", gold, scope, allow_complement)
            for scope in ("policy", "all")
        }
    result["quantities"] = {"policy": _score_quantities(extraction, gold)}
    result["summary"] = _summary(result)
    return result


def _summary(result: Mapping[str, Any]) -> dict:
    ind = result["indications"]
    s = {
        "indication_recall": ind["recall"],
        "indication_precision": ind["precision"],
        "indication_f1": ind["f1"],
        "coverage_accuracy": ind["coverage_accuracy"],
    }
    for key, short in (("doses", "dose"), ("thresholds", "threshold")):
        for scope in ("policy", "all"):
            block = result[key][scope]
            s[f"{short}_recall_{scope}"] = block["recall"]
            s[f"{short}_precision_{scope}"] = block["precision"]
            s[f"{short}_f1_{scope}"] = block["f1"]
    s["quantity_f1_policy"] = result["quantities"]["policy"]["f1"]
    s["icd10_accuracy"] = ind["icd10_accuracy"]
    return s


# --------------------------------------------------------------------------------------------------------
# expectations


def _as_list(v: Any) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _unit_ok(exp: Mapping[str, Any], unit: str | None) -> bool:
    if "unit_any" in exp:
        return any(_units_equal(u, unit) for u in exp["unit_any"])
    if "unit" in exp:
        return _units_equal(exp["unit"], unit)
    return True


def _match_threshold_exp(t: Threshold, exp: Mapping[str, Any]) -> bool:
    needles = _as_list(exp.get("measure_contains"))
    hay = f"{t.measure or ''}\n{t.text or ''}".lower()
    if needles and not any(n.lower() in hay for n in needles):
        return False
    if not _unit_ok(exp, t.unit):
        return False
    if "section" in exp and t.section != exp["section"]:
        return False
    comps = _as_list(exp.get("comparator_any")) or _as_list(exp.get("comparator"))
    if t.comparator in comps:
        if t.comparator == "between":
            if t.value_high is None or exp.get("value_high") is None:
                return False
            lo, hi = sorted((exp["value"], exp["value_high"]))
            if not (_close(lo, min(t.value, t.value_high)) and _close(hi, max(t.value, t.value_high))):
                return False
        elif not _close(exp["value"], t.value):
            return False
        return "polarity" not in exp or t.polarity == exp["polarity"]
    # the same fact stated the other way round: complement comparator with the opposite polarity
    if "polarity" in exp and t.polarity != exp["polarity"] and any(COMPLEMENT.get(c) == t.comparator for c in comps):
        return _close(exp["value"], t.value)
    return False


def _match_dose_exp(d: Dose, exp: Mapping[str, Any]) -> bool:
    if not (_close(exp["low"], d.amount_low) and _close(exp["high"], d.amount_high)):
        return False
    if not _unit_ok(exp, d.unit):
        return False
    if "section" in exp and d.section != exp["section"]:
        return False
    if "phase" in exp and d.phase != exp["phase"]:
        return False
    if "drug_contains" in exp:
        drug = f"{d.drug or ''}\n{d.text or ''}\n{d.sentence or ''}".lower()
        if not any(n.lower() in drug for n in _as_list(exp["drug_contains"])):
            return False
    return True


def _match_indication_exp(ind: Indication, exp: Mapping[str, Any]) -> bool:
    coverages = _as_list(exp.get("coverage_any")) or _as_list(exp.get("coverage"))
    if coverages and ind.coverage not in coverages:
        return False
    if "section" in exp and ind.section != exp["section"]:
        return False
    return any(_name_either_way(form, want) for form in _indication_forms(ind) for want in exp["name_any"])


def _name_either_way(a: str, b: str) -> bool:
    na, nb = normalize_name(a), normalize_name(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    return len(short) >= 4 and _contains_words(long_, short)


def match_expectation(extraction: Extraction, expectation: Mapping[str, Any]) -> bool:
    """True when some fact of `extraction` satisfies the expectation.

    threshold: ``measure_contains`` (lower-case string or list, found in the measure or the fact's text),
    ``comparator`` (or ``comparator_any``), ``value``, ``value_high`` (for between; order-insensitive),
    ``unit`` (normalised or null; or ``unit_any``) and optionally ``section``, ``polarity``. A complement
    comparator with the opposite polarity also matches when the expectation gives a polarity.
    dose: ``low``, ``high``, ``unit`` (or ``unit_any``), optionally ``section``, ``phase``, ``drug_contains``.
    indication: ``name_any`` (names/aliases, matched as whole-word substring either way after normalisation)
    and ``coverage`` (or ``coverage_any``), optionally ``section``.
    """
    kind = expectation.get("kind")
    if kind == "threshold":
        return any(_match_threshold_exp(t, expectation) for t in extraction.thresholds)
    if kind == "dose":
        return any(_match_dose_exp(d, expectation) for d in extraction.doses)
    if kind == "indication":
        return any(_match_indication_exp(i, expectation) for i in extraction.indications)
    raise GoldError(f"expectation {expectation.get('id', '?')!r}: unknown kind {kind!r}")


# --------------------------------------------------------------------------------------------------------
# aggregation


_BLOCKS = (
    ("indication", ("indications",)),
    ("dose_policy", ("doses", "policy")),
    ("dose_all", ("doses", "all")),
    ("threshold_policy", ("thresholds", "policy")),
    ("threshold_all", ("thresholds", "all")),
    ("quantity_policy", ("quantities", "policy")),
)


def _get(d: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any]:
    for k in path:
        d = d[k]
    return d


def evaluate_documents(docs: Sequence[tuple[Extraction, str, Mapping[str, Any]]], *,
                       allow_complement: bool = True) -> dict:
    """Score several documents and aggregate.

    micro: counts summed over documents, then recall/precision/f1 (indication precision uses the
    predicted-side true positives). macro: mean of the per-document values over the documents where the
    value is defined (recall: documents with gold facts of that kind; precision: documents with predictions
    that were not ignored).
    """
    per_doc = [score_extraction(e, t, g, allow_complement=allow_complement) for e, t, g in docs]
    micro: dict[str, float | int] = {}
    macro: dict[str, float | None] = {}
    for name, path in _BLOCKS:
        blocks = [_get(r, path) for r in per_doc]
        tp = sum(b["tp"] for b in blocks)
        fn = sum(b["fn"] for b in blocks)
        fp = sum(b["fp"] for b in blocks)
        tp_pred = sum(b.get("tp_predicted", b["tp"]) for b in blocks)
        r = _ratio(tp, tp + fn)
        p = _ratio(tp_pred, tp_pred + fp)
        micro.update({f"{name}_tp": tp, f"{name}_fp": fp, f"{name}_fn": fn,
                      f"{name}_recall": r, f"{name}_precision": p, f"{name}_f1": _f1(p, r)})
        rec = [b["recall"] for b in blocks if b["gold"]]
        pre = [b["precision"] for b in blocks if (b.get("tp_predicted", b["tp"]) + b["fp"])]
        macro[f"{name}_recall"] = sum(rec) / len(rec) if rec else None
        macro[f"{name}_precision"] = sum(pre) / len(pre) if pre else None
    cov_ok = sum(r["indications"]["coverage_correct"] for r in per_doc)
    cov_n = sum(r["indications"]["coverage_total"] for r in per_doc)
    micro["coverage_accuracy"] = _ratio(cov_ok, cov_n)
    cov = [r["indications"]["coverage_accuracy"] for r in per_doc if r["indications"]["coverage_total"]]
    macro["coverage_accuracy"] = sum(cov) / len(cov) if cov else None
    icd_ok = sum(r["indications"]["icd10_correct"] for r in per_doc)
    icd_n = sum(r["indications"]["icd10_total"] for r in per_doc)
    micro.update(icd10_correct=icd_ok, icd10_total=icd_n, icd10_accuracy=_ratio(icd_ok, icd_n))
    return {
        "documents": len(per_doc),
        "micro": micro,
        "macro": macro,
        "per_document": [{"document": r["document"], **r["summary"]} for r in per_doc],
        "details": per_doc,
    }
