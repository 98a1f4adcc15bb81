"""Splitters: every fold holds out a whole group, never overlaps, and says why a fold is skipped."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from labelled_essays import PROMPTS, assert_valid, synthetic_essays

from daigt.evaluation.splits import EvaluationError, Fold, attack_split, leave_one_corpus_out, leave_one_prompt_out, \
    leave_one_source_out, prompt_group_kfold

def test_group_kfold_is_prompt_disjoint_covers_all_rows_and_is_seeded():
    df = synthetic_essays()
    folds = prompt_group_kfold(df, n_splits=3, seed=1)
    assert len(folds) == 3
    assert_valid(folds, len(df))
    tested = np.concatenate([f.test_idx for f in folds])
    assert sorted(tested.tolist()) == list(range(len(df)))  # every row tested exactly once
    for fold in folds:
        train_prompts = set(df["prompt_name"].iloc[fold.train_idx])
        assert train_prompts.isdisjoint(df["prompt_name"].iloc[fold.test_idx])
    again = prompt_group_kfold(df, n_splits=3, seed=1)
    assert all(np.array_equal(a.test_idx, b.test_idx) for a, b in zip(folds, again))
    with pytest.raises(EvaluationError, match="n_splits"):
        prompt_group_kfold(df, n_splits=len(PROMPTS) + 1)


def test_lopo_prompt_disjoint_and_selects_prompts():
    df = synthetic_essays()
    folds = leave_one_prompt_out(df, prompts=["mars", "venus"])
    assert [f.name for f in folds] == ["mars", "venus"]
    assert_valid(folds, len(df))
    for fold in folds:
        assert set(df["prompt_name"].iloc[fold.test_idx]) == {fold.name}
        assert fold.name not in set(df["prompt_name"].iloc[fold.train_idx])
        assert len(fold.train_idx) + len(fold.test_idx) == len(df)
    assert len(leave_one_prompt_out(df)) == len(PROMPTS)
    assert leave_one_prompt_out(df, min_rows=1000) == []
    with pytest.raises(EvaluationError, match="prompt_name"):
        leave_one_prompt_out(df, prompts=["jupiter"])


def test_one_label_test_folds_are_skipped_with_a_note(caplog):
    df = synthetic_essays()
    df.loc[(df["prompt_name"] == "cars") & (df["label"] == 0), "prompt_name"] = "cars-humans"
    with caplog.at_level(logging.WARNING, logger="daigt"):
        folds = leave_one_prompt_out(df, min_rows=1)
    names = [f.name for f in folds]
    assert "cars" not in names and "cars-humans" not in names
    assert "venus" in names
    assert "fold 'cars' skipped" in caplog.text and "fold 'cars-humans' skipped" in caplog.text


def test_loso_holds_out_a_generator_and_half_the_humans():
    df = synthetic_essays()
    folds = leave_one_source_out(df, seed=0, min_rows=1)
    assert sorted(f.name for f in folds) == ["gpt-a", "gpt-b"]
    assert_valid(folds, len(df))
    humans = set(np.flatnonzero(df["label"].to_numpy() == 0))
    test_humans = []
    for fold in folds:
        test = df.iloc[fold.test_idx]
        train = df.iloc[fold.train_idx]
        assert set(test.loc[test["label"] == 1, "source"]) == {fold.name}
        assert fold.name not in set(train["source"])
        held = set(fold.test_idx) & humans
        assert held and held.isdisjoint(fold.train_idx)
        assert len(held) == pytest.approx(len(humans) / 2, abs=len(PROMPTS))
        test_humans.append(held)
    assert test_humans[0] == test_humans[1]  # same human half for every generator


def test_loso_prompt_split_keeps_human_prompts_apart():
    df = synthetic_essays()
    (fold, *_) = leave_one_source_out(df, seed=0, min_rows=1, human_split="prompt")
    test_h = df.iloc[fold.test_idx].query("label == 0")["prompt_name"]
    train_h = df.iloc[fold.train_idx].query("label == 0")["prompt_name"]
    assert set(test_h).isdisjoint(set(train_h))


def test_lcoo_only_tests_corpora_with_both_labels():
    df = synthetic_essays()
    machine_only = df[df["label"] == 1].head(5).assign(file="machine_only.csv", text=lambda d: d["text"] + " extra")
    df = pd.concat([df, machine_only], ignore_index=True)
    folds = leave_one_corpus_out(df)
    assert sorted(f.name for f in folds) == ["corpus_one", "corpus_two"]
    assert_valid(folds, len(df))
    for fold in folds:
        assert set(df["file"].iloc[fold.test_idx]) == {fold.name + ".csv"}
        assert "machine_only.csv" in set(df["file"].iloc[fold.train_idx])
    assert [f.name for f in leave_one_corpus_out(df, corpora=["corpus_two"])] == ["corpus_two"]


def test_attack_split_trains_without_attacks_and_held_out_humans():
    df = synthetic_essays()
    attacks = df[df["label"] == 1].head(10).assign(
        text=lambda d: "paraphrased " + d["text"], source="dipper", file="attacks.csv"
    )
    combined, folds = attack_split(df, attacks, seed=3)
    assert len(combined) == len(df) + len(attacks) and len(folds) == 1
    fold = folds[0]
    assert_valid(folds, len(combined))
    test = combined.iloc[fold.test_idx]
    train = combined.iloc[fold.train_idx]
    assert "attacks.csv" not in set(train["file"])
    assert (test["file"] == "attacks.csv").sum() == len(attacks)
    assert set(test.loc[test["file"] != "attacks.csv", "label"]) == {0}
    n_humans = int((df["label"] == 0).sum())
    assert (test["label"] == 0).sum() + (train["label"] == 0).sum() == n_humans
    assert (test["label"] == 0).sum() == pytest.approx(n_humans / 2, abs=len(PROMPTS))
    with pytest.raises(EvaluationError, match="label"):
        attack_split(df, attacks.assign(label=0))


def test_frame_validation_names_column_and_row():
    df = synthetic_essays().drop(columns=["file"])
    with pytest.raises(EvaluationError, match="file"):
        prompt_group_kfold(df)
    df = synthetic_essays()
    df.loc[4, "label"] = 2
    with pytest.raises(EvaluationError, match="row 4"):
        leave_one_prompt_out(df)


def test_fold_rejects_overlap():
    with pytest.raises(EvaluationError, match="overlap"):
        Fold("x", np.array([0, 1]), np.array([1, 2]))
