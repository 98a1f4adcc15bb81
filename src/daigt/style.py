"""Surface statistics of an essay, and a small classifier over them as an extra ensemble member.

N-gram models learn *what* is written, which changes with every prompt; these features describe *how*:
typo rate, punctuation habits, sentence and paragraph rhythm, vocabulary richness. They are nearly
topic-free, so they degrade less on unseen prompts and corpora, and they make different mistakes from the
TF-IDF members, which is what an ensemble member is for.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from daigt.config import StyleConfig

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")

FEATURE_NAMES = (
    "oov_rate",
    "log_words",
    "word_length_mean",
    "long_word_rate",
    "type_token_ratio",
    "sentence_length_mean",
    "sentence_length_std",
    "log_paragraphs",
    "paragraph_length_mean",
    "comma_rate",
    "period_rate",
    "question_exclamation_rate",
    "quote_apostrophe_rate",
    "colon_semicolon_dash_rate",
    "parenthesis_rate",
    "uppercase_ratio",
    "digit_ratio",
    "non_ascii_ratio",
    "lowercase_sentence_start_rate",
    "lowercase_i_rate",
    "double_space_rate",
)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def style_vector(text: str, vocabulary: frozenset[str]) -> list[float]:
    """The ``FEATURE_NAMES`` values of one text; rates are per word or per character, so length-free."""
    words = _WORD.findall(text)
    n_words = len(words)
    lower = [w.lower() for w in words]
    n_chars = len(text)
    letters = sum(c.isalpha() for c in text)
    sentences = [s for s in _SENTENCE_END.split(text) if _WORD.search(s)]
    sentence_lengths = np.array([len(_WORD.findall(s)) for s in sentences] or [0], dtype=np.float64)
    paragraphs = [p for p in _PARAGRAPH.split(text) if p.strip()]
    starts = [s.lstrip()[:1] for s in sentences]
    return [
        _ratio(sum(w not in vocabulary for w in lower), n_words),
        float(np.log1p(n_words)),
        _ratio(sum(len(w) for w in words), n_words),
        _ratio(sum(len(w) >= 9 for w in words), n_words),
        _ratio(len(set(lower)), n_words),
        float(sentence_lengths.mean()),
        float(sentence_lengths.std()),
        float(np.log1p(len(paragraphs))),
        _ratio(n_words, len(paragraphs)),
        _ratio(text.count(","), n_words),
        _ratio(text.count("."), n_words),
        _ratio(text.count("?") + text.count("!"), n_words),
        _ratio(sum(text.count(c) for c in "'\"\u2018\u2019\u201c\u201d"), n_words),
        _ratio(sum(text.count(c) for c in ":;-\u2013\u2014"), n_words),
        _ratio(text.count("(") + text.count(")"), n_words),
        _ratio(sum(c.isupper() for c in text), letters),
        _ratio(sum(c.isdigit() for c in text), n_chars),
        _ratio(sum(ord(c) > 127 for c in text), n_chars),
        _ratio(sum(s.islower() for s in starts), len(starts)),
        _ratio(words.count("i"), n_words),
        _ratio(text.count("  "), n_words),
    ]


class StyleFeatures(TransformerMixin, BaseEstimator):
    """Texts -> dense ``float32`` matrix of ``FEATURE_NAMES``.

    ``fit`` learns the vocabulary behind ``oov_rate`` (lower-cased words seen ``vocab_min_count`` times),
    a typo-rate proxy that needs no dictionary file.
    """

    def __init__(self, vocab_min_count: int = 2) -> None:
        self.vocab_min_count = vocab_min_count

    def fit(self, X: Iterable[str], y: object = None) -> StyleFeatures:
        counts: Counter[str] = Counter()
        for text in X:
            counts.update(w.lower() for w in _WORD.findall(str(text)))
        self.vocabulary_ = frozenset(w for w, c in counts.items() if c >= self.vocab_min_count)
        self.n_features_out_ = len(FEATURE_NAMES)
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        if not hasattr(self, "vocabulary_"):
            raise RuntimeError("StyleFeatures is not fitted; call fit(texts) first")
        rows = [style_vector(str(text), self.vocabulary_) for text in X]
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURE_NAMES))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)


class StyleClassifier(ClassifierMixin, BaseEstimator):
    """``StyleFeatures`` -> standardisation -> logistic regression (or a small LightGBM), over raw texts."""

    def __init__(
        self,
        model: str = StyleConfig.model,
        C: float = 1.0,
        n_estimators: int = 200,
        vocab_min_count: int = 2,
        seed: int = 0,
    ) -> None:
        self.model = model
        self.C = C
        self.n_estimators = n_estimators
        self.vocab_min_count = vocab_min_count
        self.seed = seed

    @classmethod
    def from_config(cls, config: StyleConfig, seed: int) -> StyleClassifier:
        """The style member as ``ensemble.style`` configures it (unfitted)."""
        return cls(model=config.model, seed=seed)

    def _final_estimator(self) -> BaseEstimator:
        if self.model == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        if self.model == "lightgbm":
            from lightgbm import LGBMClassifier

            return LGBMClassifier(
                n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=15, min_child_samples=20,
                subsample=0.8, subsample_freq=1, colsample_bytree=0.8, random_state=self.seed, n_jobs=1, verbose=-1,
            )
        raise ValueError(f"StyleClassifier: model={self.model!r}; use 'logistic' or 'lightgbm'")

    def fit(self, X: Sequence[str], y: Sequence[int] | np.ndarray) -> StyleClassifier:
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(y)
        self.pipeline_ = make_pipeline(
            StyleFeatures(vocab_min_count=self.vocab_min_count), StandardScaler(), self._final_estimator()
        )
        self.pipeline_.fit(list(X), y)
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        if not hasattr(self, "pipeline_"):
            raise RuntimeError("StyleClassifier is not fitted; call fit(texts, labels) first")
        return self.pipeline_.predict_proba(list(X))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
