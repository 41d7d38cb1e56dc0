"""Scale benchmark: the full `lcd ingest` on scale corpora of N LCDs, per stage, next to raw `nlp.pipe`.

Run `make bench` (or `.venv/bin/python bench/scale.py [--sizes 100,940,5000] [--workers auto]`).
For each N it builds a corpus from the shipped documents (bench/scale_corpus.py: distinct ids,
varied numbers, some second versions, some PDFs), then, each in a fresh process:
  1. the ceiling: raw `nlp.pipe` words/s of the same spaCy pipeline on a sample of the corpus's
     texts (n_process=1 and 2; the faster is the ceiling), documents discarded as they come;
  2. the full ingestion, `lcd ingest CORPUS --db NEW.duckdb` as users run it (Prefect's temporary
     server included), timed end to end, with the per-stage figures from --timings-json;
  3. the unchanged re-run (`nothing new`, hash check before parsing), timed end to end.
Peak memory is the highest sum of RSS over the `lcd` process and all its children (Dask workers,
Prefect's server), sampled every 50 ms. Results go to bench/results.json and bench/results.png.

Stage seconds are summed over worker processes: `extract` words/s is the throughput of one worker
process, directly comparable with single-process `nlp.pipe` words/s (the ratio the targets use).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for scale_corpus

from pipeline.paths import REPO_ROOT as REPO  # noqa: E402  (make bench runs in a checkout)

from scale_corpus import build_corpus  # noqa: E402

LCD = [sys.executable, "-c", "import sys; from pipeline.cli import main; sys.exit(main())"]
TARGETS = {
    "end_to_end_seconds_at_940": 120.0,
    "extraction_share_of_nlp_pipe": 0.5,
    "unchanged_rerun_seconds": 15.0,
}
CEILING_SAMPLE_DOCS = 200

# Runs in a fresh process: words/s of raw nlp.pipe over a sample of the corpus (documents dropped as
# they come, so nothing but the pipeline is measured).
_CEILING_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from pipeline.extract.nlp import get_nlp
from pipeline.jobs.ingest import collect_batch, parse_sources, plan_ingest
corpus, limit = Path(sys.argv[1]), int(sys.argv[2])
plan = plan_ingest([corpus], set())
items, _ = collect_batch(list(plan.new[:limit]), plan.root)
documents, _, _ = parse_sources(items)
texts = [d.text for d in documents]
words = sum(len(t.split()) for t in texts)
nlp = get_nlp()
list(nlp.pipe(texts[:4]))  # warm-up: first-call allocations are not throughput
out = {"documents": len(texts), "words": words, "pipes": nlp.pipe_names}
for n_process in (1, 2):
    started = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=16, n_process=n_process):
        pass
    seconds = time.perf_counter() - started
    out[f"n_process_{n_process}"] = {"seconds": round(seconds, 3), "words_per_s": round(words / seconds, 1)}
print(json.dumps(out))
"""


class PeakMemory:
    """Samples the summed RSS of a process and all its descendants; `peak_mb` is the highest seen."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(self.interval)


def run_measured(args: list[str], env: dict[str, str], timeout: float) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a command; (completed process, wall seconds, peak MB of its process tree)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakMemory(process.pid) as memory:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr), seconds, memory.peak_mb


def ceiling(corpus: Path, env: dict[str, str]) -> dict:
    """Raw nlp.pipe words/s on a sample of the corpus, single process and two processes."""
    result = subprocess.run([sys.executable, "-c", _CEILING_SCRIPT, str(corpus), str(CEILING_SAMPLE_DOCS)], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["words_per_s"] = max(figures["n_process_1"]["words_per_s"], figures["n_process_2"]["words_per_s"])
    return figures


def bench_size(n: int, work: Path, workers: str, env: dict[str, str], seed: int) -> dict:
    """Everything measured for one corpus size."""
    corpus_dir, db, timings = work / f"corpus-{n}", work / f"lcd-{n}.duckdb", work / f"timings-{n}.json"
    print(f"[N={n}] building the corpus", flush=True)
    info = build_corpus(n, corpus_dir, seed=seed)
    print(f"[N={n}] {info.n_files} files, {info.words} words, {info.pdf_files} PDFs ({info.pdf_pages} pages) in {info.seconds:.1f} s", flush=True)
    print(f"[N={n}] raw nlp.pipe ceiling", flush=True)
    raw = ceiling(corpus_dir, env)
    print(f"[N={n}] lcd ingest (workers={workers})", flush=True)
    ingest = [*LCD, "ingest", str(corpus_dir), "--db", str(db), "--no-progress", "--workers", workers, "--timings-json", str(timings)]
    first, seconds, peak = run_measured(ingest, env, timeout=3600)
    if first.returncode != 0:
        raise SystemExit(f"lcd ingest failed ({first.returncode}):\n{first.stderr[-3000:]}")
    stages = json.loads(timings.read_text())
    print(f"[N={n}] unchanged re-run", flush=True)
    again, rerun_seconds, rerun_peak = run_measured([*LCD, "ingest", str(corpus_dir), "--db", str(db), "--no-progress"], env, timeout=600)
    if again.returncode != 0 or "nothing new" not in again.stdout:
        raise SystemExit(f"the unchanged re-run did not say 'nothing new':\n{again.stdout}\n{again.stderr[-2000:]}")
    extract = stages["stages"]["extract"]
    processes = max(1, stages["processes"])
    # Like for like: the stage's words/s with its processes extracting at once (per-process words/s times
    # processes) against raw nlp.pipe with as many processes. Two processes on two cores run at ~0.8x
    # each, so one process's nlp.pipe figure would be a ceiling no two-process stage could reach.
    stage_words_per_s = extract["words_per_s"] * processes if extract["words_per_s"] else None
    ceiling_words_per_s = raw[f"n_process_{min(processes, 2)}"]["words_per_s"]
    share = stage_words_per_s / ceiling_words_per_s if stage_words_per_s else None
    row = {
        "n_lcds": n,
        "corpus": {k: v for k, v in info.__dict__.items()},
        "end_to_end_seconds": round(seconds, 2),
        "end_to_end_docs_per_s": round(info.n_files / seconds, 2),
        "flow_wall_seconds": stages["wall_seconds"],
        "execution": stages["execution"],
        "new_versions": stages["new_versions"],
        "failed": stages["failed"],
        "stages": stages["stages"],
        "peak_rss_mb": round(peak, 1),
        "nlp_pipe": raw,
        "extraction_words_per_s": round(stage_words_per_s, 1) if stage_words_per_s else None,
        "nlp_pipe_words_per_s_same_processes": ceiling_words_per_s,
        "extraction_share_of_nlp_pipe": round(share, 3) if share else None,
        "unchanged_rerun_seconds": round(rerun_seconds, 2),
        "unchanged_rerun_peak_rss_mb": round(rerun_peak, 1),
        "summary_stdout": first.stdout.strip().splitlines(),
    }
    print(f"[N={n}] end to end {seconds:.1f} s; extraction {stage_words_per_s:.0f} words/s with {processes} process(es) "
          f"vs raw nlp.pipe {ceiling_words_per_s:.0f} ({share:.0%}); re-run {rerun_seconds:.1f} s; peak {peak:.0f} MB", flush=True)
    return row


def verdicts(rows: list[dict]) -> dict:
    """Each target and whether the measured figures meet it."""
    out = {}
    at_940 = [r for r in rows if r["n_lcds"] == 940]
    if at_940:
        out["end_to_end_940_under_120_s"] = at_940[0]["end_to_end_seconds"] < TARGETS["end_to_end_seconds_at_940"]
    shares = [r["extraction_share_of_nlp_pipe"] for r in rows if r["extraction_share_of_nlp_pipe"]]
    out["extraction_at_least_half_of_nlp_pipe"] = bool(shares) and min(shares) >= TARGETS["extraction_share_of_nlp_pipe"]
    out["unchanged_rerun_under_15_s"] = all(r["unchanged_rerun_seconds"] < TARGETS["unchanged_rerun_seconds"] for r in rows)
    peaks = [r["peak_rss_mb"] for r in sorted(rows, key=lambda r: r["n_lcds"])]
    # Flat: the largest corpus needs no more than 25% over the smallest (the corpus grows 50x).
    out["peak_memory_flat"] = len(peaks) < 2 or peaks[-1] <= 1.25 * peaks[0]
    return out


def plot(rows: list[dict], path: Path) -> None:
    """Three panels: end-to-end seconds, per-stage words/s against the nlp.pipe ceiling, peak memory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: r["n_lcds"])
    sizes = [r["n_lcds"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    ax.plot(sizes, [r["end_to_end_seconds"] for r in rows], "o-", label="lcd ingest, end to end")
    ax.plot(sizes, [r["unchanged_rerun_seconds"] for r in rows], "s--", label="unchanged re-run")
    ax.axhline(TARGETS["end_to_end_seconds_at_940"], color="grey", lw=0.8, ls=":", label="120 s target (940 LCDs)")
    ax.set(xscale="log", yscale="log", xlabel="LCDs in the corpus", ylabel="seconds", title="Wall time")
    ax.legend(fontsize=8)
    ax = axes[1]
    words_per_doc = [r["corpus"]["words"] / r["corpus"]["n_files"] for r in rows]
    for stage, style in (("read", "o-"), ("load", "^-"), ("diff", "v-")):
        ax.plot(sizes, [r["stages"][stage]["docs_per_s"] or 0 for r in rows], style, label=stage)
    ax.plot(sizes, [(r["extraction_words_per_s"] or 0) / w for r, w in zip(rows, words_per_doc)], "s-", label="extract (all workers)")
    ax.plot(sizes, [r["nlp_pipe_words_per_s_same_processes"] / w for r, w in zip(rows, words_per_doc)], "k:", label="raw nlp.pipe, same processes")
    ax.set(xscale="log", yscale="log", xlabel="LCDs in the corpus", ylabel="documents / s (stage seconds)", title="Stage throughput")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(sizes, [r["peak_rss_mb"] for r in rows], "o-", label="ingest (all processes)")
    ax.plot(sizes, [r["unchanged_rerun_peak_rss_mb"] for r in rows], "s--", label="unchanged re-run")
    ax.set(xscale="log", xlabel="LCDs in the corpus", ylabel="MB", title="Peak memory (RSS)", ylim=(0, None))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark for each size and write results.json and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,940,5000", help="comma-separated corpus sizes (LCDs)")
    parser.add_argument("--workers", default="auto", help="lcd ingest --workers (default auto: every core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    parser.add_argument("--plot", default=str(REPO / "bench" / "results.png"))
    parser.add_argument("--work-dir", help="where corpora and warehouses go (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    env = {**os.environ, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with tempfile.TemporaryDirectory(prefix="lcd-bench-", dir=args.work_dir) as tmp:
        work = Path(tmp)
        # Reports land next to the benchmark's warehouses, not in the repo's warehouse/reports.
        env["LCD_REPORTS_DIR"] = str(work / "reports")
        rows = [bench_size(n, work, args.workers, env, args.seed) for n in sizes]
    results = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(), "platform": platform.platform()},
        "command": "make bench  (" + " ".join(["bench/scale.py", *(argv if argv is not None else sys.argv[1:])]) + ")",
        "targets": TARGETS,
        "verdicts": verdicts(rows),
        "sizes": rows,
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    plot(rows, Path(args.plot))
    print(json.dumps(results["verdicts"], indent=2))
    print(f"results: {args.out}\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
