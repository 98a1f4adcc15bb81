import json
import subprocess
import sys
from pathlib import Path

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


def test_run_with_labels_reads_the_competition_once(tmp_path, sample_competition, sample_train, monkeypatch):
    """``--labels`` needs the test ids before training, so the command reads the folder itself; it must hand the
    pipeline that Competition, not the path (which would read every competition CSV a second time)."""
    import daigt.data
    import daigt.pipeline

    folder_reads, csv_reads = [], []
    real_read_dir, real_read_csv = daigt.data.read_competition_dir, pd.read_csv

    def read_dir(path):
        folder_reads.append(path)
        return real_read_dir(path)

    def read_csv(source, *args, **kwargs):
        if isinstance(source, (str, Path)):
            csv_reads.append(Path(source).resolve())
        return real_read_csv(source, *args, **kwargs)

    for module in (daigt.data, daigt.pipeline):  # the pipeline holds its own reference
        monkeypatch.setattr(module, "read_competition_dir", read_dir)
    monkeypatch.setattr(pd, "read_csv", read_csv)
    code = main(["run", "--competition-dir", str(sample_competition), "--train", str(sample_train),
                 "--out", str(tmp_path / "sub.csv"), "--labels", str(sample_competition.parent / "test_labels.csv"),
                 "-q", "--set", "ensemble.lightgbm.weight=0"])
    assert code == 0
    assert folder_reads == [sample_competition]
    competition_files = [p for p in csv_reads if p.parent == sample_competition.resolve()]
    assert sorted(p.name for p in competition_files) == sorted(
        (daigt.data.TEST_FILE, daigt.data.TRAIN_FILE, daigt.data.PROMPTS_FILE))
    assert len(competition_files) == len(set(competition_files)), f"read twice: {competition_files}"


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


HEAVY = ("pandas", "sklearn", "scipy", "torch", "transformers", "lightgbm")


def test_light_commands_import_no_heavy_library(tmp_path):
    """``daigt --version``, ``--help`` and ``config`` run through the real entry point (``python -m daigt``) and
    load none of the data-science stack: the CLI names its error classes (daigt.errors) and cv's choices without
    importing the library that raises or defines them."""
    code = f"""
import contextlib, io, json, runpy, sys
codes = []
for argv in (["--version"], ["--help"], ["config"]):
    sys.argv = ["daigt", *argv]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            runpy.run_module("daigt", run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            codes.append((exc.code, out.getvalue()))
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print(json.dumps({{"codes": codes, "heavy": heavy, "daigt": sorted(m for m in sys.modules if m.startswith("daigt"))}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    loaded = json.loads(result.stdout)
    assert [code for code, _ in loaded["codes"]] == [0, 0, 0], result
    (_, version), (_, usage), (_, toml) = loaded["codes"]
    assert version.startswith("daigt ") and "usage: daigt" in usage and "[features]" in toml
    assert loaded["heavy"] == [], f"a light command imported {loaded['heavy']}"
    assert not {"daigt.data", "daigt.evaluation", "daigt.pipeline", "daigt.rehearsal"} & set(loaded["daigt"])


def test_cv_choices_are_the_library_registries():
    """cv's parser spells its choices out (so that building it stays light); they must be the library's."""
    from daigt.cli import cv
    from daigt.evaluation import MODELS, PROTOCOLS, SUITES

    assert cv.PROTOCOLS == tuple(PROTOCOLS)
    assert cv.MODELS == tuple(sorted(MODELS)), "a model was added to daigt.evaluation.MODELS: add it to cli/cv.py"
    assert cv.SUITES == tuple(sorted(SUITES)), "a suite was added to daigt.evaluation.SUITES: add it to cli/cv.py"


def test_error_classes_keep_their_old_homes():
    """The exit-2 errors live in daigt.errors and are still importable (as the same class) where they were."""
    from daigt import errors
    from daigt.data import DataError
    from daigt.evaluation import EvaluationError
    from daigt.evaluation.splits import EvaluationError as SplitsEvaluationError
    from daigt.folds import FoldError
    from daigt.rehearsal import RehearsalFailed

    assert (DataError, EvaluationError, SplitsEvaluationError, FoldError, RehearsalFailed) == (
        errors.DataError, errors.EvaluationError, errors.EvaluationError, errors.FoldError, errors.RehearsalFailed)


def test_an_unexpected_error_keeps_its_traceback(monkeypatch):
    """Only input errors become exit status 2; a bug in a command (here a stand-in) propagates as itself."""
    import daigt.cli.config

    def bug(args):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(daigt.cli.config, "command", bug)
    with pytest.raises(ValueError, match="a bug, not bad input"):
        main(["config"])
