"""``daigt cv`` and ``daigt report`` end to end: files in, tables, saved results and exit codes out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from labelled_essays import hard_suite_files, synthetic_essays, write_corpora

from daigt.cli import main
from daigt.evaluation import EvalResult


def test_cv_command_runs_saves_and_reports(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    args = [*paths, "--protocol", "lcoo", "--model", "baseline", "--out", str(tmp_path / "out"), "--set", "seed=7"]
    assert main(["cv", *args]) == 0
    out = capsys.readouterr().out
    assert "protocol lcoo: 2 folds" in out and "corpus_one" in out
    meta = json.loads((tmp_path / "out" / "result.json").read_text())
    assert meta["config"]["seed"] == 7 and meta["summary"]["model"] == "baseline"

    pytest.importorskip("matplotlib")
    html_path = tmp_path / "report.html"
    assert main(["report", "--from", str(tmp_path / "out"), "--out", str(html_path)]) == 0
    assert "<img" in html_path.read_text()


def test_cv_command_reports_bad_input(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    args = [*paths, "--protocol", "attack", "--model", "baseline"]
    assert main(["cv", *args]) == 2
    assert "attack" in capsys.readouterr().err
    args = [*paths, "--set", "features.nope=1", "--model", "baseline"]
    assert main(["cv", *args]) == 2
    assert "features.nope" in capsys.readouterr().err


@pytest.mark.parametrize(
    "protocol, drop, fragment",
    [("lopo", "prompt_name", "have no 'prompt_name' column"), ("group-kfold", "prompt_name", "'prompt_name'"),
     ("loso", "source", "have no 'source' column"), ("lcoo", None, "two or more labelled files")],
)
def test_cv_names_what_a_protocol_lacks(tmp_path, capsys, protocol, drop, fragment):
    path = write_corpora(tmp_path)[0]
    if drop:
        pd.read_csv(path).drop(columns=[drop]).to_csv(path, index=False)
    assert main(["cv", path, "--protocol", protocol, "--model", "baseline"]) == 2
    assert fragment in capsys.readouterr().err


def test_cv_command_attack_protocol(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    df = synthetic_essays()
    attack = df[df["label"] == 1].head(8).assign(text=lambda d: "reworded " + d["text"], source="dipper")
    attack_path = tmp_path / "some_attacks.csv"
    attack.drop(columns=["file"]).to_csv(attack_path, index=False)
    args = [*paths, str(attack_path), "--protocol", "attack", "--model", "style",
                                    "--test-noise", "0.5", "--out", str(tmp_path / "out")]
    assert main(["cv", *args]) == 0
    out = capsys.readouterr().out
    assert "protocol attack: 1 folds" in out and "dipper" in out
    summary = json.loads((tmp_path / "out" / "result.json").read_text())["summary"]
    assert summary["model"] == "style" and summary["test_noise"] == {"rate": 0.5, "char_noise": 0.02}


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "herbold2023_argumentative_essays.csv").exists(), reason="shared data not present")
def test_lcoo_on_shared_corpora_with_baseline(tmp_path):
    files = [str(DATA / f) for f in ("herbold2023_argumentative_essays.csv", "shijaku2023_toefl_chatgpt.csv")]
    args = [*files, "--protocol", "lcoo", "--model", "baseline", "--out", str(tmp_path)]
    assert main(["cv", *args]) == 0
    result = EvalResult.load(tmp_path)
    assert set(result.folds["fold"]) == {"herbold2023_argumentative_essays", "shijaku2023_toefl_chatgpt"}
    assert (result.folds["auc"] > 0.8).all()


def test_hard_suite_tabulates_every_protocol_per_variant_and_resumes(tmp_path, capsys):
    paths = hard_suite_files(tmp_path)
    out = tmp_path / "suite"
    base = [*paths, "--suite", "hard", "--model", "baseline", "--out", str(out)]
    assert main(["cv", *base, *["--variants", "public recipe", "old defaults"]]) == 0
    text = capsys.readouterr().out
    table = pd.read_csv(out / "suite.csv", index_col=0)
    assert list(table.columns) == ["public recipe", "old defaults"]
    assert list(table.index) == [
        "LOSO llm-unknown(ai-mix-v16), human split by prompt", "LCOO m4_llama2", "LCOO liang2023_detector_bias",
        "LOPO persuade prompts, worst fold", "LOPO persuade prompts, mean fold", "attack"]
    assert table.notna().all().all() and "| LCOO m4_llama2 |" in text
    saved = EvalResult.load(out / "old-defaults" / "lcoo")
    assert dict(zip(saved.folds["fold"], saved.folds["auc"]))["m4_llama2"] == pytest.approx(
        table.loc["LCOO m4_llama2", "old defaults"])
    assert set(saved.lengths["fold"]) >= {"all", "m4_llama2"}
    # resume: saved cells with the same config and options are reused, a changed config is rerun
    stamp = (out / "old-defaults" / "lcoo" / "result.json").stat().st_mtime_ns
    again = ["--variants", "old defaults", "seven", "--variant", "seven=seed=7", "--resume"]
    assert main(["cv", *base, *again]) == 0
    assert (out / "old-defaults" / "lcoo" / "result.json").stat().st_mtime_ns == stamp
    assert EvalResult.load(out / "seven" / "lcoo").config["seed"] == 7
    one = ["--variants", "eight", "--variant", "eight=seed=8", "--cells", "attack"]
    assert main(["cv", *base, *one]) == 0
    assert [p.name for p in (out / "eight").iterdir()] == ["attack"]
    capsys.readouterr()
    assert main(["cv", *base, *["--variants", "public recipe", "--saved-only"]]) == 0
    assert "| attack |" in capsys.readouterr().out


def test_a_suite_variant_can_name_its_own_model(tmp_path, capsys):
    paths = hard_suite_files(tmp_path)
    out = tmp_path / "suite"
    base = [*paths, "--suite", "hard", "--cells", "attack", "--out", str(out)]
    assert main(["cv", *base, "--variants", "recipe", "--variant", "recipe=model=baseline"]) == 0
    assert EvalResult.load(out / "recipe" / "attack").summary["suite_cell"]["model"] == "baseline"
    capsys.readouterr()
    assert main(["cv", *base, "--variants", "bad", "--variant", "bad=model=nope"]) == 2
    assert "model=['nope']" in capsys.readouterr().err


def test_every_built_in_variant_that_needs_a_causal_lm_is_known_by_its_overrides():
    """The default variant set leaves out what needs ``ensemble.causal_lm.model``: a variant that fails to load
    without one must be recognised as needing it, or a suite without an LM would stop on a config error."""
    from daigt.config import Config, ConfigError
    from daigt.evaluation.suite import needs_causal_lm, suite_variants, variant_model

    needing = set()
    for name, overrides in suite_variants().items():
        if needs_causal_lm(overrides):
            needing.add(name)
            continue
        Config().with_overrides(variant_model(overrides, "pipeline")[1])  # loads without an LM
    assert {"LM-guided pseudo-labels", "causal-LM member", "defaults + causal LM"} <= needing
    with pytest.raises(ConfigError):
        Config().with_overrides(suite_variants()["LM-guided pseudo-labels"])
