"""How much the change report can be trusted: every shipped document revised editorially (no change
may be reported) and substantively (the one known change must be, and little else).

Run it: `python -m pipeline.quality.diff_harness [PATH ...] [--seed N]` prints the counts per kind of
revision; tests/test_diff_harness.py asserts them over the whole shipped corpus.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.datamodel import Document
from pipeline.diff import PolicyChange, diff_snapshots, fold, snapshot_of
from pipeline.diff.align import numbers_in
from pipeline.ingest import ReadError, convention_parts, discover, load_source, parse_document
from pipeline.jobs.ingest import extract_batch
from pipeline.paths import RAW_DOCS
from pipeline.quality.revisions import EDITORIAL, SUBSTANTIVE, Revision, Source, editorial, substantive

DEFAULT_SEED = 20261203
EDITORIAL_PER_DOCUMENT = 3
KNOWN_FAILURES = Path(__file__).parent / "data" / "diff_known_failures.json"


@dataclass(frozen=True)
class Outcome:
    """What the diff said about one revision."""

    lcd_id: str
    revision: Revision
    changes: tuple[PolicyChange, ...]
    found: bool  # substantive: the expected change was reported
    extra: tuple[PolicyChange, ...]  # changes the revision does not explain (all of them, for an editorial one)
    error: str | None = None  # the revised source could not be read


@dataclass
class Tally:
    """Counts of one kind of revision."""

    revisions: int = 0
    found: int = 0
    false_or_extra: int = 0
    errors: int = 0


@dataclass
class HarnessResult:
    """Every outcome, and the counts the closing figures are made of."""

    documents: int
    outcomes: list[Outcome] = field(default_factory=list)

    def tally(self) -> dict[str, Tally]:
        """Counts per revision kind, editorial kinds first."""
        tallies = {kind: Tally() for kind in (*EDITORIAL, *SUBSTANTIVE)}
        for outcome in self.outcomes:
            t = tallies[outcome.revision.kind]
            t.revisions += 1
            t.found += outcome.found
            t.false_or_extra += len(outcome.extra)
            t.errors += outcome.error is not None
        return tallies

    def totals(self) -> dict[str, int]:
        """The counts the targets are stated in: documents, editorial revisions and their false changes,
        substantive revisions, how many were found with their expected type, their extra changes, errors."""
        tallies = self.tally()
        editorial_t = [tallies[k] for k in EDITORIAL]
        substantive_t = [tallies[k] for k in SUBSTANTIVE]
        return {
            "documents": self.documents,
            "editorial": sum(t.revisions for t in editorial_t),
            "false": sum(t.false_or_extra for t in editorial_t),
            "substantive": sum(t.revisions for t in substantive_t),
            "found": sum(t.found for t in substantive_t),
            "extra": sum(t.false_or_extra for t in substantive_t),
            "errors": sum(t.errors for t in tallies.values()),
        }

    def meets_targets(self) -> bool:
        """Issue 12's bar: no false change on any editorial revision, every substantive one found with
        its expected change type, at most one unrelated change per 10 substantive revisions, no errors."""
        t = self.totals()
        return t["false"] == 0 and t["found"] == t["substantive"] and t["extra"] * 10 <= t["substantive"] and t["errors"] == 0

    def failed(self) -> set[tuple[str, str, str]]:
        """(LCD, revision kind, detail) of every revision the report gets wrong: a substantive one not
        reported with its expected type, an editorial one that yields a change."""
        return {(o.lcd_id, o.revision.kind, o.revision.detail) for o in self.outcomes
                if (o.revision.expected and not o.found) or (not o.revision.expected and o.extra)}

    def format(self) -> str:
        """The counts as a table, with the totals the targets are stated in."""
        lines = [f"documents: {self.documents}", f"{'revision':<22} {'count':>6} {'found':>6} {'false/extra':>12} {'errors':>7}"]
        for kind, t in self.tally().items():
            found = f"{t.found}" if kind in SUBSTANTIVE else "-"
            lines.append(f"{kind:<22} {t.revisions:>6} {found:>6} {t.false_or_extra:>12} {t.errors:>7}")
        t = self.totals()
        lines.append(f"editorial: {t['editorial']} revisions, {t['false']} false changes")
        lines.append(f"substantive: {t['substantive']} revisions, {t['found']} found, {t['extra']} extra changes")
        lines.append(
            f"targets (0 false, all {t['substantive']} found, extra <= {t['substantive'] // 10}, 0 errors): "
            f"{'met' if self.meets_targets() else 'NOT met'}"
        )
        return "\n".join(lines)


def known_failures(path: Path = KNOWN_FAILURES) -> dict[tuple[str, str, str], str]:
    """(LCD, revision kind, detail) -> reason of the revisions the change report is known to get wrong (data file)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for i, entry in enumerate(data.get("failures", [])):
        if not all(isinstance(entry.get(k), str) and entry[k] for k in ("lcd_id", "kind", "detail", "reason")):
            raise ValueError(f"{path}: failures[{i}] needs non-empty lcd_id, kind, detail and reason")
        if entry["kind"] not in (*EDITORIAL, *SUBSTANTIVE):
            raise ValueError(f"{path}: failures[{i}] kind {entry['kind']!r} is not a revision kind")
        out[(entry["lcd_id"], entry["kind"], entry["detail"])] = entry["reason"]
    return out


def shipped_documents(root: Path = RAW_DOCS) -> list[Path]:
    """The latest version of every shipped LCD (the file each revision is made from)."""
    latest: dict[str, Path] = {}
    for path in discover([root]):
        parts = convention_parts(path, root)
        if parts is None or path.suffix.lower() == ".pdf":
            continue
        lcd_id, version = parts
        if lcd_id not in latest or _version(version) > _version(convention_parts(latest[lcd_id], root)[1]):
            latest[lcd_id] = path
    return [latest[k] for k in sorted(latest)]


def _version(value: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.]", value))


def revisions_of(path: Path, document: Document, extraction, seed: int, editorial_count: int) -> list[Revision]:
    """The seeded revisions of one document: `editorial_count` editorial kinds that apply, and one of
    each substantive kind that finds a fact to aim at."""
    rng = random.Random(f"{seed}:{document.lcd_id}")
    source = Source(path.suffix.lower(), load_source(path))
    revisions: list[Revision] = []
    for kind in rng.sample(EDITORIAL, len(EDITORIAL)):
        if len(revisions) == editorial_count:
            break
        data = editorial(kind, source, rng)
        if data is not None:
            revisions.append(Revision(kind, data, None, kind))
    for kind in SUBSTANTIVE:
        revision = substantive(kind, source, document, extraction, rng)
        if revision is not None:
            revisions.append(revision)
    return revisions


def run(paths: Sequence[Path], root: Path = RAW_DOCS, seed: int = DEFAULT_SEED, editorial_count: int = EDITORIAL_PER_DOCUMENT) -> HarnessResult:
    """Revise each document, extract every revision, diff it against the original, judge the changes."""
    result = HarnessResult(documents=len(paths))
    for path in paths:
        convention = convention_parts(path, root)
        original = parse_document(path, load_source(path), root, convention)
        (base_extraction,) = extract_batch([original])
        base = snapshot_of(original, base_extraction)
        revisions = revisions_of(path, original, base_extraction, seed, editorial_count)
        readable: list[tuple[Revision, Document]] = []
        for revision in revisions:
            try:
                readable.append((revision, parse_document(path, revision.data, root, convention)))
            except ReadError as exc:
                result.outcomes.append(Outcome(original.lcd_id, revision, (), False, (), f"{exc.error_type}: {exc}"))
        for (revision, document), extraction in zip(readable, extract_batch([d for _, d in readable])):
            changes = tuple(diff_snapshots(base, snapshot_of(document, extraction)))
            result.outcomes.append(judge(original.lcd_id, revision, changes))
    return result


def judge(lcd_id: str, revision: Revision, changes: Sequence[PolicyChange]) -> Outcome:
    """Whether the revision's change was reported, and which changes it does not explain."""
    if revision.expected is None:
        return Outcome(lcd_id, revision, tuple(changes), False, tuple(changes))
    related = [_related(c, revision) for c in changes]
    for i, change in enumerate(changes):  # the facts of an indication added or removed come with it
        if change.parent is not None and related[change.parent]:
            related[i] = True
    found = any(c.change_type == revision.expected and _about(c, revision) for c in changes)
    extra = tuple(c for c, ok in zip(changes, related) if not ok)
    return Outcome(lcd_id, revision, tuple(changes), found, extra)


def _about(change: PolicyChange, revision: Revision) -> bool:
    """Whether a change of the expected type is the one the revision made."""
    if revision.kind in ("threshold_value", "dose_value"):
        return float(revision.before) in numbers_in(change.before) and float(revision.after) in numbers_in(change.after)
    if revision.kind == "coverage_flipped":
        return "not_covered" in (change.after or "")
    name = fold(revision.before or revision.after)
    subject = fold(change.subject)
    return bool(name) and (name in subject or subject in name)


def _related(change: PolicyChange, revision: Revision) -> bool:
    """A change the revision explains: of the expected type (the edit may touch several mentions), or
    the text safety net quoting the edited text."""
    if change.change_type == revision.expected:
        return True
    said = fold(f"{change.before_sentence or ''} {change.after_sentence or ''} {change.before or ''} {change.after or ''}")
    value = fold(change.before or change.after)
    for text in (revision.edited, revision.original):
        if text and (fold(text) in said or (len(value) >= 12 and value in fold(text))):
            return True  # another fact of the edited sentence or line, or that line read as a criterion
    if revision.kind in ("indication_removed", "item_added"):
        name = fold(revision.before or revision.after)
        return bool(name) and name in fold(f"{change.before or ''} {change.after or ''}")  # the item read as a criterion too
    if change.change_type == "text_changed":
        said = fold(f"{change.before or ''} {change.after or ''}")
        marker = revision.after or revision.before or ""
        return bool(marker) and fold(marker) in said
    return False


def main(argv: Iterable[str] | None = None) -> int:
    """Print the harness counts for the shipped corpus (or the given files)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.quality.diff_harness", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="source files (default: the latest version of every LCD in raw_docs/)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--editorial", type=int, default=EDITORIAL_PER_DOCUMENT, help="editorial revisions per document")
    parser.add_argument("--show", action="store_true", help="print every false or extra change")
    args = parser.parse_args(list(argv) if argv is not None else None)
    paths = args.paths or shipped_documents()
    result = run(paths, seed=args.seed, editorial_count=args.editorial)
    print(result.format())
    known = known_failures()
    for key in sorted(result.failed()):
        print(f"wrong: {' '.join(key)}" + (f"  (known: {KNOWN_FAILURES.name})" if key in known else "  (NEW)"))
    if args.show:
        for outcome in result.outcomes:
            missed = outcome.revision.expected is not None and not outcome.found
            if outcome.extra or missed or outcome.error:
                print(f"\n{outcome.lcd_id} {outcome.revision.kind} ({outcome.revision.detail}): "
                      f"{'MISSED ' if missed else ''}{outcome.error or ''}")
                for c in outcome.extra:
                    print(f"  extra {c.change_type} {c.subject!r}: {c.before!r} -> {c.after!r}")
                if missed:
                    for c in outcome.changes:
                        print(f"  got {c.change_type} {c.subject!r}: {c.before!r} -> {c.after!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
