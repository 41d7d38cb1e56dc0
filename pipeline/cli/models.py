"""`lcd train` and `lcd evaluate`: retrain the models from models/, and measure extraction quality."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli.common import EXIT_OK, RAW


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd evaluate` and `lcd train`."""
    p = sub.add_parser("evaluate", help="measure extraction quality", description="Score the extractor on the held-out test documents (models/gold, split in models/splits.json) and on the hand-checked train/dev expectations.\n\nExample: lcd evaluate --out models/metrics/rules.json", formatter_class=RAW)
    p.add_argument("--out", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--rules-only", action="store_true", help="score the rules without the trained NER and classifier")
    p.add_argument("--split", choices=("test", "dev", "train"), default="test", help="whose gold to score (default test, the held-out split; tune on dev)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="retrain the models and write their metrics", description="Retrain from models/: corpus (models/annotations) -> spaCy NER (models/ner/config.cfg) -> assembled pipeline (models/lcd_pipeline) -> coverage classifier (models/coverage/model.json) -> metrics on the held-out test documents (models/metrics/).\n\nExample: lcd train", formatter_class=RAW)
    p.add_argument("--max-steps", type=int, default=None, help="override the NER step budget (for quick trials)")
    p.set_defaults(func=cmd_train)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the extractor on the held-out gold documents and the train/dev expectations."""
    from pipeline.extract import extract
    from pipeline.extract.nlp import build_nlp, get_nlp
    from pipeline.jobs.reextract import extractor_version_of
    from pipeline.quality.evaluation import evaluate, format_report

    if args.rules_only:
        nlp = build_nlp()
        result = evaluate(lambda d: extract(d, nlp=nlp, coverage_model=None), extractor_version_of(nlp), args.split)
    else:
        nlp = get_nlp()
        result = evaluate(lambda d: extract(d, nlp=nlp), extractor_version_of(nlp), args.split)
    print(format_report(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"metrics: {out}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the NER and the coverage classifier from models/annotations and write models/metrics/."""
    from pipeline.training.workflow import train_all

    summary = train_all(ner_overrides={"training.max_steps": args.max_steps} if args.max_steps else None)
    print(json.dumps(summary, indent=2, sort_keys=True))
    # The extractor_version names the rules, not the weights: the warehouse does not know the models changed.
    print("lcd train: run `lcd reextract --all` to re-extract the warehouse with the new models", file=sys.stderr)
    return EXIT_OK
