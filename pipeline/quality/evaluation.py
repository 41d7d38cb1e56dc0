"""Measure extraction quality: held-out gold documents (models/gold) and hand-checked expectations.

The split in models/splits.json decides which documents rules may be written on (train, dev) and
which are only ever scored (test). `lcd evaluate` prints these figures and writes them to
models/metrics/ so a change to the rules shows its effect in the diff of that file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pipeline.extract.icd10 import codes_agree
from pipeline.quality.error_kinds import error_kinds
from pipeline.quality.scoring import evaluate_documents, load_expectations, load_gold, match_expectation
from pipeline.ingest import discover, read_document
from pipeline.datamodel import Document, Extraction, Indication
from pipeline.paths import EXPECTATIONS_DIR, GOLD_DIR, RAW_DOCS, ROOT, SPLITS_PATH

EXPECTATIONS = EXPECTATIONS_DIR / "corpus.json"  # hand-checked facts of train/dev documents
KNOWN_GAPS = EXPECTATIONS_DIR / "known_gaps.json"  # expectations the extractor does not meet yet, with reasons

Extractor = Callable[[Document], Extraction]


def load_splits(path: Path = SPLITS_PATH) -> dict[str, list[str]]:
    """Document ids per split: {"train": [...], "dev": [...], "test": [...]}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    splits = {name: list(data.get(name, [])) for name in ("train", "dev", "test")}
    seen: Counter[str] = Counter(doc for ids in splits.values() for doc in ids)
    duplicated = [doc for doc, n in seen.items() if n > 1]
    if duplicated:
        raise ValueError(f"{path}: documents in more than one split: {', '.join(sorted(duplicated))}")
    return splits


def latest_file(lcd_id: str, root: Path = RAW_DOCS) -> Path:
    """The highest-numbered version file of an LCD under raw_docs/<LCD_ID>/."""
    files = discover([root / lcd_id])
    if not files:
        raise FileNotFoundError(f"no document for {lcd_id} under {root}")

    def version_key(path: Path) -> tuple[int, float | str]:
        try:
            return (0, float(path.stem))
        except ValueError:
            return (1, path.stem)

    return max(files, key=version_key)


def gold_documents(ids: list[str], root: Path = RAW_DOCS):
    """(document id, latest document, its gold) for the ids that have a gold file in models/gold/."""
    for lcd_id in ids:
        gold_path = GOLD_DIR / f"{lcd_id}.json"
        if gold_path.exists():
            yield lcd_id, read_document(latest_file(lcd_id, root), root=root), load_gold(gold_path)


def gold_score(extract: Extractor, ids: list[str], root: Path = RAW_DOCS) -> dict:
    """Score the extractor on the documents with a gold file in models/gold/."""
    scored = [(extract(document), document.text, gold) for _id, document, gold in gold_documents(ids, root)]
    result = evaluate_documents(scored)
    details = result.pop("details", [])
    result["error_kinds"] = error_kinds(details, [text for _, text, _ in scored])
    result["icd10"] = icd10_score(
        [(extraction, gold, detail["indications"]["matches"]) for (extraction, _, gold), detail in zip(scored, details)]
    )
    return result


# Verdicts on the codes stored for one matched indication, against the gold `icd10cm`.
ICD10_VERDICTS = ("exact", "within", "wrong", "gold_none")


def icd10_verdict(codes: Sequence[str], gold_codes: Sequence[str]) -> str:
    """'exact' (every stored code is a gold code), 'within' (each is a gold code or inside a gold category:
    I48.91 under gold I48), 'gold_none' (the gold has no code: any code is wrong) or 'wrong'."""
    if not gold_codes:
        return "gold_none"
    if set(codes) <= set(gold_codes):
        return "exact"
    return "within" if codes_agree(codes, gold_codes) else "wrong"


def icd10_score(documents: Sequence[tuple[Extraction, Mapping, Sequence[Mapping[str, str]]]]) -> dict:
    """How often the codes of matched indications agree with the gold icd10cm, over (extraction, gold,
    indication matches) per document: `right` (exact + within) of the matched indications with a code."""
    verdicts: Counter[str] = Counter()
    matched = uncoded_with_gold = 0
    for extraction, gold, matches in documents:
        by_name: dict[str, Indication] = {}
        for indication in extraction.indications:
            by_name.setdefault(indication.name, indication)
        gold_by_name = {g["name"]: g for g in gold["indications"]}
        for match in matches:
            indication, gold_indication = by_name[match["extracted"]], gold_by_name[match["gold"]]
            matched += 1
            if indication.icd10_codes:
                verdicts[icd10_verdict(indication.icd10_codes, gold_indication["icd10cm"])] += 1
            elif gold_indication["icd10cm"]:
                uncoded_with_gold += 1
    coded = sum(verdicts.values())
    right = verdicts["exact"] + verdicts["within"]
    return {
        "matched": matched,
        "with_code": coded,
        **{verdict: verdicts[verdict] for verdict in ICD10_VERDICTS},
        "right": right,
        "right_of_coded": round(right / coded, 4) if coded else None,
        "uncoded_with_gold_code": uncoded_with_gold,
    }


def expectation_score(extract: Extractor, path: Path = EXPECTATIONS, repo: Path = ROOT) -> dict:
    """How many hand-checked expectations the extractor meets, per kind, with the ids it misses."""
    cache: dict[str, Extraction] = {}
    passed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed: list[str] = []
    for expectation in load_expectations(path):
        doc = expectation["doc"]
        if doc not in cache:
            cache[doc] = extract(read_document(repo / doc, root=repo / "raw_docs"))
        total[expectation["kind"]] += 1
        if match_expectation(cache[doc], expectation):
            passed[expectation["kind"]] += 1
        else:
            missed.append(expectation["id"])
    return {
        "passed": sum(passed.values()),
        "total": sum(total.values()),
        "by_kind": {kind: {"passed": passed[kind], "total": total[kind]} for kind in sorted(total)},
        "missed": missed,
    }


SPLITS = ("train", "dev", "test")


def evaluate(extract: Extractor, name: str, split: str = "test") -> dict:
    """All quality figures for one extractor: the gold of one split (the held-out test split by default;
    tuning looks at dev only), the IVIG reference, train/dev expectations."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    splits = load_splits()
    return {
        "extractor": name,
        "split": split,
        f"{split}_gold": gold_score(extract, splits[split]),
        "ivig_reference": gold_score(extract, ["IVIG-OFFLABEL"]),
        "train_dev_expectations": expectation_score(extract),
    }


def format_report(result: dict) -> str:
    """A short plain-text table of the headline figures."""
    lines = [f"extractor: {result['extractor']}"]
    for block in (f"{result.get('split', 'test')}_gold", "ivig_reference"):
        micro = result[block]["micro"]
        lines.append(
            f"{block} ({result[block]['documents']} documents): "
            f"indications R {micro['indication_recall']:.2f} P {micro['indication_precision']:.2f} "
            f"coverage acc {micro['coverage_accuracy']:.2f} | "
            f"policy doses R {micro['dose_policy_recall']:.2f} P {micro['dose_policy_precision']:.2f} | "
            f"policy thresholds R {micro['threshold_policy_recall']:.2f} P {micro['threshold_policy_precision']:.2f}"
        )
    icd = result[f"{result.get('split', 'test')}_gold"].get("icd10")
    if icd and icd["with_code"]:
        lines.append(
            f"ICD-10 right of matched indications with a code: {icd['right_of_coded']:.2f} "
            f"({icd['right']}/{icd['with_code']}: {icd['exact']} exact, {icd['within']} inside the gold category; "
            f"wrong {icd['wrong']}, coded where the gold has none {icd['gold_none']}; "
            f"{icd['uncoded_with_gold_code']} of {icd['matched']} matched left uncoded though the gold has a code)"
        )
    exp = result["train_dev_expectations"]
    kinds = ", ".join(f"{k} {v['passed']}/{v['total']}" for k, v in exp["by_kind"].items())
    lines.append(f"train/dev expectations: {exp['passed']}/{exp['total']} ({kinds})")
    gold = result[f"{result.get('split', 'test')}_gold"]
    if "error_kinds" not in gold:
        return "\n".join(lines)
    lines.append(f"errors by kind ({result.get('split', 'test')} gold):")
    for n, kind in enumerate(gold["error_kinds"].values(), 1):
        lines.append(f"  {n:>2} {kind['label']:<52} {kind['count']:>4}/{kind['denominator']:<4} {kind['rate']:.2f}")
    return "\n".join(lines)


# (label, how to read the row from a gold block) of the side-by-side table
_COMPARE_ROWS: tuple[tuple[str, Callable[[dict], str]], ...] = (
    ("indications R / P / F1", lambda g: _rpf(g["micro"], "indication")),
    ("coverage accuracy", lambda g: f"{g['micro']['coverage_accuracy']:.2f}"),
    ("policy thresholds R / P / F1", lambda g: _rpf(g["micro"], "threshold_policy")),
    ("policy doses R / P / F1", lambda g: _rpf(g["micro"], "dose_policy")),
    ("policy quantities value+unit F1", lambda g: f"{g['micro']['quantity_policy_f1']:.2f}"),
    ("ICD-10 right (matched, gold coded)",
     lambda g: f"{g['micro']['icd10_correct']}/{g['micro']['icd10_total']} {g['micro']['icd10_accuracy']:.2f}"),
    ("ICD-10 right of coded (target)", lambda g: _icd10_cell(g.get("icd10"))),
)


def _icd10_cell(icd: dict | None) -> str:
    if not icd or not icd["with_code"]:
        return "-"
    return f"{icd['right']}/{icd['with_code']} {icd['right_of_coded']:.2f}"


def _rpf(micro: dict, name: str) -> str:
    return f"{micro[f'{name}_recall']:.2f} / {micro[f'{name}_precision']:.2f} / {micro[f'{name}_f1']:.2f}"


def format_compare(results: dict[str, dict]) -> str:
    """One table, a column per extractor ({column title: `evaluate` result}), of the headline figures and the
    error kinds (count/denominator) of the scored split's gold."""
    golds = {title: r[f"{r.get('split', 'test')}_gold"] for title, r in results.items()}
    rows = [(label, [read(g) for g in golds.values()]) for label, read in _COMPARE_ROWS]
    first = next(iter(golds.values()))
    for n, (key, kind) in enumerate(first["error_kinds"].items(), 1):
        cells = [f"{g['error_kinds'][key]['count']}/{g['error_kinds'][key]['denominator']}" for g in golds.values()]
        rows.append((f"{n:>2} {kind['label']}", cells))
    split = next(iter(results.values())).get("split", "test")
    header = (f"{split} gold ({first['documents']} documents)", *golds)
    widths = [max(len(header[0]), *(len(label) for label, _ in rows))]
    widths += [max(len(title), *(len(cells[i]) for _, cells in rows)) for i, title in enumerate(golds)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip((label, *cells), widths)) for label, cells in rows]
    return "\n".join(lines)
