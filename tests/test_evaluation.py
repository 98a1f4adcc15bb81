"""Protocols, metrics and the evaluation loop on synthetic labelled essays (a real, cheap TF-IDF + NB model)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from daigt.config import Config
from daigt.evaluation import (
    EvalResult,
    EvaluationError,
    Fold,
    add_cv_arguments,
    add_report_arguments,
    attack_split,
    auc,
    cv_command,
    evaluate,
    leave_one_corpus_out,
    leave_one_prompt_out,
    leave_one_source_out,
    prompt_group_kfold,
    report_command,
    tpr_at_fpr,
    with_test_noise,
)

PROMPTS = ["cars", "venus", "mars", "phones", "school", "sports"]
HUMAN_WORDS = "i think gonna really like stuff kinda honestly dunno maybe cuz".split()
MACHINE_WORDS = "furthermore additionally moreover overall crucial essential delve ultimately significant".split()


def synthetic_essays(seed: int = 0, per_prompt: int = 24) -> pd.DataFrame:
    """Essays whose label is carried by style words and whose topic by prompt words: learnable, not trivial."""
    rng = np.random.default_rng(seed)
    rows = []
    for p_index, prompt in enumerate(PROMPTS):
        topic = [f"{prompt}{k}" for k in range(6)]
        for i in range(per_prompt):
            label = int(i % 3 != 0)  # one human per two machine essays
            style = MACHINE_WORDS if label else HUMAN_WORDS
            noise = HUMAN_WORDS if label else MACHINE_WORDS
            words = list(rng.choice(topic, 30)) + list(rng.choice(style, 12)) + list(rng.choice(noise, 3))
            rng.shuffle(words)
            source = "human" if label == 0 else ("gpt-a" if i % 2 else "gpt-b")
            rows.append(
                {
                    "text": " ".join(words) + f" essay{p_index}_{i}.",
                    "label": label,
                    "prompt_name": prompt,
                    "source": source,
                    "file": "corpus_one.csv" if p_index < 3 else "corpus_two.csv",
                }
            )
    return pd.DataFrame(rows)


def nb_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.naive_bayes import MultinomialNB

    vectorizer = CountVectorizer()
    model = MultinomialNB().fit(vectorizer.fit_transform(train["text"]), train["label"])
    return model.predict_proba(vectorizer.transform(test_texts))[:, 1]


def assert_valid(folds: list[Fold], n: int) -> None:
    for fold in folds:
        assert len(np.intersect1d(fold.train_idx, fold.test_idx)) == 0
        assert fold.train_idx.min() >= 0 and fold.test_idx.max() < n


# ---- metrics -------------------------------------------------------------------------------------------
def test_auc_matches_sklearn_and_is_nan_for_one_label():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 200)
    scores = rng.random(200) + 0.3 * labels
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(auc(np.ones(5), np.arange(5)))


def test_tpr_at_fpr_hand_computed():
    # 10 humans with scores 0..9 (9 is the highest), 4 machines
    labels = np.array([0] * 10 + [1] * 4)
    scores = np.array(list(range(10)) + [9.5, 8.5, 3.5, 10.0])
    # FPR 0 allowed: threshold above 9 -> machines 9.5 and 10.0 caught = 2/4
    assert tpr_at_fpr(labels, scores, 0.0) == pytest.approx(0.5)
    # FPR <= 10% (one human, score 9): threshold 8.5 catches 9.5, 10, 8.5 -> 3/4
    assert tpr_at_fpr(labels, scores, 0.1) == pytest.approx(0.75)
    # FPR <= 5% of 10 humans: still no human may be flagged
    assert tpr_at_fpr(labels, scores, 0.05) == pytest.approx(0.5)
    assert tpr_at_fpr(labels, scores, 1.0) == pytest.approx(1.0)


def test_tpr_at_fpr_never_splits_ties():
    labels = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.9, 0.9])  # a human ties with both machines
    assert tpr_at_fpr(labels, scores, 0.2) == pytest.approx(0.0)
    assert tpr_at_fpr(labels, scores, 0.25) == pytest.approx(1.0)


# ---- protocols -----------------------------------------------------------------------------------------
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


# ---- evaluate --------------------------------------------------------------------------------------------
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


# ---- command line ---------------------------------------------------------------------------------------
def write_corpora(tmp_path: Path) -> list[str]:
    df = synthetic_essays()
    paths = []
    for name, part in df.groupby("file"):
        path = tmp_path / name
        part.drop(columns=["file"]).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def parse(add, argv):
    parser = argparse.ArgumentParser()
    add(parser)
    return parser.parse_args(argv)


def test_cv_command_runs_saves_and_reports(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    args = parse(add_cv_arguments, [*paths, "--protocol", "lcoo", "--model", "baseline", "--out", str(tmp_path / "out"),
                                    "--set", "seed=7"])
    assert cv_command(args) == 0
    out = capsys.readouterr().out
    assert "protocol lcoo: 2 folds" in out and "corpus_one" in out
    meta = json.loads((tmp_path / "out" / "result.json").read_text())
    assert meta["config"]["seed"] == 7 and meta["summary"]["model"] == "baseline"

    pytest.importorskip("matplotlib")
    html_path = tmp_path / "report.html"
    assert report_command(parse(add_report_arguments, ["--from", str(tmp_path / "out"), "--out", str(html_path)])) == 0
    assert "<img" in html_path.read_text()


def test_cv_command_reports_bad_input(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    args = parse(add_cv_arguments, [*paths, "--protocol", "attack", "--model", "baseline"])
    assert cv_command(args) == 2
    assert "attack" in capsys.readouterr().err
    args = parse(add_cv_arguments, [*paths, "--set", "features.nope=1", "--model", "baseline"])
    assert cv_command(args) == 2
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
    assert cv_command(parse(add_cv_arguments, [path, "--protocol", protocol, "--model", "baseline"])) == 2
    assert fragment in capsys.readouterr().err


def test_cv_command_attack_protocol(tmp_path, capsys):
    paths = write_corpora(tmp_path)
    df = synthetic_essays()
    attack = df[df["label"] == 1].head(8).assign(text=lambda d: "reworded " + d["text"], source="dipper")
    attack_path = tmp_path / "some_attacks.csv"
    attack.drop(columns=["file"]).to_csv(attack_path, index=False)
    args = parse(add_cv_arguments, [*paths, str(attack_path), "--protocol", "attack", "--model", "style",
                                    "--test-noise", "0.5", "--out", str(tmp_path / "out")])
    assert cv_command(args) == 0
    out = capsys.readouterr().out
    assert "protocol attack: 1 folds" in out and "dipper" in out
    summary = json.loads((tmp_path / "out" / "result.json").read_text())["summary"]
    assert summary["model"] == "style" and summary["test_noise"] == {"rate": 0.5, "char_noise": 0.02}


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "herbold2023_argumentative_essays.csv").exists(), reason="shared data not present")
def test_lcoo_on_shared_corpora_with_baseline(tmp_path):
    files = [str(DATA / f) for f in ("herbold2023_argumentative_essays.csv", "shijaku2023_toefl_chatgpt.csv")]
    args = parse(add_cv_arguments, [*files, "--protocol", "lcoo", "--model", "baseline", "--out", str(tmp_path)])
    assert cv_command(args) == 0
    result = EvalResult.load(tmp_path)
    assert set(result.folds["fold"]) == {"herbold2023_argumentative_essays", "shijaku2023_toefl_chatgpt"}
    assert (result.folds["auc"] > 0.8).all()


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


def hard_suite_files(directory: Path) -> list[str]:
    """Synthetic stand-ins named like ../shared/data's files, with every protocol of the hard suite scoreable."""
    df = synthetic_essays(per_prompt=30)
    df.loc[(df["label"] == 1) & (df["prompt_name"] == "cars"), "source"] = "llm-unknown(ai-mix-v16)"
    parts = {
        "outfox_essays": df[df["prompt_name"].isin(["cars", "venus"])],
        "daigt_persuade_samples": df[df["prompt_name"] == "mars"],
        "outfox_attacks": df[(df["prompt_name"] == "phones") & (df["label"] == 1)],
        "m4_llama2": df[df["prompt_name"] == "school"],
        "liang2023_detector_bias": df[df["prompt_name"] == "sports"],
    }
    paths = []
    for name, part in parts.items():
        path = directory / f"{name}.csv"
        part.drop(columns="file").to_csv(path, index=False)
        paths.append(str(path))
    return paths


def test_hard_suite_tabulates_every_protocol_per_variant_and_resumes(tmp_path, capsys):
    paths = hard_suite_files(tmp_path)
    out = tmp_path / "suite"
    base = [*paths, "--suite", "hard", "--model", "baseline", "--out", str(out)]
    assert cv_command(parse(add_cv_arguments, base + ["--variants", "public recipe", "old defaults"])) == 0
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
    assert cv_command(parse(add_cv_arguments, base + again)) == 0
    assert (out / "old-defaults" / "lcoo" / "result.json").stat().st_mtime_ns == stamp
    assert EvalResult.load(out / "seven" / "lcoo").config["seed"] == 7
    one = ["--variants", "eight", "--variant", "eight=seed=8", "--cells", "attack"]
    assert cv_command(parse(add_cv_arguments, base + one)) == 0
    assert [p.name for p in (out / "eight").iterdir()] == ["attack"]
    capsys.readouterr()
    assert cv_command(parse(add_cv_arguments, base + ["--variants", "public recipe", "--saved-only"])) == 0
    assert "| attack |" in capsys.readouterr().out


def test_length_buckets_split_held_out_rows_by_words():
    from daigt.evaluation import length_bucket, length_table

    assert length_bucket(np.array([0, 99, 100, 250, 400, 9000])).tolist() == [
        "0-99", "0-99", "100-199", "200-399", "400+", "400+"]
    predictions = pd.DataFrame({"fold": ["a"] * 4 + ["b"] * 4, "label": [0, 1] * 4,
                                "score": [0.1, 0.9, 0.8, 0.2, 0.1, 0.9, 0.2, 0.8],
                                "n_words": [50, 60, 500, 450, 50, 60, 500, 450]})
    table = length_table(predictions)
    pooled = table[table["fold"] == "all"].set_index("words")["auc"]
    assert pooled["0-99"] == 1.0 and pooled["400+"] == 0.5
    assert table[(table["fold"] == "a") & (table["words"] == "400+")]["auc"].item() == 0.0
