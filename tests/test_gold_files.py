"""Every gold reference under models/gold/ whose document is shipped in raw_docs/ is consistent with it.

For each such file: it loads with the scorer's validator; every threshold/dose `text` is an exact substring of
the project reader's rendering of the document; every value occurs in its quote (as digits, a number word or a
Roman numeral); every ICD-10-CM code exists.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import pytest

from pipeline.ingest import read_document
from pipeline.quality.scoring import load_gold

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "models" / "gold"
RAW = ROOT / "raw_docs"

_WORDS = {
    0: ["zero", "no", "none"], 1: ["one", "once", "single", "a", "an", "first"], 2: ["two", "twice", "double", "both", "second"],
    3: ["three", "third", "thrice", "triple"], 4: ["four", "fourth"], 5: ["five", "fifth"], 6: ["six", "sixth"],
    7: ["seven"], 8: ["eight"], 9: ["nine"], 10: ["ten"], 11: ["eleven"], 12: ["twelve"], 13: ["thirteen"],
    14: ["fourteen"], 15: ["fifteen"], 18: ["eighteen"], 20: ["twenty"], 24: ["twenty-four"], 30: ["thirty"],
    60: ["sixty"], 90: ["ninety"],
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "VI"}


def _document_path(gold_path: Path, document: str) -> Path | None:
    """raw_docs file of a gold file: raw_docs/<file stem>/<version>.<ext>; the version comes from `document`
    ("corpus/mcd/L34084_v23.json") or, for a bare display id ("L33797"), from the only file in the folder."""
    folder = RAW / gold_path.stem
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix in {".json", ".txt", ".html", ".htm", ".pdf"})
    m = re.search(r"_v(\d+)", document)
    if m:
        hits = [p for p in files if p.stem == m.group(1)]
        return hits[0] if hits else None
    if gold_path.stem == "IVIG-OFFLABEL":
        hits = [p for p in files if p.stem == "2"]  # 1.txt is derived (raw_docs/README.md)
        return hits[0] if hits else None
    return files[0] if len(files) == 1 else None


def _gold_files() -> list[tuple[Path, Path]]:
    out = []
    for p in sorted(GOLD.glob("*.json")):
        doc = json.loads(p.read_text(encoding="utf-8")).get("document", "")
        raw = _document_path(p, doc)
        if raw is not None:
            out.append((p, raw))
    return out


CASES = _gold_files()


@lru_cache(maxsize=None)
def _text(raw: Path) -> str:
    return read_document(raw).text


def _value_in_quote(value: float, quote: str) -> bool:
    q = quote.replace(",", "")
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", q)]
    if any(abs(n - value) < 1e-6 for n in nums):
        return True
    # values written in another scale of the same quote (e.g. "72 hours to 1 week" -> 168 hours)
    if value == 168 and re.search(r"\b1 week\b|\bone week\b", q, re.I):
        return True
    # scientific notation cut before its superscript exponent (12.12): "1.5x" + <sup>10^11</sup>
    for m in re.findall(r"(\d+(?:\.\d+)?)\s*[x\u00d7]", q):
        ratio = value / float(m) if float(m) else 0
        if ratio >= 10 and abs(math.log10(ratio) - round(math.log10(ratio))) < 1e-9:
            return True
    if float(value).is_integer():
        v = int(value)
        for w in _WORDS.get(v, []):
            if re.search(rf"\b{re.escape(w)}\b", quote, re.I):
                return True
        # 12.6: a frequency adverb alone ("monthly", "every month", "annually") is the optional <= 1 count
        if v == 1 and re.search(r"\b(?:every|each|per) (?:day|week|month|year)\b|\b(?:daily|weekly|monthly|quarterly|annually|yearly)\b", quote, re.I):
            return True
        r = _ROMAN.get(v)
        if r and re.search(rf"(?<![A-Za-z]){r}(?:[ABab])?(?![A-Za-z])", quote):
            return True
    return False


def test_gold_files_found():
    stems = {p.stem for p, _ in CASES}
    assert len(CASES) >= 80, f"only {len(CASES)} gold files resolved to raw_docs/"
    assert {"L33797", "L39919", "L34084"} <= stems


@pytest.mark.parametrize("gold_path,raw", CASES, ids=[p.stem for p, _ in CASES])
def test_gold_file_consistent_with_document(gold_path: Path, raw: Path):
    import simple_icd_10_cm as icd

    gold = load_gold(gold_path)
    text = _text(raw)
    problems = []
    for kind in ("thresholds", "optional_thresholds", "doses", "optional_doses"):
        for i, fact in enumerate(gold.get(kind, [])):
            quote = fact.get("text", "")
            if quote not in text:
                problems.append(f"{kind}[{i}] quote not in document: {quote!r}")
                continue
            keys = ("value", "value_high") if "thresholds" in kind else ("low", "high")
            for key in keys:
                v = fact.get(key)
                if isinstance(v, (int, float)) and not _value_in_quote(abs(v), quote):
                    problems.append(f"{kind}[{i}] {key}={v} not in quote {quote!r}")
    for kind in ("indications", "optional_indications"):
        for e in gold.get(kind, []):
            for code in e.get("icd10cm", []) or []:
                if not icd.is_valid_item(code):
                    problems.append(f"{kind} {e.get('name')!r}: invalid ICD-10-CM code {code!r}")
    assert not problems, f"{gold_path.name}:\n" + "\n".join(problems)
