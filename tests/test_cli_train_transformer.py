"""`daigt train-transformer` settings: the config's train_transformer section, from --config, --set and options."""

from __future__ import annotations

import pytest

from daigt.cli import build_parser
from daigt.cli.train_transformer import train_config
from daigt.config import ConfigError


def settings(*argv: str):
    return train_config(build_parser().parse_args(["train-transformer", "--train", "t.csv", "--out-dir", "o", *argv]))


def test_options_override_set_which_overrides_the_config_file(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('[train_transformer]\nmodel_dir = "/models/deberta"\nepochs = 3\nlr_encoder = 3e-5\nfolds = [1]\n')
    config = settings("--config", str(path), "--set", "train_transformer.epochs=4", "--lr-encoder", "1e-5", "-q")
    assert (config.model_dir, config.epochs, config.lr_encoder, config.folds) == ("/models/deberta", 4, 1e-5, (1,))
    assert config.progress is False  # -q
    assert settings("--model-dir", "m", "--folds", "0", "2", "--no-group-by-length").folds == (0, 2)


@pytest.mark.parametrize("argv, fragment", [
    ((), "--model-dir is required"),
    (("--model-dir", "m", "--n-folds", "3", "--folds", "5"), "train_transformer.folds = [5]"),
    (("--model-dir", "m", "--warmup-ratio", "1.5"), "train_transformer.warmup_ratio = 1.5 is out of range"),
    (("--model-dir", "m", "--set", "train_transformer.scheduler=step"), "use one of ['linear', 'cosine', 'constant']"),
])
def test_bad_settings_fail_before_torch_loads_naming_the_field(argv, fragment):
    with pytest.raises(ConfigError) as error:
        settings(*argv)
    assert fragment in str(error.value)


def test_choices_are_the_fields_literal_values():
    with pytest.raises(SystemExit):
        settings("--model-dir", "m", "--head", "cls")
