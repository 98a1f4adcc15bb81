"""Torch-free parts of the transformer track: folds, config, checkpoint discovery and selection."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from daigt.transformer.checkpoints import MARKER, BestCheckpoint, find_model_dirs
from daigt.transformer.config import TrainConfig
from daigt.transformer.folds import assign_prompt_folds


def test_torch_free_modules_do_not_import_torch():
    code = (
        "import sys, daigt, daigt.blend, daigt.transformer, daigt.transformer.cli, "
        "daigt.transformer.folds, daigt.transformer.checkpoints, daigt.transformer.config\n"
        "from daigt.transformer import find_model_dirs, TrainConfig\n"
        "import argparse; daigt.transformer.cli.add_train_arguments(argparse.ArgumentParser())\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'transformers' not in sys.modules, 'transformers was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- folds ------------------------------------------------------------------------------------------------


def _toy_prompts(n_prompts: int = 10, per_prompt: int = 12) -> tuple[list[str], list[int]]:
    prompts = [f"prompt {p}" for p in range(n_prompts) for _ in range(per_prompt)]
    labels = [i % 3 == 0 for i in range(n_prompts * per_prompt)]
    return prompts, [int(x) for x in labels]


def test_folds_are_prompt_disjoint_cover_every_row_and_hold_both_labels():
    prompts, labels = _toy_prompts()
    folds = assign_prompt_folds(prompts, labels, n_folds=4, seed=3)
    assert sorted(set(folds.tolist())) == [0, 1, 2, 3]
    for prompt in set(prompts):
        assert len({f for p, f in zip(prompts, folds) if p == prompt}) == 1, prompt
    for k in range(4):
        assert {l for l, f in zip(labels, folds) if f == k} == {0, 1}
    np.testing.assert_array_equal(folds, assign_prompt_folds(prompts, labels, n_folds=4, seed=3))


def test_folds_need_enough_prompts_and_both_labels_per_fold():
    prompts, labels = _toy_prompts(n_prompts=3)
    with pytest.raises(ValueError, match="only 3 distinct prompt_name values for 5"):
        assign_prompt_folds(prompts, labels, n_folds=5)
    one_label_prompt = ["a"] * 4 + ["b"] * 4
    with pytest.raises(ValueError, match="holds only label"):
        assign_prompt_folds(one_label_prompt, [1, 1, 1, 1, 0, 0, 0, 0], n_folds=2)


# ---- config -----------------------------------------------------------------------------------------------


def test_train_config_round_trips_through_json_and_validates(tmp_path):
    config = TrainConfig(model_dir="m", folds=(0, 2), lr_encoder=3e-5, head="sequence_classification")
    path = config.save(tmp_path / "train_config.json")
    assert TrainConfig.from_json(path) == config
    assert json.loads(path.read_text())["folds"] == [0, 2]
    assert config.fold_ids() == [0, 2] and TrainConfig(n_folds=3).fold_ids() == [0, 1, 2]
    with pytest.raises(ValueError, match="head='cls' is not one of"):
        TrainConfig(head="cls")
    with pytest.raises(ValueError, match=r"folds \[7\] out of range"):
        TrainConfig(n_folds=5, folds=(7,))
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({"learning_rate": 1e-5})
    with pytest.raises(ValueError, match="expected int"):
        TrainConfig.from_dict({"epochs": "two"})
    assert config.resume_differences(TrainConfig(model_dir="m", folds=(1,), lr_encoder=3e-5, head="sequence_classification")) == []
    assert config.resume_differences(TrainConfig(model_dir="m", lr_encoder=1e-5, head="sequence_classification")) == ["lr_encoder"]


# ---- checkpoint discovery and selection ---------------------------------------------------------------------


def test_find_model_dirs_sorts_folds_naturally_and_skips_resume_state(tmp_path):
    for name in ("fold_10", "fold_2", "fold_0", "_state/fold_1"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / MARKER).write_text("{}")
    (tmp_path / "notes").mkdir()
    assert [p.name for p in find_model_dirs(tmp_path)] == ["fold_0", "fold_2", "fold_10"]
    assert find_model_dirs(tmp_path / "fold_2") == [tmp_path / "fold_2"]
    with pytest.raises(FileNotFoundError, match="no checkpoint found"):
        find_model_dirs(tmp_path / "notes")
    with pytest.raises(FileNotFoundError, match="not found"):
        find_model_dirs(tmp_path / "missing")


def test_best_checkpoint_keeps_the_highest_auc_not_the_last_or_lowest():
    scores = [0.70, 0.60, 0.90, 0.80]  # lowest at step 1, best at step 2, last at step 3
    best = BestCheckpoint()
    saved_at = [step for step, score in enumerate(scores) if best.update(score, step)]
    assert (best.score, best.step) == (0.90, 2)
    assert saved_at == [0, 2]
    assert not best.update(float("nan"), 4) and not best.update(0.90, 5)  # NaN and ties never replace it
    resumed = BestCheckpoint(0.90, 2)
    assert not resumed.update(0.85, 6) and resumed.update(0.95, 7) and resumed.step == 7
