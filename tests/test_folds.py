"""The one prompt-grouped fold assignment: prompt-disjoint, balanced, seeded, and the same for CV and training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from labelled_essays import synthetic_essays

from daigt.evaluation import prompt_group_kfold
from daigt.folds import FoldError, group_folds, prompt_folds


def _toy_prompts(n_prompts: int = 10, per_prompt: int = 12) -> tuple[list[str], list[int]]:
    prompts = [f"prompt {p}" for p in range(n_prompts) for _ in range(per_prompt)]
    labels = [i % 3 == 0 for i in range(n_prompts * per_prompt)]
    return prompts, [int(x) for x in labels]


def test_folds_are_prompt_disjoint_cover_every_row_and_hold_both_labels():
    prompts, labels = _toy_prompts()
    folds = prompt_folds(prompts, n_folds=4, seed=3, labels=labels)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3]
    for prompt in set(prompts):
        assert len({f for p, f in zip(prompts, folds) if p == prompt}) == 1, prompt
    for k in range(4):
        assert {l for l, f in zip(labels, folds) if f == k} == {0, 1}
    np.testing.assert_array_equal(folds, prompt_folds(prompts, n_folds=4, seed=3, labels=labels))


def test_folds_are_dealt_largest_prompt_first_to_the_smallest_fold():
    prompts = ["a"] * 50 + ["b"] * 30 + ["c"] * 25 + ["d"] * 5
    folds = prompt_folds(prompts, n_folds=2, seed=0)
    fold_of = dict(zip(prompts, folds.tolist()))
    assert fold_of["a"] == fold_of["d"] != fold_of["b"] == fold_of["c"]  # 50 + 5 and 30 + 25
    assert np.bincount(folds).tolist() == [55, 55]


def test_folds_need_enough_prompts_and_both_labels_per_fold():
    prompts, labels = _toy_prompts(n_prompts=3)
    with pytest.raises(FoldError, match="only 3 distinct prompt_name values for 5"):
        prompt_folds(prompts, n_folds=5, labels=labels)
    one_label_prompt = ["a"] * 4 + ["b"] * 4
    with pytest.raises(FoldError, match="holds only label"):
        prompt_folds(one_label_prompt, n_folds=2, labels=[1, 1, 1, 1, 0, 0, 0, 0])


@pytest.mark.parametrize("seed", [0, 42])
def test_transformer_folds_are_the_cv_folds_on_the_same_data_and_seed(seed):
    """The transformer's out-of-fold predictions line up with `daigt cv --protocol group-kfold` row by row."""
    from daigt.config import TrainTransformerConfig
    from daigt.transformer.training import training_folds  # noqa: the training module needs torch

    df = synthetic_essays(per_prompt=12)
    cv = prompt_group_kfold(df, n_splits=3, seed=seed)
    training = training_folds(TrainTransformerConfig(n_folds=3, seed=seed), df)
    assert [fold.test_idx.tolist() for fold in cv] == [np.flatnonzero(training == k).tolist() for k in range(3)]


def test_stacking_and_lm_folds_are_the_prompt_folds_and_random_without_groups():
    groups = pd.Series(["x", "y", "z", "w"] * 10).to_numpy()
    np.testing.assert_array_equal(group_folds(40, groups, 3, seed=5), prompt_folds(groups, 3, seed=5))
    dealt = group_folds(40, ["x"] * 40, 4, seed=5)  # one group, four folds: rows dealt at random
    assert np.bincount(dealt).tolist() == [10, 10, 10, 10]
