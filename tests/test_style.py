"""Style features on a hand-checked text, and the style classifier as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from daigt.style import FEATURE_NAMES, StyleClassifier, StyleFeatures

HAND_TEXT = "I like cars. They are fast, loud and fun!\n\nBut i hate trafic jams."
# words: I like cars They are fast loud and fun But i hate trafic jams -> 14 words, 3 sentences (3, 6, 5 words)


def feature(values: np.ndarray, name: str) -> float:
    return float(values[FEATURE_NAMES.index(name)])


def test_known_values_on_a_hand_text():
    vocabulary_texts = ["i like cars they are fast loud and fun but hate traffic jams"] * 2
    features = StyleFeatures(vocab_min_count=2).fit(vocabulary_texts)
    (row,) = features.transform([HAND_TEXT])
    assert row.dtype == np.float32 and row.shape == (len(FEATURE_NAMES),)
    assert feature(row, "oov_rate") == pytest.approx(1 / 14)  # "trafic"
    assert feature(row, "log_words") == pytest.approx(np.log1p(14))
    assert feature(row, "sentence_length_mean") == pytest.approx(14 / 3)
    assert feature(row, "sentence_length_std") == pytest.approx(np.std([3, 6, 5]), rel=1e-5)
    assert feature(row, "log_paragraphs") == pytest.approx(np.log1p(2))
    assert feature(row, "paragraph_length_mean") == pytest.approx(7)
    assert feature(row, "comma_rate") == pytest.approx(1 / 14)
    assert feature(row, "period_rate") == pytest.approx(2 / 14)
    assert feature(row, "question_exclamation_rate") == pytest.approx(1 / 14)
    assert feature(row, "type_token_ratio") == pytest.approx(13 / 14)  # "I" and "i" are one type
    assert feature(row, "lowercase_i_rate") == pytest.approx(1 / 14)
    letters = sum(c.isalpha() for c in HAND_TEXT)
    assert feature(row, "uppercase_ratio") == pytest.approx(3 / letters, rel=1e-5)  # I, T, B
    assert feature(row, "digit_ratio") == 0.0
    word_lengths = [len(w) for w in "I like cars They are fast loud and fun But i hate trafic jams".split()]
    assert feature(row, "word_length_mean") == pytest.approx(np.mean(word_lengths), rel=1e-5)


def test_features_are_finite_for_degenerate_texts():
    features = StyleFeatures().fit(["some text here", "some text"])
    matrix = features.transform(["", "   ", "12345", "!!!", "ÄÖÜ ß", "word"])
    assert matrix.shape == (6, len(FEATURE_NAMES))
    assert np.isfinite(matrix).all()
    assert list(features.get_feature_names_out()) == list(FEATURE_NAMES)
    with pytest.raises(RuntimeError, match="not fitted"):
        StyleFeatures().transform(["x"])


def style_corpus(n: int = 60) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(0)
    human = "i think its rly good , and we shud do it becuase its fun".split()
    machine = "Furthermore, it is essential to consider the significant benefits. Additionally, society gains.".split()
    texts, labels = [], []
    for i in range(n):
        words = human if i % 2 == 0 else machine
        texts.append(" ".join(rng.choice(words, 40)))
        labels.append(i % 2)
    return texts, np.array(labels)


@pytest.mark.parametrize("model", ["logistic", "lightgbm"])
def test_style_classifier_learns_and_clones(model):
    texts, labels = style_corpus()
    classifier = StyleClassifier(model=model, n_estimators=30, seed=1)
    fitted = classifier.fit(texts, labels)
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), 2) and np.allclose(proba.sum(axis=1), 1)
    assert (fitted.predict(texts) == labels).mean() > 0.9
    assert clone(classifier).get_params() == classifier.get_params()
    assert not hasattr(clone(classifier), "pipeline_")


def test_style_classifier_rejects_unknown_model():
    with pytest.raises(ValueError, match="model"):
        StyleClassifier(model="svm").fit(*style_corpus())
