"""Torch-free parts of the transformer track: folds, config, checkpoint discovery and selection."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from daigt.config import Config, ConfigError, TrainTransformerConfig
from daigt.transformer.checkpoints import MARKER, BestCheckpoint, find_model_dirs, load_train_config, \
    resume_differences, save_train_config


def test_torch_free_modules_do_not_import_torch():
    code = (
        "import sys, daigt, daigt.blend, daigt.transformer, daigt.transformer.checkpoints, daigt.folds\n"
        "from daigt.transformer import find_model_dirs\n"
        "import daigt.cli; daigt.cli.build_parser().parse_args(['train-transformer', '--train', 'x', '--out-dir', 'y'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'transformers' not in sys.modules, 'transformers was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- config -----------------------------------------------------------------------------------------------


def test_train_config_is_a_config_section_saved_as_json_and_checked_by_the_one_loader(tmp_path):
    config = TrainTransformerConfig(model_dir="m", folds=(0, 2), lr_encoder=3e-5, head="sequence_classification")
    path = save_train_config(config, tmp_path / "train_config.json")
    assert load_train_config(path) == config
    assert json.loads(path.read_text())["folds"] == [0, 2]
    assert config.fold_ids() == [0, 2] and TrainTransformerConfig(n_folds=3).fold_ids() == [0, 1, 2]
    assert Config().with_overrides(["train_transformer.lr_encoder=3e-5"]).train_transformer.lr_encoder == 3e-5
    with pytest.raises(ConfigError, match=r"train_transformer.head = 'cls' is not allowed.*'sequence_classification'"):
        Config().with_overrides(["train_transformer.head=cls"])
    with pytest.raises(ConfigError, match=r"train_transformer.folds = \[7\]: fold\(s\) \[7\] out of range"):
        Config().with_overrides(["train_transformer.n_folds=5", "train_transformer.folds=[7]"])
    path.write_text(json.dumps({"learning_rate": 1e-5}))
    with pytest.raises(ConfigError, match="unknown field"):
        load_train_config(path)
    path.write_text(json.dumps({"epochs": "two"}))
    with pytest.raises(ConfigError, match="expected int"):
        load_train_config(path)
    same = TrainTransformerConfig(model_dir="m", folds=(1,), lr_encoder=3e-5, head="sequence_classification")
    assert resume_differences(config, same) == []
    changed = TrainTransformerConfig(model_dir="m", lr_encoder=1e-5, head="sequence_classification")
    assert resume_differences(config, changed) == ["lr_encoder"]


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
