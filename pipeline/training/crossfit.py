"""The full pipeline scored on train documents none of its learned parts saw: `lcd evaluate --split train --crossfit`.

The shipped NER, list-item role model and coverage classifier were all fit on the train documents, so the
train figures of `lcd evaluate --split train` are in-sample: the role model alone lifts indications F1 there
by several points it does not keep on new documents. Here every train document is extracted by the models
of the fold that held it out: the fold NER `lcd train` already keeps (models/ner/folds/<k>, trained on the
other half of the train documents), a role model fit on the other half's gold and the dev gold (as the shipped
one is fit on train + dev), and a coverage classifier
fit on the other half's out-of-fold candidates. Only the rules were still written on these documents, so
the figures remain an upper bound for unseen LCDs, but a far closer one than the in-sample train figures.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import spacy

from pipeline.datamodel import Document, Extraction
from pipeline.extract.extractor import extract_from_spacy, extractor_version
from pipeline.extract.lexicon import load_lexicon
from pipeline.quality.evaluation import Extractor, gold_score, load_splits
from pipeline.training.corpus import load_split
from pipeline.training.ner import assemble
from pipeline.training.roles import fit_roles, labelled_nodes
from pipeline.training.workflow import Paths, candidates_for, crossfit_folds, fit_coverage

NAME_SUFFIX = "+crossfit"


def crossfit_extractor(paths: Paths = Paths(), log=print) -> tuple[Extractor, list[str]]:
    """An extractor that reads each train document with the models of the fold that held it out, and the
    train documents it can score (those of the folds; a document outside them is an error, not a fallback)."""
    splits = load_splits()
    records = load_split("train", paths.annotations)
    folds = crossfit_folds([r["doc"] for r in records])
    missing = [str(paths.fold_ners / str(k)) for k in range(len(folds)) if not (paths.fold_ners / str(k)).exists()]
    if missing:
        raise FileNotFoundError(f"fold NERs missing ({', '.join(missing)}): run `lcd train` first")
    lexicon = load_lexicon()
    dev_nodes = labelled_nodes(splits["dev"], lexicon)  # chooses C and joins the refit, as in `lcd train`
    nlps, role_models = [], []
    for k, held in enumerate(folds):
        log(f"fold {k + 1}/{len(folds)}: NER, role model")
        with tempfile.TemporaryDirectory(prefix="lcd-crossfit-") as tmp:  # spacy.load reads the whole pipeline
            nlps.append(spacy.load(assemble(paths.fold_ners / str(k), Path(tmp) / "pipeline")))
        role_models.append(fit_roles(labelled_nodes([d for d in splits["train"] if d not in held], lexicon), dev_nodes)[0])
    # Classifier k is fit as `lcd train` fits the shipped one: on candidates the NER did not see (each train
    # document outside fold k read by its own fold's NER) under a role model that did see them (role model k).
    classifiers = []
    for k, held in enumerate(folds):
        log(f"fold {k + 1}/{len(folds)}: coverage classifier")
        candidates = [c for j, other in enumerate(folds) if j != k
                      for c in candidates_for([d for d in splits["train"] if d in other], records, nlps[j], role_models[k])]
        classifiers.append(fit_coverage(candidates, [])[0])
    fold_of = {doc: k for k, held in enumerate(folds) for doc in held}

    def extract(document: Document) -> Extraction:
        k = fold_of.get(document.lcd_id)
        if k is None:
            raise KeyError(f"{document.lcd_id} is in no train fold: crossfit scores train documents only")
        return extract_from_spacy(document, nlps[k](document.text), coverage_model=classifiers[k], role_model=role_models[k])

    return extract, [d for d in splits["train"] if d in fold_of]


def crossfit_evaluate(paths: Paths = Paths(), log=print) -> dict:
    """The `evaluate`-shaped result (train gold only) of the out-of-fold pipeline."""
    extract, ids = crossfit_extractor(paths, log)
    return {"extractor": extractor_version(trained=True) + NAME_SUFFIX, "split": "train", "train_gold": gold_score(extract, ids)}
