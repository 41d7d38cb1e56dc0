"""`lcd evaluate --split train --crossfit`: the train figures of models that never saw the document."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from pipeline.training.crossfit import crossfit_extractor
from pipeline.training.workflow import Paths


@pytest.mark.parametrize("argv", [["--split", "dev", "--crossfit"], ["--crossfit"], ["--split", "train", "--crossfit", "--rules-only"]])
def test_crossfit_outside_the_train_split_is_a_usage_error(argv, capsys):
    assert main(["evaluate", *argv]) == 2
    assert "--crossfit scores the train split" in capsys.readouterr().err


def test_crossfit_without_fold_ners_says_to_train_first(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `lcd train` first"):
        crossfit_extractor(Paths(fold_ners=tmp_path / "folds"), log=lambda _line: None)
