"""The CV loop with a real, cheap model (TF-IDF counts + NB): tables, hidden test labels, simulated noise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from labelled_essays import PROMPTS, nb_fit_predict, synthetic_essays
from sklearn.metrics import roc_auc_score

from daigt.config import Config
from daigt.evaluation.protocol import evaluate, with_test_noise
from daigt.evaluation.results import EvalResult
from daigt.evaluation.splits import EvaluationError, leave_one_prompt_out

def test_evaluate_with_a_real_model_builds_consistent_tables(tmp_path):
    df = synthetic_essays()
    folds = leave_one_prompt_out(df)
    result = evaluate(df, folds, nb_fit_predict, Config(), protocol="lopo", progress=False)
    preds = result.predictions
    assert len(preds) == len(df)  # every row tested exactly once
    assert result.summary["pooled_auc"] == pytest.approx(roc_auc_score(preds["label"], preds["score"]))
    assert result.summary["pooled_auc"] > 0.9  # the style words are learnable across prompts
    for _, row in result.folds.iterrows():
        part = preds[preds["fold"] == row["fold"]]
        assert row["auc"] == pytest.approx(roc_auc_score(part["label"], part["score"]))
        assert row["n_human"] + row["n_machine"] == len(part)
    assert set(result.prompts["prompt_name"]) == set(PROMPTS)
    # source AUC = that generator's rows against the fold's humans
    row = result.sources.iloc[0]
    part = preds[preds["fold"] == row["fold"]]
    sub = part[(part["label"] == 0) | (part["source"] == row["source"])]
    assert row["auc"] == pytest.approx(roc_auc_score(sub["label"], sub["score"]))
    assert len(result.timings) == len(folds) and all(t["seconds"] >= 0 for t in result.timings)
    assert "per prompt" in result.to_text()

    saved = result.save(tmp_path / "res")
    assert {p.name for p in saved.iterdir()} == {
        "predictions.csv", "folds.csv", "prompts.csv", "sources.csv", "lengths.csv", "result.json"}
    meta = json.loads((saved / "result.json").read_text())
    assert meta["summary"]["pooled_auc"] == pytest.approx(result.summary["pooled_auc"])
    loaded = EvalResult.load(saved)
    assert loaded.summary["pooled_auc"] == pytest.approx(result.summary["pooled_auc"])
    pd.testing.assert_frame_equal(loaded.folds, result.folds, check_dtype=False)
    assert loaded.config == Config().to_dict()


def test_evaluate_hides_test_labels_and_checks_score_count():
    df = synthetic_essays()
    seen: list[set[str]] = []

    def spy(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
        seen.append(set(train["prompt_name"]))
        return np.zeros(len(test_texts) - 1)

    folds = leave_one_prompt_out(df, prompts=["mars"])
    with pytest.raises(EvaluationError, match="scores for"):
        evaluate(df, folds, spy, progress=False)
    assert "mars" not in seen[0]
    with pytest.raises(EvaluationError, match="no fold"):
        evaluate(df, [], nb_fit_predict, progress=False)


def test_simulated_test_noise_changes_test_texts_only():
    df = synthetic_essays()
    folds = leave_one_prompt_out(df, prompts=["mars"])
    seen: dict[str, list[str]] = {}

    def spy(config, train, test_texts):
        seen["train"], seen["test"] = train["text"].tolist(), list(test_texts)
        return nb_fit_predict(config, train, test_texts)

    evaluate(df, folds, with_test_noise(spy, rate=1.0, char_noise=0.1), progress=False)
    original = df["text"].iloc[folds[0].test_idx].tolist()
    assert len(seen["test"]) == len(original)
    assert sum(a != b for a, b in zip(seen["test"], original)) > 0.9 * len(original)
    assert seen["train"] == df["text"].iloc[folds[0].train_idx].tolist()
    first = list(seen["test"])
    evaluate(df, folds, with_test_noise(spy, rate=1.0, char_noise=0.1), progress=False)
    assert seen["test"] == first  # seeded by config.seed
    assert with_test_noise(nb_fit_predict, 0.0) is nb_fit_predict
