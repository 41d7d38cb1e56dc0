"""Plain-text rendering of one document's extraction, for `lcd extract`."""

from __future__ import annotations

from pipeline.datamodel import Document, Extraction


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def format_extraction(document: Document, extraction: Extraction) -> str:
    """Indications with their coverage, then doses, thresholds and criteria grouped under them."""
    names = {i.local_id: i.name for i in extraction.indications}
    out = [f"{document.lcd_id} version {document.version}: {document.meta.title or '(untitled)'}"]
    if document.meta.contractor:
        out.append(f"contractor: {document.meta.contractor}")
    if document.meta.effective_date:
        out.append(f"effective: {document.meta.effective_date.isoformat()}")
    out.append("")
    out.append(f"Indications ({len(extraction.indications)}):")
    for ind in extraction.indications:
        aliases = f"  [aka {', '.join(ind.aliases)}]" if ind.aliases else ""
        out.append(f"  - {ind.name}: {ind.coverage} ({ind.confidence:.2f}, {ind.section}){aliases}")
    out.append(f"Doses ({len(extraction.doses)}):")
    for d in extraction.doses:
        amount = _num(d.amount_low) if d.amount_low == d.amount_high else f"{_num(d.amount_low)}-{_num(d.amount_high)}"
        extra = ", ".join(x for x in (d.frequency, d.phase, d.section) if x)
        out.append(f"  - {d.drug or 'dose'} {amount} {d.unit} ({extra}) -> {names.get(d.indication_id, 'policy-wide')}")
    out.append(f"Thresholds ({len(extraction.thresholds)}):")
    for t in extraction.thresholds:
        value = f"{_num(t.value)}-{_num(t.value_high)}" if t.comparator == "between" else f"{t.comparator} {_num(t.value)}"
        out.append(
            f"  - {t.measure} {value} {t.unit or ''} ({t.polarity}, {t.section}) -> {names.get(t.indication_id, 'policy-wide')}"
        )
    out.append(f"Criteria ({len(extraction.criteria)}):")
    for c in extraction.criteria:
        out.append(f"  - [{c.kind}] {c.text} -> {names.get(c.indication_id, 'policy-wide')}")
    return "\n".join(out)
