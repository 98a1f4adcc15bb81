"""Kneser-Ney models over token ids and the language-model statistics member."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from daigt.lm import FEATURE_NAMES, KneserNeyLM, LMStatsClassifier, count_ngrams, sentence_end_ids, text_statistics
from daigt.tokenizer import EncodedCorpus


def toy_corpus(seed: int = 0, n: int = 40, vocab: int = 7) -> EncodedCorpus:
    rng = np.random.default_rng(seed)
    return EncodedCorpus.from_sequences(rng.integers(0, vocab, size=rng.integers(1, 25)) for _ in range(n))


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_next_token_probabilities_sum_to_one_for_every_history(order):
    lm = KneserNeyLM(order, vocab_size=9).fit(toy_corpus())  # ids 7 and 8 never occur: still get mass
    for history in ([], [1], [1, 2], [2, 1, 2], [8, 8], [0, 8, 3]):  # seen, unseen and start-of-text histories
        p = lm.next_token_probabilities(history)
        assert p.shape == (9,) and (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_an_order_whose_keys_overflow_is_refused():
    with pytest.raises(ValueError, match="int64"):
        count_ngrams(toy_corpus(), 5, 30523)


def test_token_logprobs_agree_with_the_next_token_distribution():
    corpus = toy_corpus(1)
    lm = KneserNeyLM(3, vocab_size=7).fit(corpus)
    doc = corpus[3]
    logprobs = lm.token_logprobs(EncodedCorpus.from_sequences([doc]))
    for t, token in enumerate(doc):
        assert logprobs[t] == pytest.approx(np.log(lm.next_token_probabilities(doc[:t])[token]))


def test_counts_streamed_in_chunks_equal_one_pass():
    from daigt.lm import _chunks, _merge

    corpus = toy_corpus(2, n=200)
    parts = list(_chunks(corpus, 37))
    assert len(parts) > 5 and parts[0][0] == 0 and parts[-1][1] == len(corpus)
    whole = count_ngrams(corpus, 3, 8)
    chunked = _merge([count_ngrams(EncodedCorpus.from_sequences(corpus[i] for i in range(a, b)), 3, 8) for a, b in parts])
    assert np.array_equal(whole[0], chunked[0]) and np.array_equal(whole[1], chunked[1])


def test_log_likelihood_ratio_points_to_the_model_that_wrote_the_text():
    human = KneserNeyLM(3, 4).fit(EncodedCorpus.from_sequences([[0, 1, 0, 1, 0, 1]] * 5))
    machine = KneserNeyLM(3, 4).fit(EncodedCorpus.from_sequences([[2, 3, 2, 3, 2, 3]] * 5))
    texts = EncodedCorpus.from_sequences([[0, 1, 0, 1], [2, 3, 2, 3]])
    h, m = human.token_logprobs(texts), machine.token_logprobs(texts)
    stats = text_statistics(h, m, (h + m) / 2, (h + m) / 2, texts)
    llr = stats[:, FEATURE_NAMES.index("llr_mean")]
    assert llr[0] < 0 < llr[1]  # machine minus human log-probability: negative for the human-like text


def test_sentence_statistics_use_sentence_end_tokens():
    assert sentence_end_ids({"a": 0, ".": 1, "Ġok!": 2, "Ċ": 3, "b": 4}).tolist() == [1, 2, 3]
    texts = EncodedCorpus.from_sequences([[5, 5, 1, 6, 6, 1]])
    human = np.zeros(6)
    machine = np.array([1.0, 1.0, 1.0, 3.0, 3.0, 3.0])  # llr 1 in sentence one, 3 in sentence two
    stats = text_statistics(human, machine, human, human, texts, sentence_ends=np.array([1]))[0]
    assert stats[FEATURE_NAMES.index("llr_sentence_std")] == pytest.approx(1.0)
    assert stats[FEATURE_NAMES.index("llr_sentence_max")] == pytest.approx(3.0)
    assert stats[FEATURE_NAMES.index("llr_sentence_min")] == pytest.approx(1.0)


def two_styles(seed: int, n: int = 120) -> tuple[EncodedCorpus, np.ndarray, np.ndarray]:
    """Humans repeat bigram a->b, machines b->c, over a shared noisy vocabulary; 6 prompts."""
    rng = np.random.default_rng(seed)
    docs, labels = [], []
    for i in range(n):
        label = i % 2
        doc = rng.integers(3, 40, size=rng.integers(20, 60))
        pattern = [0, 1] if label == 0 else [1, 2]
        for pos in rng.choice(len(doc) - 1, size=len(doc) // 6, replace=False):
            doc[pos : pos + 2] = pattern
        docs.append(doc)
        labels.append(label)
    return EncodedCorpus.from_sequences(docs), np.array(labels), np.arange(n) % 6


def test_member_separates_two_writers_and_is_a_clonable_estimator():
    X, y, groups = two_styles(0)
    X_test, y_test, _ = two_styles(1)
    model = LMStatsClassifier(order=2, n_folds=3, seed=0)
    fitted = clone(model).fit(X, y, groups=groups)
    assert clone(model).get_params() == model.get_params()
    assert fitted.features_.shape == (len(y), len(FEATURE_NAMES))
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y_test, fitted.predict_proba(X_test)[:, 1]) > 0.95
    again = clone(model).fit(X, y, groups=groups)
    assert np.array_equal(again.predict_proba(X_test), fitted.predict_proba(X_test))  # deterministic


def test_training_statistics_are_cross_fitted():
    """A training text's statistics come from models that never saw it: unlike in-sample scoring."""
    X, y, groups = two_styles(0)
    model = LMStatsClassifier(order=3, n_folds=3, seed=0).fit(X, y, groups=groups)
    in_sample = model.transform(X)  # models fitted on every row, the text included
    column = FEATURE_NAMES.index("human_mean")
    human_rows = y == 0
    assert (model.features_[human_rows, column] < in_sample[human_rows, column]).all()


def test_a_rows_own_label_never_reaches_its_statistics_or_its_out_of_fold_score_models():
    X, y, groups = two_styles(0)
    folds = np.arange(len(y)) % 3
    model = LMStatsClassifier(order=2, seed=0).fit(X, y, folds=folds)
    flipped = y.copy()
    flipped[folds == 0] = 1 - flipped[folds == 0]  # relabel the whole held-out fold
    other = LMStatsClassifier(order=2, seed=0).fit(X, flipped, folds=folds)
    assert np.array_equal(model.features_[folds == 0], other.features_[folds == 0])
    scores = model.cross_fitted_scores(y, folds)
    assert scores.shape == (len(y),) and ((0 <= scores) & (scores <= 1)).all()


def test_label_free_statistics_leave_out_everything_a_label_went_into():
    X, y, groups = two_styles(0)
    model = LMStatsClassifier(order=2, n_folds=3, seed=0, statistics="label-free").fit(X, y, groups=groups)
    names = [FEATURE_NAMES[i] for i in model.columns_]
    assert names and all(n.startswith(("pooled", "unigram", "log_tokens")) for n in names)
    assert model.predict_proba(X).shape == (len(y), 2)
    with pytest.raises(ValueError, match="statistics"):
        LMStatsClassifier(order=2, n_folds=3, statistics="some").fit(X, y)
