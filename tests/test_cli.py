import subprocess
import sys

import pandas as pd
import pytest

from daigt.cli import build_parser, main
from daigt.config import Config


def test_help_reads_like_a_manual(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for word in ("run", "cv", "report", "train-transformer", "rehearse", "config", "examples:", "--set"):
        assert word in text
    commands = build_parser()._subparsers._group_actions[0].choices
    run_help = commands["run"].format_help()
    assert "--competition-dir" in run_help and "--train" in run_help and "--labels" in run_help
    cv_help = " ".join(commands["cv"].format_help().split())
    assert "default: the public recipe" not in cv_help and "they differ from the public recipe" in cv_help
    assert "kernel" not in commands  # Kaggle tooling is not a command of the library's CLI


def test_config_command_prints_loadable_toml(tmp_path, capsys):
    assert main(["config", "--set", "features.min_df=2"]) == 0
    path = tmp_path / "c.toml"
    path.write_text(capsys.readouterr().out)
    assert Config.from_toml(path) == Config().with_overrides(["features.min_df=2"])


def test_run_command_writes_submission_and_prints_auc(tmp_path, sample_competition, sample_train, capsys):
    out = tmp_path / "sub.csv"
    code = main(["run", "--competition-dir", str(sample_competition), "--train", str(sample_train), "--out", str(out),
                 "--labels", str(sample_competition.parent / "test_labels.csv"), "-q",
                 "--set", "ensemble.lightgbm.weight=0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "AUC against" in printed and "featurize" in printed
    assert len(pd.read_csv(out)) == len(pd.read_csv(sample_competition / "test_essays.csv"))


def test_bad_input_exits_2_with_the_file_and_fix(tmp_path, sample_competition, capsys):
    bad = tmp_path / "train.csv"
    bad.write_text("text,prompt_name\nhello,p\n")
    code = main(["run", "--competition-dir", str(sample_competition), "--train", str(bad), "--out", str(tmp_path / "s.csv"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "train.csv" in err and "label" in err
    assert not (tmp_path / "s.csv").exists()


def test_bad_override_exits_2(tmp_path, sample_competition, capsys):
    code = main(["run", "--competition-dir", str(sample_competition), "--out", str(tmp_path / "s.csv"), "--set", "features.bogus=1"])
    assert code == 2 and "bogus" in capsys.readouterr().err


def test_module_entry_point_and_no_torch_on_the_tfidf_path():
    code = "import sys, daigt.cli, daigt.pipeline; daigt.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    version = subprocess.run([sys.executable, "-m", "daigt", "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("daigt ")


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    """Only input errors become exit status 2; a bug in a command (here a stand-in) propagates as itself."""
    import daigt.cli.config

    def bug(args):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(daigt.cli.config, "command", bug)
    with pytest.raises(ValueError, match="a bug, not bad input"):
        main(["config"])
