"""The ingestion job as plain functions over batches: plan, collect, parse + extract, summarise.

The Prefect flow (pipeline/orchestration/ingest_flow.py) wraps each step in a task and the warehouse
package stores the results; tests and tools can call these directly. Files whose bytes are already in
the warehouse are skipped by hash before any parsing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline.extract.extractor import extract_from_spacy
from pipeline.extract.nlp import get_nlp
from pipeline.ingest import ReadError, convention_parts, discover, load_source, parse_document, sha256_file
from pipeline.datamodel import Document, Extraction
from pipeline.diff.store import pending_pairs
from pipeline.ingest.mcd_bundle import BundleEntry, BundleFailure, is_bundle, read_entries, revision_history, scan_bundle
from pipeline.sources.records import RevisionRow
from pipeline.warehouse import connect, known_hashes

DEFAULT_BATCH_SIZE = 25  # documents per parse+extract task: large enough that orchestration costs stay per batch


@dataclass(frozen=True)
class Failure:
    """A source that could not be ingested, with a one-line reason."""

    source_path: str
    error_type: str
    message: str
    sha256: str | None = None


@dataclass(frozen=True)
class Plan:
    """What an ingestion run will do: the new files, and the files whose bytes are already loaded."""

    new: tuple[tuple[Path | BundleEntry, str], ...]  # (path or one row of an MCD .zip, sha256)
    skipped: tuple[Path | BundleEntry, ...]
    root: Path | None
    failures: tuple[Failure, ...] = ()
    undiffed: int = 0  # version pairs a killed run loaded but never diffed: the run diffs them

    @property
    def has_work(self) -> bool:
        """Whether running the plan would change the warehouse (else: "nothing new", Prefect not started)."""
        return bool(self.new or self.failures or self.undiffed)


@dataclass
class StageStats:
    """Work done by one stage of a run: seconds spent in it (summed over worker processes), documents,
    words of their normalised text, and PDF pages."""

    seconds: float = 0.0
    documents: int = 0
    words: int = 0
    pages: int = 0

    def add(self, other: StageStats) -> None:
        """Add another batch's figures to these."""
        self.seconds += other.seconds
        self.documents += other.documents
        self.words += other.words
        self.pages += other.pages


STAGES = ("read", "extract", "load", "diff", "report")


@dataclass(frozen=True)
class Source:
    """One planned file's bytes, read where the plan was made so that any machine can parse it;
    `convention` is its (lcd_id, version) from the `<LCD_ID>/<VERSION>.<ext>` path, if it follows it."""

    path: str
    sha256: str
    data: bytes
    convention: tuple[str, str] | None


@dataclass
class BatchResult:
    """One batch read and extracted: documents, their extractions, failures, and the time each stage took."""

    documents: list[Document]
    extractions: list[Extraction]
    failures: list[Failure]
    read: StageStats
    extract: StageStats


@dataclass
class Summary:
    """What an ingestion run did, for the CLI and the flow's return value."""

    new_versions: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)
    indications: int = 0
    doses: int = 0
    thresholds: int = 0
    criteria: int = 0
    changes: int = 0
    version_keys: list[int] = field(default_factory=list)
    lcd_ids: list[str] = field(default_factory=list)
    report_path: str | None = None
    stages: dict[str, StageStats] = field(default_factory=lambda: {name: StageStats() for name in STAGES})
    wall_seconds: float = 0.0

    def format(self, db: object) -> str:
        """The run summary the CLI prints: versions, facts, changes, and where the warehouse and report are."""
        return (
            f"versions: {self.new_versions} new, {self.skipped} skipped, {len(self.failed)} failed\n"
            f"facts: {self.indications} indications, {self.doses} doses, {self.thresholds} thresholds, "
            f"{self.criteria} criteria\n"
            f"policy changes detected: {self.changes}\n"
            f"warehouse: {db}\n"
            f"change report: {self.report_path}"
        )

    def stage_figures(self, execution: str = "", processes: int = 1) -> dict:
        """The per-stage figures as plain data: seconds, documents, words, pages and their rates."""
        stages = {}
        for name, st in self.stages.items():
            rate = (lambda n: round(n / st.seconds, 2) if st.seconds > 0 and n else None)
            stages[name] = {**asdict(st), "docs_per_s": rate(st.documents), "words_per_s": rate(st.words), "pages_per_s": rate(st.pages)}
        return {"execution": execution, "processes": processes, "wall_seconds": round(self.wall_seconds, 3), "new_versions": self.new_versions, "failed": len(self.failed), "stages": stages}

    def format_stages(self) -> str:
        """Per-stage throughput: seconds (summed over workers), documents/s, words/s and PDF pages/s."""
        lines = [f"{'stage':<8} {'seconds':>8} {'docs':>6} {'docs/s':>8} {'words/s':>9} {'pages/s':>8}"]
        for name, st in self.stages.items():
            rate = (lambda n: f"{n / st.seconds:.1f}" if st.seconds > 0 and n else "-")
            lines.append(f"{name:<8} {st.seconds:>8.2f} {st.documents:>6} {rate(st.documents):>8} {rate(st.words):>9} {rate(st.pages):>8}")
        lines.append(f"wall: {self.wall_seconds:.1f} s")
        return "\n".join(lines)

    def add_batch(self, keys: list[int], documents: list[Document], extractions: list[Extraction], failures: list[Failure]) -> None:
        """Count what one loaded batch contributed."""
        seen_keys, seen_ids = set(self.version_keys), set(self.lcd_ids)  # sets: runs have thousands of versions
        fresh = list(dict.fromkeys(k for k in keys if k not in seen_keys))
        self.new_versions += len(fresh)
        self.version_keys.extend(fresh)
        self.lcd_ids.extend(dict.fromkeys(d.lcd_id for d in documents if d.lcd_id not in seen_ids))
        self.failed.extend(failures)
        for extraction in extractions:
            self.indications += len(extraction.indications)
            self.doses += len(extraction.doses)
            self.thresholds += len(extraction.thresholds)
            self.criteria += len(extraction.criteria)


def common_root(paths: Iterable[Path]) -> Path | None:
    """The folder the `<LCD_ID>/<VERSION>.<ext>` convention is read against: a folder argument itself."""
    paths = [Path(p) for p in paths]
    if len(paths) == 1 and paths[0].is_dir():
        return paths[0]
    return None


def plan_ingest(paths: list[Path], known_hashes: set[str]) -> Plan:
    """Find the files under `paths`, hash them, and split them into new and already-loaded."""
    failures: list[Failure] = []
    existing = []
    for p in paths:
        if not Path(p).exists():
            failures.append(Failure(str(p), "missing", "no such file or folder"))
        else:
            existing.append(Path(p))
    new: list[tuple[Path | BundleEntry, str]] = []
    skipped: list[Path | BundleEntry] = []
    seen: set[str] = set()
    for path in discover(existing):
        if is_bundle(path):  # an MCD .zip is many versions: planned row by row, each with its own hash
            rows, bundle_failures = scan_bundle(path)
            failures.extend(_failure(f) for f in bundle_failures)
            for entry, digest in rows:
                if digest in known_hashes or digest in seen:
                    skipped.append(entry)
                else:
                    seen.add(digest)
                    new.append((entry, digest))
            continue
        try:
            digest = sha256_file(path)
        except OSError as exc:
            failures.append(Failure(str(path), "io", f"cannot read file: {exc.strerror or exc}"))
            continue
        if digest in known_hashes or digest in seen:
            skipped.append(path)  # the same bytes are one version, however many times they are offered
        else:
            seen.add(digest)
            new.append((path, digest))
    return Plan(tuple(new), tuple(skipped), common_root(existing), tuple(failures))


def plan_run(db: str | Path, paths: list[Path]) -> Plan:
    """The plan of an ingestion run of `paths` into the warehouse `db`: new files, and the version pairs
    an interrupted run left undiffed."""
    con = connect(db)
    try:
        plan = plan_ingest(paths, known_hashes(con))
        return Plan(plan.new, plan.skipped, plan.root, plan.failures, undiffed_pairs(con))
    finally:
        con.close()


def undiffed_pairs(con) -> int:
    """How many version pairs were loaded but never diffed (a killed run); the next run diffs them."""
    return len(pending_pairs(con))


def batches(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of at most `size` items."""
    for i in range(0, len(items), max(1, size)):
        yield items[i : i + size]


def _failure(failure: BundleFailure) -> Failure:
    return Failure(failure.source_path, failure.error_type, failure.message, failure.sha256)


def collect_batch(batch: list[tuple[Path | BundleEntry, str]], root: Path | None) -> tuple[list[Source | Document], list[Failure]]:
    """The bytes of a batch's files (rows of MCD zips are read into Documents here, each zip opened once);
    files that cannot be read become Failures. Cheap: parsing happens in `process_batch`."""
    items: list[Source | Document] = []
    failures: list[Failure] = []
    rows = [(entry, digest) for entry, digest in batch if isinstance(entry, BundleEntry)]
    for item in read_entries(rows):
        if isinstance(item, BundleFailure):
            failures.append(_failure(item))
        else:
            items.append(item)
    for path, digest in batch:
        if isinstance(path, BundleEntry):
            continue
        try:
            items.append(Source(path.as_posix(), digest, load_source(path), convention_parts(path, root)))
        except ReadError as exc:
            failures.append(Failure(str(path), exc.error_type, str(exc), digest))
    return items, failures


def parse_sources(items: list[Source | Document]) -> tuple[list[Document], list[Failure], StageStats]:
    """Parse collected sources into Documents (already-read Documents pass through), timing the work."""
    started = time.perf_counter()
    documents: list[Document] = []
    failures: list[Failure] = []
    for item in items:
        if isinstance(item, Document):
            documents.append(item)
            continue
        try:
            documents.append(parse_document(Path(item.path), item.data, None, item.convention))
        except ReadError as exc:
            failures.append(Failure(item.path, exc.error_type, str(exc), item.sha256))
    stats = StageStats(time.perf_counter() - started, len(documents), 0, sum(d.pages or 0 for d in documents))
    return documents, failures, stats


def extract_batch(documents: list[Document], batch_size: int = 16) -> list[Extraction]:
    """Extract a batch of documents with one `nlp.pipe` pass (the pipeline is loaded once per process)."""
    nlp = get_nlp()
    spacy_docs = nlp.pipe((d.text for d in documents), batch_size=batch_size)
    return [extract_from_spacy(document, spacy_doc) for document, spacy_doc in zip(documents, spacy_docs)]


def process_batch(items: list[Source | Document]) -> BatchResult:
    """Parse and extract one collected batch: the unit of work a worker process (or Dask worker) runs."""
    documents, failures, read = parse_sources(items)
    started = time.perf_counter()
    extractions = extract_batch(documents) if documents else []
    words = sum(len(d.text.split()) for d in documents)
    extract = StageStats(time.perf_counter() - started, len(documents), words, 0)
    read.words = words
    return BatchResult(documents, extractions, failures, read, extract)


def bundle_paths(plan: Plan) -> list[Path]:
    """The MCD download zips whose rows a plan loads (their revision tables are stored alongside)."""
    return list(dict.fromkeys(item.bundle for item, _digest in plan.new if isinstance(item, BundleEntry)))


def bundle_revisions(bundle: Path) -> dict[tuple[str, str], list[RevisionRow]]:
    """An MCD zip's revision history and reasons for change, per (lcd_id, version)."""
    grouped: dict[tuple[str, str], list[RevisionRow]] = defaultdict(list)
    for record in revision_history(bundle):
        grouped[(record["lcd_id"], record["version"])].append(
            RevisionRow(record["rev_hist_date"], record["rev_hist_num"], record["explanation"], tuple(record["reasons"]))
        )
    return dict(grouped)
