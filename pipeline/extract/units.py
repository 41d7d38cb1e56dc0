"""Units of measure as MACs write them, and their normal forms.

The lexicon lives in `data/units.json` and is validated and compiled once at import. A unit is a head
("mg", "years", "visits") followed by up to three denominators ("mg/kg", "mL/min/1.73 m2",
"events per hour"); a unit may also be a bare denominator after a count ("5 per hour" -> "/hour").

`match_unit` reads the unit written right after a number; `normalize_unit` maps a unit as written to
its normal form; `split_rate` separates a trailing time denominator ("g/kg/day" -> "g/kg", "day").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.extract.lexicon import LexiconError  # one error type for every rule data file
from pipeline.paths import EXTRACT_DATA_DIR as DATA_DIR

UNITS_PATH = DATA_DIR / "units.json"

# Whitespace that may stand inside a mention on one line (never a line break: a unit does not wrap).
_SP = "[ \\t\u00a0\u2009\u202f]"


def read_lexicon(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or a LexiconError naming the file and what is wrong with it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read lexicon ({exc.strerror or exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: the top level must be a JSON object")
    if not isinstance(data.get("version"), int):
        raise LexiconError(f"{path}: 'version' must be an integer")
    return data


def check(condition: bool, path: Path, where: str, message: str) -> None:
    """Raise a LexiconError for entry `where` of the file at `path` unless `condition` holds."""
    if not condition:
        raise LexiconError(f"{Path(path).name}: {where}: {message}")


def string_list(value: Any, path: Path, where: str, *, allow_empty: bool = False) -> list[str]:
    """`value` checked to be a list of non-empty strings."""
    check(isinstance(value, list) and (allow_empty or bool(value)), path, where, "must be a non-empty list of strings")
    for i, item in enumerate(value):
        check(isinstance(item, str) and item.strip() != "", path, f"{where}[{i}]", f"must be a non-empty string, got {item!r}")
    return list(value)


def form_pattern(form: str) -> str:
    """A regex for a written form: a space matches any run of spaces (none needed next to a symbol),
    a hyphen matches a hyphen, a space or nothing; everything else is literal."""
    out: list[str] = []
    for i, ch in enumerate(form):
        if ch == " ":
            prev, nxt = form[i - 1 : i], form[i + 1 : i + 2]
            out.append(f"{_SP}+" if prev.isalnum() and nxt.isalnum() else f"{_SP}*")
        elif ch == "-" and 0 < i < len(form) - 1:
            out.append(f"[-{_SP[1:-1]}]?")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _alternation(forms: dict[str, Any], exact: set[str]) -> str:
    """Longest-first alternation; exact forms are case-sensitive inside an otherwise case-blind regex."""
    parts = []
    for form in sorted(forms, key=lambda f: (-len(f), f)):
        pattern = form_pattern(form)
        parts.append(f"(?-i:{pattern})" if form in exact else pattern)
    return "|".join(parts) if parts else "(?!)"


def _fold(form: str) -> str:
    """Lookup key for a form as matched: case-folded, inner whitespace and hyphens removed."""
    return re.sub(r"[\s\-]+", "", form).casefold()


@dataclass(frozen=True)
class UnitMatch:
    """A unit written after a number: `text[start:end]`, separator before it excluded."""

    start: int
    end: int
    unit: str  # normalised, e.g. "mg/dL", "years", "/hour"
    text: str  # as written
    kind: str  # the head's kind ("mass", "time", "age", "count", ...); "rate" for a bare "per hour"


@dataclass(frozen=True)
class UnitLexicon:
    """The compiled unit lexicon."""

    heads: dict[str, tuple[str, str]]  # folded form -> (unit, kind); exact forms are keyed as written
    exact_heads: dict[str, tuple[str, str]]
    dens: dict[str, str]
    exact_dens: dict[str, str]
    time_dens: frozenset[str]
    ambiguous_dens: dict[str, dict[str, str]]
    concentration_kinds: frozenset[str]
    concentration_re: re.Pattern[str]
    # A unit is matched in two steps, because one alternation of every form is slow: the separator
    # after the number, then the forms that start with the next character (a dict lookup).
    sep_re: re.Pattern[str]
    head_res: dict[str, re.Pattern[str]]  # first character (case-folded) -> heads + denominators
    lead_re: re.Pattern[str]  # a bare denominator: "per hour", "/mm3"
    den_re: re.Pattern[str]  # one "/ den" or "per den" step

    def head(self, written: str) -> tuple[str, str]:
        return self.exact_heads.get(written) or self.heads[_fold(written)]

    def den(self, written: str) -> str:
        return self.exact_dens.get(written) or self.dens[_fold(written)]


def load_units(path: Path = UNITS_PATH) -> UnitLexicon:
    """Validate and compile a units lexicon; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    kinds = set(string_list(data.get("kinds"), path, "kinds"))
    heads: dict[str, tuple[str, str]] = {}
    exact_heads: dict[str, tuple[str, str]] = {}
    any_forms: dict[str, None] = {}
    glued_forms: dict[str, None] = {}
    spaced_forms: dict[str, None] = {}
    exact_all: set[str] = set()
    entries = data.get("units")
    check(isinstance(entries, list) and bool(entries), path, "units", "must be a non-empty list of unit entries")
    for i, entry in enumerate(entries):
        where = f"units[{i}]"
        check(isinstance(entry, dict), path, where, "must be an object with 'unit', 'kind' and 'forms'")
        unit = entry.get("unit")
        check(isinstance(unit, str) and unit.strip() != "", path, where, "'unit' must be a non-empty string")
        where = f"units[{i}] ({unit!r})"
        check(entry.get("kind") in kinds, path, where, f"'kind' must be one of the declared kinds, got {entry.get('kind')!r}")
        forms = string_list(entry.get("forms"), path, f"{where}.forms")
        exact = set(string_list(entry.get("exact", []), path, f"{where}.exact", allow_empty=True))
        glued = set(string_list(entry.get("glued", []), path, f"{where}.glued", allow_empty=True))
        spaced = set(string_list(entry.get("spaced", []), path, f"{where}.spaced", allow_empty=True))
        for extra, name in ((exact, "exact"), (glued, "glued"), (spaced, "spaced")):
            check(extra <= set(forms), path, f"{where}.{name}", f"lists forms that are not in 'forms': {sorted(extra - set(forms))}")
        for form in forms:
            value = (unit, entry["kind"])
            if form in exact:
                previous = exact_heads.setdefault(form, value)
            else:
                previous = heads.setdefault(_fold(form), value)
            check(previous == value, path, where, f"form {form!r} is already the form of {previous[0]!r} ({previous[1]})")
            (glued_forms if form in glued else spaced_forms if form in spaced else any_forms)[form] = None
        exact_all |= exact

    dens: dict[str, str] = {}
    exact_dens: dict[str, str] = {}
    den_forms: dict[str, None] = {}
    den_exact: set[str] = set()
    entries = data.get("denominators")
    check(isinstance(entries, list) and bool(entries), path, "denominators", "must be a non-empty list of entries")
    for i, entry in enumerate(entries):
        where = f"denominators[{i}]"
        check(isinstance(entry, dict), path, where, "must be an object with 'unit' and 'forms'")
        unit = entry.get("unit")
        check(isinstance(unit, str) and unit.strip() != "", path, where, "'unit' must be a non-empty string")
        where = f"denominators[{i}] ({unit!r})"
        forms = string_list(entry.get("forms"), path, f"{where}.forms")
        exact = set(string_list(entry.get("exact", []), path, f"{where}.exact", allow_empty=True))
        check(exact <= set(forms), path, f"{where}.exact", "lists forms that are not in 'forms'")
        for form in forms:
            table, key = (exact_dens, form) if form in exact else (dens, _fold(form))
            previous = table.setdefault(key, unit)
            check(previous == unit, path, where, f"form {form!r} is already the form of {previous!r}")
            den_forms[form] = None
        den_exact |= exact
    den_units = set(dens.values()) | set(exact_dens.values())

    time_dens = set(string_list(data.get("time_denominators"), path, "time_denominators"))
    check(time_dens <= den_units, path, "time_denominators", f"names units that are not denominators: {sorted(time_dens - den_units)}")
    ambiguous = data.get("ambiguous_denominators", {})
    check(isinstance(ambiguous, dict), path, "ambiguous_denominators", "must map a written form to {'default', 'concentration'}")
    for form, choice in ambiguous.items():
        where = f"ambiguous_denominators[{form!r}]"
        check(_fold(form) in dens, path, where, "must be a form listed under 'denominators'")
        check(isinstance(choice, dict) and set(choice) == {"default", "concentration"}, path, where, "must have exactly 'default' and 'concentration'")
        check(all(v in den_units for v in choice.values()), path, where, "both choices must be denominator units")
    conc_kinds = set(string_list(data.get("concentration_kinds"), path, "concentration_kinds"))
    check(conc_kinds <= kinds, path, "concentration_kinds", f"unknown kinds {sorted(conc_kinds - kinds)}")
    cues = string_list(data.get("concentration_cues"), path, "concentration_cues")

    den_alt = _alternation(den_forms, den_exact)
    # "/", " / " or " per " (optionally "per each"); the den must end at a word boundary.
    den_step = rf"(?:{_SP}*/{_SP}*|{_SP}+per{_SP}+(?:each{_SP}+)?)(?P<den>{den_alt})(?![A-Za-z0-9])"
    dens_chain = rf"(?:(?:{_SP}*/{_SP}*|{_SP}+per{_SP}+(?:each{_SP}+)?)(?:{den_alt})(?![A-Za-z0-9])){{0,3}}"
    head_res = {}
    for first in sorted({f[0].casefold() for f in (*any_forms, *glued_forms, *spaced_forms)}):
        pick = lambda forms: {f: None for f in forms if f[0].casefold() == first}  # noqa: E731
        head_res[first] = re.compile(
            rf"(?:(?P<head>{_alternation(pick(any_forms), exact_all)})|(?P<ghead>{_alternation(pick(glued_forms), exact_all)})"
            rf"|(?P<shead>{_alternation(pick(spaced_forms), exact_all)}))(?![A-Za-z0-9])(?P<dens>{dens_chain})",
            re.IGNORECASE,
        )
    cue_alt = "|".join(re.escape(c) for c in sorted(cues, key=len, reverse=True))
    return UnitLexicon(
        heads=heads,
        exact_heads=exact_heads,
        dens=dens,
        exact_dens=exact_dens,
        time_dens=frozenset(time_dens),
        ambiguous_dens={_fold(k): v for k, v in ambiguous.items()},
        concentration_kinds=frozenset(conc_kinds),
        concentration_re=re.compile(rf"(?<![A-Za-z0-9])(?:{cue_alt})(?![A-Za-z0-9])", re.IGNORECASE),
        sep_re=re.compile(rf"{_SP}*-?{_SP}*"),
        head_res=head_res,
        lead_re=re.compile(rf"(?:/{_SP}*|per{_SP}+(?:each{_SP}+)?)(?:{den_alt})(?![A-Za-z0-9]){dens_chain}", re.IGNORECASE),
        den_re=re.compile(den_step, re.IGNORECASE),
    )


UNITS = load_units()


def _compose(lex: UnitLexicon, head: str | None, kind: str, den_text: str, concentration: bool) -> tuple[str, list[str]]:
    """The normal form of a head plus the denominators written in `den_text`."""
    dens: list[str] = []
    for m in lex.den_re.finditer(den_text):
        written = m.group("den")
        folded = _fold(written)
        if written not in lex.exact_dens and folded in lex.ambiguous_dens:
            choice = lex.ambiguous_dens[folded]
            use_conc = concentration and head is not None and kind in lex.concentration_kinds
            dens.append(choice["concentration" if use_conc else "default"])
        else:
            dens.append(lex.den(written))
    return (head or "") + "".join("/" + d for d in dens), dens


def _head_match(text: str, pos: int, lexicon: UnitLexicon) -> re.Match[str] | None:
    """A head (and its denominators) after the separator at `pos`, honouring glued/spaced forms."""
    first = text[pos : pos + 1]
    if first not in " \t\u00a0\u2009\u202f-" and first.casefold() not in lexicon.head_res:
        return None  # nothing a unit can start with: the common case after a number
    sep = lexicon.sep_re.match(text, pos)
    at = sep.end()
    pattern = lexicon.head_res.get(text[at : at + 1].casefold())
    if pattern is None:
        return None
    m = pattern.match(text, at)
    if m is None:
        return None
    gap = sep.group(0)
    if m.group("ghead") is not None and gap:
        return None  # "2x" but not "2 x"
    if m.group("shead") is not None and (not gap or "-" in gap):
        return None  # "10 s" but not "1990s"
    return m


def match_unit(text: str, pos: int, *, concentration: bool = False, lexicon: UnitLexicon = UNITS) -> UnitMatch | None:
    """The unit written at `text[pos:]` right after a number, if any.

    `concentration` says a lab-value cue precedes the number (IgG, serum, level ...), which makes an
    ambiguous "mg/d" read as mg/dL instead of mg/day.
    """
    m = _head_match(text, pos, lexicon)
    if m is None:
        sep = lexicon.sep_re.match(text, pos)
        if "-" in sep.group(0) or text[sep.end() : sep.end() + 1] not in "/pP":
            return None
        lead = lexicon.lead_re.match(text, sep.end())
        if lead is None:
            return None
        unit, _ = _compose(lexicon, None, "rate", " " + lead.group(0), concentration)
        return UnitMatch(lead.start(), lead.end(), unit, lead.group(0), "rate")
    name = next(g for g in ("head", "ghead", "shead") if m.group(g) is not None)
    written = m.group(name)
    head, kind = lexicon.head(written)
    dens_text = m.group("dens") or ""
    end = m.end("dens") if dens_text else m.end(name)
    unit, dens = _compose(lexicon, head, kind, dens_text, concentration)
    # A word-written "per ..." after a unit that already has a denominator ("2 g/kg per month",
    # "2 g/kg per cycle") is the dose's schedule, not its unit: it stays outside the mention so the
    # frequency reader finds it. Slash-written chains ("g/kg/day", "mL/min/1.73 m2") are units.
    steps = list(lexicon.den_re.finditer(dens_text))
    keep = next((k for k in range(1, len(steps)) if "/" not in steps[k].group(0)), len(steps))
    if keep < len(steps):
        end = m.start("dens") + steps[keep - 1].end()
        unit = head + "".join("/" + d for d in dens[:keep])
    start = m.start(name)
    return UnitMatch(start, end, unit, text[start:end], kind if not dens else ("rate" if kind in ("time", "count") else kind))


def normalize_unit(text: str) -> str | None:
    """The normal form of a unit as written ("mg/dl" -> "mg/dL", "grams per kg" -> "g/kg"), or None.

    Without context an ambiguous "/d" reads as per day ("mg/d" -> "mg/day"): that is what the
    abbreviation means in dosing. `find_quantities` reads it as mg/dL next to a lab-value cue
    ("IgG < 400 mg/d", a truncated mg/dL in a real LCD).
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    if not stripped:
        return None
    # Try as written and after a space, so forms that need a gap after a number ("10 s") still name.
    for candidate in (stripped, " " + stripped):
        found = match_unit(candidate, 0)
        if found is not None and found.end == len(candidate):
            return found.unit
        # "per month" after "mg/kg" is kept out of mentions but is part of a unit named on its own.
        m = _head_match(candidate, 0, UNITS)
        if m is not None and m.end() == len(candidate):
            name = next(g for g in ("head", "ghead", "shead") if m.group(g) is not None)
            head, kind = UNITS.head(m.group(name))
            return _compose(UNITS, head, kind, m.group("dens") or "", False)[0]
    return None


def split_rate(unit: str | None) -> tuple[str | None, str | None]:
    """A unit and its trailing time denominator: "g/kg/day" -> ("g/kg", "day"); "mg" -> ("mg", None)."""
    if not unit or "/" not in unit:
        return unit, None
    base, _, last = unit.rpartition("/")
    if last in UNITS.time_dens:
        return (base or None), last
    return unit, None


MEASURE_UNITS_PATH = DATA_DIR / "measure_units.json"


@dataclass(frozen=True)
class MeasureUnits:
    """Measures with one conventional unit (`data/measure_units.json`), compiled."""

    pattern: re.Pattern[str]  # any name, whole words, longest first
    units: dict[str, str]  # folded name (see `_fold`) -> unit


def load_measure_units(path: Path = MEASURE_UNITS_PATH) -> MeasureUnits:
    """Validate and compile the measure -> unit table; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    entries = data.get("measures")
    check(isinstance(entries, list) and bool(entries), path, "measures", "must be a non-empty list of {unit, names}")
    units: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"measures[{i}]"
        check(isinstance(entry, dict) and set(entry) == {"unit", "names"}, path, where, "must be an object with exactly 'unit' and 'names'")
        unit = entry["unit"]
        # The inferred unit must be one the extractor writes itself, or "BMI >35" and "BMI 35 kg/m2" would differ.
        check(isinstance(unit, str) and normalize_unit(unit) == unit, path, where, f"{unit!r} is not a normal form of units.json")
        for name in string_list(entry["names"], path, f"{where}.names"):
            previous = units.setdefault(_fold(name), unit)
            check(previous == unit, path, where, f"name {name!r} is already the measure of {previous!r}")
    names = sorted({n for e in entries for n in e["names"]}, key=lambda n: (-len(n), n))
    alternation = "|".join(form_pattern(n) for n in names)
    return MeasureUnits(re.compile(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])", re.IGNORECASE), units)


MEASURE_UNITS = load_measure_units()


def conventional_unit(measure: str, table: MeasureUnits = MEASURE_UNITS) -> str | None:
    """The unit a measure is conventionally stated in when the text leaves it out ("BMI" -> "kg/m2"), else None.
    The last name in the measure decides: it is the head ("hemoglobin A1c" -> "%", "serum IgG" -> "mg/dL")."""
    found = None
    for found in table.pattern.finditer(measure or ""):
        pass
    if found is None:
        return None
    return table.units[_fold(found.group(0))]
