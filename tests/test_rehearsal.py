"""`daigt rehearse` (daigt.rehearsal): the commit run's rehearsal on the embedded sample, with the real pipeline."""

import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from daigt.cli import main
from daigt.rehearsal import extrapolate, measure

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
COMPETITION = SAMPLE / "llm-detect-ai-generated-text"


@pytest.fixture
def placeholder(tmp_path) -> Path:
    """The sample's competition folder with Kaggle's commit-run placeholder: a 3-row test set."""
    folder = tmp_path / "llm-detect-ai-generated-text"
    shutil.copytree(COMPETITION, folder)
    test = pd.read_csv(COMPETITION / "test_essays.csv", dtype=str).head(3)
    test.to_csv(folder / "test_essays.csv", index=False)
    test[["id"]].assign(generated=0.5).to_csv(folder / "sample_submission.csv", index=False)
    return folder


FAST = ("--set", "guard.rehearsal_rows=60", "--set", "data.max_train_rows=200")


def rehearse(competition, *argv):
    return main(["rehearse", "--competition-dir", str(competition), "--train", str(SAMPLE / "daigt-external" / "train.csv"), *argv])


def test_rehearsal_validates_runs_the_pipeline_and_extrapolates_to_the_hidden_test(placeholder, tmp_path, capsys):
    code = rehearse(placeholder, *FAST, "--work-dir", str(tmp_path / "work"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert "config valid (defaults + 2 override(s))" in out
    assert "training data valid: 1,260 essays" in out
    assert "trains on a stratified sample of 200 of them (data.max_train_rows)" in out
    assert "full pipeline on 60 training essays standing in as test" in out and "full pipeline on 30 " in out
    line = next(line for line in out.splitlines() if "extrapolated to 9,000 test essays" in line)
    assert "linear in the test size through both runs" in line and "of the 9-hour limit" in line and "of ~30 GB" in line
    assert "within Kaggle's 9-hour and ~30 GB limits" in out
    submission = (tmp_path / "work" / "rehearsal-60.csv").read_text().splitlines()
    assert submission[0] == "id,generated" and len(submission) == 61
    assert len({row.split(",")[1] for row in submission[1:]}) > 1, "the full pipeline ran, not the 0.5 placeholder"


def test_a_bad_training_file_fails_the_rehearsal_naming_file_row_and_fix(placeholder, tmp_path, capsys):
    bad = tmp_path / "train.csv"
    lines = (SAMPLE / "daigt-external" / "train.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    bad.write_text("".join(lines[:1]) + '"an essay",maybe,p,s\n' + "".join(lines[1:]), encoding="utf-8")
    assert main(["rehearse", "--competition-dir", str(placeholder), "--train", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: column 'label', row 1 (CSV line 2)" in err and "Fix: write 0 or 1" in err


def test_a_bad_config_fails_the_rehearsal_before_reading_data(placeholder, capsys):
    assert rehearse(placeholder, "--set", "features.ngram_range=[3]") == 2
    assert "features.ngram_range: expected 2 values" in capsys.readouterr().err


def test_a_config_the_pipeline_cannot_run_fails_the_rehearsal(placeholder, capsys):
    """hinge loss gives no probabilities: the guard's placeholder never notices, the rehearsal must."""
    assert rehearse(placeholder, *FAST, "--set", "ensemble.sgd.loss=hinge") == 2
    err = capsys.readouterr().err
    # Either the pipeline fails on the stand-in test set, or (once the config loader checks it) the loader does.
    assert "`daigt run` failed (exit" in err and "standing in as test" in err or "hinge" in err


def test_extrapolation_is_linear_through_two_runs_and_never_shrinks():
    assert extrapolate([(500, 20.0), (1000, 30.0)], 9000) == pytest.approx(190.0)
    assert extrapolate([(1000, 30.0), (500, 31.0)], 9000) == 30.0
    assert extrapolate([(1000, 30.0)], 9000) == pytest.approx(270.0)


def test_a_run_past_the_cap_is_stopped_and_reported_as_such():
    m = measure([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"], 5, cap_s=1.0)
    assert m.code is None and 1.0 <= m.seconds < 10 and "started" in m.output


@pytest.mark.parametrize("budget, verdict", [("1e-9", "SKIP"), ("5", "use")])
def test_rehearsal_says_whether_the_scoring_run_will_use_the_causal_lm_member(placeholder, tmp_path, capsys, budget,
                                                                              verdict):
    """One line with the scoring run's own decision; the measured runs then skip the member, or score it from a
    cold cache of their own, so the extrapolation holds its time exactly when the scoring run will spend it."""
    pytest.importorskip("transformers")
    from daigt.transformer.tiny import build_tiny_causal_lm

    model = build_tiny_causal_lm(tmp_path / "lm", "llama")
    member = ["ensemble.causal_lm.weight=0.2", f"ensemble.causal_lm.model={model}", "ensemble.causal_lm.max_length=24",
              "ensemble.causal_lm.device=cpu", f"ensemble.causal_lm.cache_dir={tmp_path / 'cache'}",
              f"ensemble.causal_lm.time_budget_hours={budget}", "pseudo_label.guide=causal-lm"]
    code = rehearse(placeholder, *FAST, *[a for o in member for a in ("--set", o)], "--work-dir", str(tmp_path / "work"))
    out = capsys.readouterr().out
    assert code == 0, out
    [line] = [line for line in out.splitlines() if "causal-LM member" in line]
    assert f"the scoring run will {verdict} it (1,260 training essays standing in for the hidden test" in line
    assert "1,260 test + 200 training texts" in line and "on cpu" in line
    [line] = [line for line in out.splitlines() if "pseudo-label guide:" in line]
    assert f"the scoring run will {verdict} it (1,260 training essays" in line and "1,260 test + 0 training" in line
    child = (tmp_path / "work" / "rehearsal-60.config.toml").read_text()
    guide = child.split("[pseudo_label]")[1].split("\n[")[0]
    if verdict == "SKIP":
        assert "weight = 0.0" in child.split("[ensemble.causal_lm]")[1].split("\n[")[0]
        assert 'guide = "none"' in guide
    else:
        assert str(tmp_path / "work" / "causal-lm-cache-60") in child and 'guide = "causal-lm"' in guide
        assert list((tmp_path / "work" / "causal-lm-cache-60").rglob("*.npz"))
    assert not (tmp_path / "cache").exists(), "the rehearsal's probe and runs never touch the configured cache"
