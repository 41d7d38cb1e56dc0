"""Train the spaCy NER that proposes INDICATION spans, and assemble it into the product pipeline.

Workflow pieces (run in order by `lcd train`): corpus -> DocBin files, train with models/ner/config.cfg,
assemble the trained tok2vec+ner with the rule components into models/lcd_pipeline/.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import DocBin

from pipeline.extract.nlp import build_nlp
from pipeline.paths import NER_DIR, TRAINED_PIPELINE

NER_LABELS = ("INDICATION",)
CONFIG_PATH = NER_DIR / "config.cfg"
PIPELINE_DIR = TRAINED_PIPELINE


@dataclass(frozen=True)
class CorpusStats:
    """How many sentences and spans went into a DocBin, and how many spans did not align to tokens."""

    sentences: int
    spans: int
    misaligned: int


def records_to_docbin(records: list[dict], nlp: Language, labels: tuple[str, ...] = NER_LABELS) -> tuple[DocBin, CorpusStats]:
    """Annotated sentence records as spaCy Docs with entity spans (only `labels`)."""
    docbin = DocBin(store_user_data=False)
    spans = misaligned = 0
    for record in records:
        doc = nlp.make_doc(record["text"])
        ents = []
        for span in record["spans"]:
            if span["label"] not in labels:
                continue
            ent = doc.char_span(span["start"], span["end"], label=span["label"], alignment_mode="expand")
            if ent is None:
                misaligned += 1
                continue
            ents.append(ent)
        ents = spacy.util.filter_spans(ents)
        doc.set_ents(ents, default="outside")
        spans += len(ents)
        docbin.add(doc)
    return docbin, CorpusStats(len(records), spans, misaligned)


def write_docbin(records: list[dict], path: Path) -> CorpusStats:
    """Write records as a .spacy file with the product tokenizer."""
    docbin, stats = records_to_docbin(records, build_nlp())
    path.parent.mkdir(parents=True, exist_ok=True)
    docbin.to_disk(path)
    return stats


def train_ner(train_path: Path, dev_path: Path, output_dir: Path, config_path: Path = CONFIG_PATH, overrides: dict | None = None) -> Path:
    """Train the NER with the committed config; returns the best model's folder."""
    from spacy.cli.train import train

    import pipeline.extract.nlp  # noqa: F401  (registers the lcd tokenizer the config names)

    settings = {"paths.train": str(train_path), "paths.dev": str(dev_path)}
    settings.update(overrides or {})
    output_dir.mkdir(parents=True, exist_ok=True)
    train(config_path, output_dir, use_gpu=-1, overrides=settings)
    return output_dir / "model-best"


def assemble(ner_model: Path, out_dir: Path = PIPELINE_DIR) -> Path:
    """The product pipeline: the rule pipeline with the trained tok2vec and ner inserted before the rules."""
    trained = spacy.load(ner_model)
    nlp = build_nlp()
    for name in ("tok2vec", "ner"):
        if name in trained.pipe_names:
            nlp.add_pipe(name, source=trained, before="coverage_cues")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return out_dir
