"""Token n-gram language models trained at run time, and a classifier member over their per-text statistics.

N-gram TF-IDF learns *what* a generator writes; machine essays written to look human (and writing from
outside the essay domain) defeat that, because their n-grams are new. How *likely* a text is under a model of
human writing versus a model of machine writing is a different signal (Ghostbuster's idea, without the API):
interpolated Kneser-Ney models over the kit's own BPE ids, one fitted on the human training essays and one on
the machine essays, plus a unigram model; per text, the distribution of per-token log-probabilities and of
their log-likelihood ratio, and how bursty that ratio is across sentences.

Everything is numpy: n-grams are packed into int64 keys (base ``vocab + 1``, the extra id marks the start of a
document), counted with ``np.unique`` per chunk of documents and looked up with ``searchsorted``, so 45k essays
take seconds, not a pass of Python per token.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from daigt.config import LanguageModelConfig
from daigt.folds import group_folds
from daigt.tokenizer import EncodedCorpus

CHUNK_TOKENS = 4_000_000
"""Tokens counted or scored per step: bounds the working memory of one step (~10 int64 arrays this long)."""

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


# ---- n-gram counting -----------------------------------------------------------------------------------
def _chunks(corpus: EncodedCorpus, max_tokens: int = CHUNK_TOKENS) -> Iterator[tuple[int, int]]:
    """Document ranges ``[a, b)`` holding at most ``max_tokens`` tokens (or one longer document)."""
    offsets, n, a = corpus.offsets, len(corpus), 0
    while a < n:
        b = int(np.searchsorted(offsets, offsets[a] + max_tokens, side="right")) - 1
        b = min(max(b, a + 1), n)
        yield a, b
        a = b


def _ngram_keys(ids: np.ndarray, offsets: np.ndarray, order: int, base: int) -> np.ndarray:
    """One key per token: the ``order``-gram ending at it, history padded with the start id ``base - 1``."""
    ids = ids.astype(np.int64, copy=False)
    position = np.arange(len(ids), dtype=np.int64) - np.repeat(offsets[:-1], np.diff(offsets))
    keys = ids.copy()
    for back in range(1, order):
        previous = np.full(len(ids), base - 1, dtype=np.int64)
        previous[back:] = ids[:-back]
        previous[position < back] = base - 1
        keys += previous * base**back
    return keys


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


def count_ngrams(corpus: EncodedCorpus, order: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ``order``-gram keys of a corpus and their counts, streamed chunk by chunk."""
    if base**order >= 2**63:
        raise ValueError(f"order {order} over {base - 1} token ids does not fit int64 keys; use a lower order "
                         "(up to 4 for a 30k vocabulary)")
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    for a, b in _chunks(corpus):
        offsets = corpus.offsets[a : b + 1] - corpus.offsets[a]
        ids = corpus.ids[corpus.offsets[a] : corpus.offsets[b]]
        parts.append(np.unique(_ngram_keys(ids, offsets, order, base), return_counts=True))
        if len(parts) >= 8:
            parts = [_merge(parts)]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return _merge(parts) if len(parts) > 1 else (parts[0][0].astype(np.int64), parts[0][1].astype(np.int64))


def _lookup(keys: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, index into ``keys``) for each query key; ``keys`` sorted."""
    index = np.searchsorted(keys, query)
    index = np.minimum(index, max(len(keys) - 1, 0))
    found = (keys[index] == query) if len(keys) else np.zeros(len(query), bool)
    return found, index


def _discount(counts: np.ndarray) -> float:
    """Ney's absolute discount n1 / (n1 + 2 n2), kept inside (0, 1) so every seen n-gram keeps some mass."""
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    return float(np.clip(n1 / (n1 + 2 * n2), 0.05, 0.95)) if n1 + n2 else 0.5


class KneserNeyLM(BaseEstimator):
    """Interpolated Kneser-Ney language model of any order over integer token ids.

    The highest order uses raw counts, each lower order continuation counts (in how many distinct contexts a
    token follows), and the unigram level is interpolated with a uniform distribution over ``vocab_size``
    tokens, so every token of the vocabulary has probability > 0 and the next-token distribution after any
    history sums to one. ``vocab_size=0`` takes the largest id seen in ``fit`` + 1.
    """

    def __init__(self, order: int = 3, vocab_size: int = 0):
        self.order = order
        self.vocab_size = vocab_size

    def fit(self, corpus: EncodedCorpus, y: object = None) -> KneserNeyLM:
        vocab = self.vocab_size or (int(corpus.ids.max()) + 1 if len(corpus.ids) else 1)
        return self.fit_counts(*count_ngrams(corpus, self.order, vocab + 1), vocab_size=vocab)

    def fit_counts(self, keys: np.ndarray, counts: np.ndarray, vocab_size: int) -> KneserNeyLM:
        """Fit from ``count_ngrams`` output (counts may be sums or differences of several corpora's)."""
        if self.order < 1:
            raise ValueError(f"KneserNeyLM: order={self.order}; use 1 or more")
        keep = counts > 0
        keys, counts = keys[keep], counts[keep]
        self.vocab_size_ = int(vocab_size)
        self.base_ = self.vocab_size_ + 1
        levels = []
        for k in range(self.order, 0, -1):
            levels.append(self._level(keys, counts, k))
            if k > 1:  # continuation counts: distinct left extensions of each (k-1)-gram
                keys, counts = np.unique(keys % self.base_ ** (k - 1), return_counts=True)
        self.levels_ = levels[::-1]  # levels_[k - 1] is the k-gram level
        return self

    def _level(self, keys: np.ndarray, counts: np.ndarray, k: int) -> dict[str, np.ndarray | float]:
        context = keys // self.base_ if k > 1 else np.zeros(len(keys), np.int64)
        ctx, start, types = np.unique(context, return_index=True, return_counts=True)
        totals = np.add.reduceat(counts, start) if len(counts) else np.zeros(0, np.int64)
        return {"keys": keys, "counts": counts, "ctx": ctx, "ctx_total": totals, "ctx_types": types,
                "discount": _discount(counts)}

    def _probabilities(self, keys: np.ndarray) -> np.ndarray:
        """P(token | history) for packed ``order``-gram keys."""
        # distinct, sorted queries: far fewer than tokens, and sorted lookups stay in cache
        unique, inverse = np.unique(keys, return_inverse=True)
        return self._unique_probabilities(unique)[inverse]

    def _unique_probabilities(self, keys: np.ndarray) -> np.ndarray:
        base, p = self.base_, np.full(len(keys), 1.0 / self.vocab_size_)
        for k, level in enumerate(self.levels_, start=1):
            if k < self.order:  # the k-gram suffixes of sorted keys are not sorted: look up their distinct values
                gram, inverse = np.unique(keys % base**k, return_inverse=True)
            else:
                gram, inverse = keys, slice(None)
            found_ctx, ci = _lookup(level["ctx"], gram // base if k > 1 else np.zeros(len(gram), np.int64))
            found, gi = _lookup(level["keys"], gram)
            count = np.where(found, level["counts"][gi], 0).astype(np.float64)
            total = level["ctx_total"][ci].astype(np.float64)
            d = level["discount"]
            with np.errstate(divide="ignore", invalid="ignore"):
                weight = np.where(found_ctx, d * level["ctx_types"][ci] / total, 1.0)
                own = np.where(found_ctx, np.maximum(count - d, 0.0) / total, 0.0)
            p = own[inverse] + weight[inverse] * p
        return p

    def token_logprobs(self, corpus: EncodedCorpus) -> np.ndarray:
        """Natural-log P of every token given its history, aligned with ``corpus.ids``."""
        if not hasattr(self, "levels_"):
            raise RuntimeError("KneserNeyLM is not fitted; call fit(corpus) first")
        out = np.empty(len(corpus.ids), np.float64)
        for a, b in _chunks(corpus):
            lo, hi = corpus.offsets[a], corpus.offsets[b]
            ids = np.minimum(corpus.ids[lo:hi].astype(np.int64), self.vocab_size_ - 1)  # larger ids share the last
            keys = _ngram_keys(ids, corpus.offsets[a : b + 1] - lo, self.order, self.base_)
            out[lo:hi] = np.log(self._probabilities(keys))
        return out

    def next_token_probabilities(self, history: Sequence[int]) -> np.ndarray:
        """The whole next-token distribution after ``history`` (short histories are padded with the start id)."""
        hist = [self.base_ - 1] * (self.order - 1) + [int(t) for t in history]
        hist = hist[len(hist) - (self.order - 1):] if self.order > 1 else []
        prefix = sum(t * self.base_ ** (self.order - 1 - j) for j, t in enumerate(hist))
        return self._probabilities(prefix + np.arange(self.vocab_size_, dtype=np.int64))


# ---- per-text statistics ---------------------------------------------------------------------------------
FEATURE_NAMES = (
    ["log_tokens"]
    + [f"{m}_{s}" for m in ("human", "machine", "pooled") for s in ("mean", "std", "q10", "q50", "q90", "min")]
    + ["unigram_mean", "human_minus_unigram", "machine_minus_unigram", "pooled_minus_unigram"]
    + ["llr_mean", "llr_std", *[f"llr_q{int(q * 100)}" for q in QUANTILES], "llr_positive_share"]
    + ["llr_sentence_std", "llr_sentence_max", "llr_sentence_min", "human_sentence_std"]
)


def _segment_ids(corpus: EncodedCorpus, sentence_ends: np.ndarray | None, window: int = 32) -> np.ndarray:
    """A global segment number per token: sentences (a new one after each ``sentence_ends`` id) within each
    document, or fixed windows of ``window`` tokens when no sentence-end ids are known."""
    if len(corpus.ids) == 0:
        return np.zeros(0, np.int64)
    doc = np.repeat(np.arange(len(corpus)), corpus.lengths)
    position = np.arange(len(corpus.ids)) - corpus.offsets[doc]
    if sentence_ends is None or len(sentence_ends) == 0:
        local = position // window
    else:
        ends = np.isin(corpus.ids, sentence_ends).astype(np.int64)
        after = np.concatenate([[0], np.cumsum(ends)[:-1]])  # a sentence ends *after* its end token
        local = after - after[corpus.offsets[doc]]
    # pack (doc, local) into one increasing number
    return np.cumsum(np.concatenate([[0], (np.diff(doc) != 0) | (np.diff(local) != 0)]))


def _group_stats(values: np.ndarray, groups: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, std, count) of ``values`` per integer group 0..n-1 (empty groups: 0)."""
    count = np.bincount(groups, minlength=n).astype(np.float64)
    total = np.bincount(groups, weights=values, minlength=n)
    square = np.bincount(groups, weights=values * values, minlength=n)
    safe = np.maximum(count, 1)
    mean = total / safe
    return mean, np.sqrt(np.maximum(square / safe - mean**2, 0)), count


def _group_quantiles(values: np.ndarray, groups: np.ndarray, offsets: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Per-document quantiles (nearest rank) of ``values``; ``groups`` non-decreasing with document offsets.

    One float sort instead of a lexsort: each document's values are shifted into their own band (log-probabilities
    and their differences are clipped to +-200, far beyond any smoothed model's range)."""
    band = 1000.0
    ordered = np.sort(groups * band + np.clip(values, -200.0, 200.0)) - np.sort(groups) * band
    lengths = np.diff(offsets)
    out = np.zeros((len(lengths), len(qs)))
    has = lengths > 0
    for j, q in enumerate(qs):
        pick = offsets[:-1] + np.floor(q * np.maximum(lengths - 1, 0)).astype(np.int64)
        out[has, j] = ordered[pick[has]]
    return out


def text_statistics(human: np.ndarray, machine: np.ndarray, pooled: np.ndarray, unigram: np.ndarray,
                    corpus: EncodedCorpus, sentence_ends: np.ndarray | None = None) -> np.ndarray:
    """The ``FEATURE_NAMES`` matrix (one row per document) from per-token log-probabilities under the human,
    machine, pooled (both labels: label-free predictability) and unigram models."""
    n, offsets = len(corpus), corpus.offsets
    doc = np.repeat(np.arange(n), corpus.lengths)
    columns = [np.log1p(corpus.lengths.astype(np.float64))]
    for values in (human, machine, pooled):
        mean, std, _ = _group_stats(values, doc, n)
        q = _group_quantiles(values, doc, offsets, (0.1, 0.5, 0.9, 0.0))
        columns += [mean, std, q[:, 0], q[:, 1], q[:, 2], q[:, 3]]
    uni = _group_stats(unigram, doc, n)[0]
    columns += [uni] + [_group_stats(v, doc, n)[0] - uni for v in (human, machine, pooled)]
    llr = machine - human
    mean, std, _ = _group_stats(llr, doc, n)
    columns += [mean, std, *_group_quantiles(llr, doc, offsets, QUANTILES).T,
                _group_stats((llr > 0).astype(np.float64), doc, n)[0]]
    segment = _segment_ids(corpus, sentence_ends)
    n_seg = int(segment[-1]) + 1 if len(segment) else 0
    seg_llr = _group_stats(llr, segment, n_seg)[0]
    seg_human = _group_stats(human, segment, n_seg)[0]
    seg_doc = doc[np.searchsorted(segment, np.arange(n_seg))] if n_seg else np.zeros(0, np.int64)
    columns += [_group_stats(seg_llr, seg_doc, n)[1], _group_max(seg_llr, seg_doc, n),
                -_group_max(-seg_llr, seg_doc, n), _group_stats(seg_human, seg_doc, n)[1]]
    return np.column_stack(columns).astype(np.float64)


def _group_max(values: np.ndarray, groups: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, groups, values)
    return np.where(np.isfinite(out), out, 0.0)


# ---- the classifier member ------------------------------------------------------------------------------
def _subset(corpus: EncodedCorpus, rows: np.ndarray) -> EncodedCorpus:
    return EncodedCorpus.from_sequences(corpus[int(i)] for i in rows)


class LMStatsClassifier(ClassifierMixin, BaseEstimator):
    """Kneser-Ney statistics of encoded texts -> standardisation -> histogram gradient boosting (or logistic).

    Input ``X`` is an :class:`~daigt.tokenizer.EncodedCorpus`. The training rows' statistics are *cross-fitted*:
    the language models that score a training text never saw it (nor, when ``groups`` are given, its prompt),
    because a model scoring its own training text is far more confident than on a new one, and a classifier fitted
    on such in-sample statistics would learn the wrong scale. Test texts are scored by models fitted on all rows.
    """

    def __init__(self, order: int = LanguageModelConfig.order, n_folds: int = LanguageModelConfig.n_folds,
                 model: str = LanguageModelConfig.model, C: float = 1.0, seed: int = 0,
                 statistics: str = LanguageModelConfig.statistics):
        self.order = order
        self.n_folds = n_folds
        self.model = model
        self.C = C
        self.seed = seed
        self.statistics = statistics

    @classmethod
    def from_config(cls, config: LanguageModelConfig, seed: int) -> LMStatsClassifier:
        """The language-model member as ``ensemble.lm`` configures it (unfitted)."""
        return cls(order=config.order, n_folds=config.n_folds, model=config.model, seed=seed,
                   statistics=config.statistics)

    def _final_estimator(self) -> BaseEstimator:
        if self.model == "logistic":
            from sklearn.linear_model import LogisticRegression

            return LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        if self.model == "hgb":
            from sklearn.ensemble import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                                  l2_regularization=1.0, random_state=self.seed)
        raise ValueError(f"LMStatsClassifier: model={self.model!r}; use 'logistic' or 'hgb'")

    def fit(self, X: EncodedCorpus, y, groups: Sequence | None = None, sentence_ends: np.ndarray | None = None,
            folds: np.ndarray | None = None) -> LMStatsClassifier:
        """``groups`` (prompts) make the cross-fitting folds prompt-disjoint; ``folds`` (a fold number per row)
        sets them outright, e.g. to the folds of a stacked blend."""
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y = np.asarray(y)
        if not np.array_equal(np.unique(y), [0, 1]):
            raise ValueError("LMStatsClassifier needs training labels 0 (human) and 1 (machine)")
        # one id above every training id stands for "never seen in training" (test-fitted BPE has such ids)
        self.vocab_size_ = (int(X.ids.max()) + 2) if len(X.ids) else 2
        self.sentence_ends_ = None if sentence_ends is None else np.asarray(sentence_ends, np.int64)
        if folds is None:
            folds = group_folds(len(y), groups, self.n_folds, self.seed)
        self.features_, totals = self._cross_fitted_features(X, y, np.asarray(folds))
        self.columns_ = self._columns()
        self.pipeline_ = make_pipeline(StandardScaler(), self._final_estimator()).fit(self.features_[:, self.columns_], y)
        self.models_ = self._models(totals)
        self.classes_ = self.pipeline_.classes_
        return self

    def _models(self, counts) -> list[KneserNeyLM]:
        """(human, machine, pooled, unigram) models from (human, machine, all-rows unigram) n-gram counts."""
        counts = [counts[0], counts[1], _merge([counts[0], counts[1]]), counts[2]]
        return [KneserNeyLM(order, self.vocab_size_).fit_counts(*c, self.vocab_size_)
                for c, order in zip(counts, (self.order, self.order, self.order, 1))]

    def _cross_fitted_features(self, X: EncodedCorpus, y: np.ndarray, folds: np.ndarray) -> tuple[np.ndarray, list]:
        """Statistics of each training text under models fitted on the other folds, and the all-row counts.

        Counts are taken once per fold and per label; a fold's models are built from the totals minus that fold's
        counts, so K folds cost one counting pass over the corpus, not K - 1."""
        base = self.vocab_size_ + 1
        per_fold = []
        for k in range(int(folds.max()) + 1):
            in_k = folds == k
            per_fold.append([count_ngrams(_subset(X, np.flatnonzero(in_k & (y == c))), self.order, base) for c in (0, 1)]
                            + [count_ngrams(_subset(X, np.flatnonzero(in_k)), 1, base)])
        totals = [_merge([fold[j] for fold in per_fold]) for j in range(3)]
        features = np.zeros((len(y), len(FEATURE_NAMES)))
        for k in range(len(per_fold)):
            rows = np.flatnonzero(folds == k)
            if len(rows):
                models = self._models([_subtract(totals[j], per_fold[k][j]) for j in range(3)])
                features[rows] = self._statistics(models, _subset(X, rows))
        return features, totals

    def _columns(self) -> np.ndarray:
        """The statistics the classifier reads: all, or only those no label went into (``label-free``)."""
        if self.statistics == "all":
            return np.arange(len(FEATURE_NAMES))
        if self.statistics == "label-free":
            return np.array([i for i, n in enumerate(FEATURE_NAMES) if n.startswith(("pooled", "unigram", "log_tokens"))])
        raise ValueError(f"LMStatsClassifier: statistics={self.statistics!r}; use 'all' or 'label-free'")

    def cross_fitted_scores(self, y, folds: np.ndarray) -> np.ndarray:
        """Out-of-fold P(machine) of the training rows, for a stacked blend fitted with ``fit(..., folds=folds)``.

        Row i's statistics come from language models that never saw fold(i), and the classifier scoring it is
        fitted on the other folds' rows only. (Those rows' statistics came from models that did include fold(i):
        a second-order path that costs one language-model fit instead of one per fold.)"""
        from sklearn.base import clone

        y, folds, scores = np.asarray(y), np.asarray(folds), np.zeros(len(y))
        for k in np.unique(folds):
            held = folds == k
            features = self.features_[:, self.columns_]
            model = clone(self.pipeline_).fit(features[~held], y[~held])
            scores[held] = model.predict_proba(features[held])[:, 1]
        return scores

    def _statistics(self, models, corpus: EncodedCorpus) -> np.ndarray:
        return text_statistics(*(m.token_logprobs(corpus) for m in models), corpus, self.sentence_ends_)

    def transform(self, X: EncodedCorpus) -> np.ndarray:
        """The per-text statistics (``FEATURE_NAMES``) under the models fitted on every training row."""
        if not hasattr(self, "models_"):
            raise RuntimeError("LMStatsClassifier is not fitted; call fit(corpus, labels) first")
        return self._statistics(self.models_, X)

    def predict_proba(self, X: EncodedCorpus) -> np.ndarray:
        return self.pipeline_.predict_proba(self.transform(X)[:, self.columns_])

    def predict(self, X: EncodedCorpus) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _subtract(total: tuple[np.ndarray, np.ndarray], part: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    keys, counts = total
    counts = counts.copy()
    if len(part[0]):
        counts[np.searchsorted(keys, part[0])] -= part[1]
    return keys, counts


def sentence_end_ids(vocabulary: dict[str, int]) -> np.ndarray:
    """Ids of byte-level BPE tokens that end a sentence or line (``.``, ``!``, ``?``, newline ``Ċ``)."""
    return np.array(sorted(i for token, i in vocabulary.items() if any(c in token for c in ".!?\u010a")), np.int64)
