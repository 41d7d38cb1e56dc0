"""`lcd train` and `lcd evaluate`: retrain the models from models/, and measure extraction quality."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_OK, RAW, CliError


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd evaluate` and `lcd train`."""
    p = sub.add_parser("evaluate", help="measure extraction quality", description="Score the extractor on the held-out test documents (models/gold, split in models/splits.json) and on the hand-checked train/dev expectations, with its errors counted by kind (pipeline/quality/error_kinds.py). --compare scores the rules alone and the full pipeline side by side.\n\n--crossfit (train only) adds the full pipeline with every learned part out of fold: the honest train figure.\n\nExample: lcd evaluate --out models/metrics/rules.json\n         lcd evaluate --split dev --compare\n         lcd evaluate --split train --compare --crossfit", formatter_class=RAW)
    p.add_argument("--out", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--rules-only", action="store_true", help="score the rules without the trained NER and classifier")
    p.add_argument("--split", choices=("test", "dev", "train"), default="test", help="whose gold to score (default test, the held-out split; tune on dev)")
    p.add_argument("--compare", action="store_true", help="score the rules alone and the full pipeline, side by side in one table")
    p.add_argument("--crossfit", action="store_true", help="with --split train: also score the full pipeline whose NER, role model and classifier never saw the document (the fold models; a few minutes)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="retrain the models and write their metrics", description="Retrain from models/: corpus (models/annotations) -> spaCy NER (models/ner/config.cfg) -> assembled pipeline (models/lcd_pipeline) -> coverage classifier (models/coverage/model.json) -> metrics on the held-out test documents (models/metrics/). --coverage-only keeps the NER and refits the classifiers (about 2 minutes).\n\nExample: lcd train\n         lcd train --coverage-only", formatter_class=RAW)
    p.add_argument("--max-steps", type=int, default=None, help="override the NER step budget (for quick trials)")
    p.add_argument("--coverage-only", action="store_true", help="keep the committed NER pipeline; refit the list-item roles and the coverage classifier (after rule changes) and rewrite the metrics")
    p.set_defaults(func=cmd_train)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the extractor on the held-out gold documents and the train/dev expectations."""
    from pipeline.quality.evaluation import evaluate, format_compare, format_report

    if args.compare and args.rules_only:
        raise CliError("--compare already scores the rules alone; drop --rules-only")
    if args.crossfit and (args.split != "train" or args.rules_only):
        raise CliError("--crossfit scores the train split with the fold models: use it with --split train, without --rules-only")
    runs = [True, False] if args.compare else ([] if args.crossfit else [args.rules_only])
    results = {}
    for rules_only in runs:
        name, extract_fn = _extractor(rules_only)
        results["rules alone" if rules_only else "full pipeline"] = evaluate(extract_fn, name, args.split)
    if args.crossfit:
        from pipeline.training.crossfit import crossfit_evaluate

        results["full pipeline, out of fold"] = crossfit_evaluate(log=lambda line: print(line, file=sys.stderr))
    if args.compare or args.crossfit:
        print(format_compare(results))
        result: dict = {"split": args.split, "compare": results}
    else:
        result = next(iter(results.values()))
        print(format_report(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"metrics: {out}")
    return EXIT_OK


def _extractor(rules_only: bool):
    """(version name, extract function) of the rules alone or of the shipped pipeline."""
    from pipeline.extract import extract
    from pipeline.extract.nlp import build_nlp, get_nlp
    from pipeline.jobs.reextract import extractor_version_of

    if rules_only:
        nlp = build_nlp()
        return extractor_version_of(nlp), lambda d: extract(d, nlp=nlp, coverage_model=None)
    nlp = get_nlp()
    return extractor_version_of(nlp), lambda d: extract(d, nlp=nlp)


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the NER and the coverage classifier from models/annotations and write models/metrics/."""
    from pipeline.training.workflow import train_all

    if args.coverage_only and args.max_steps:
        raise CliError("--coverage-only keeps the NER; drop --max-steps")
    summary = train_all(ner_overrides={"training.max_steps": args.max_steps} if args.max_steps else None, reuse_pipeline=args.coverage_only)
    print(json.dumps(summary, indent=2, sort_keys=True))
    # The new weights change the extractor_version's fingerprint: reextract finds every version stale.
    print("lcd train: run `lcd reextract` to re-extract the warehouse with the new models", file=sys.stderr)
    return EXIT_OK
