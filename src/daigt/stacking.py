"""A learned blend: a few-parameter meta-learner over out-of-fold member scores.

Fixed member weights were chosen on a handful of protocols, and no single fixed blend wins everywhere: the
style member helps unseen corpora and hurts Llama-2 reddit answers; LightGBM helps student-voice machine
essays and hurts flan-t5. A meta-learner fitted on how each member scored *held-out prompts* of the training
data can weigh members per run, and (with the length interaction) per text length. Its inputs must be honest:
every training row's member scores come from members fitted on folds that exclude the row's prompt, so the
meta-learner sees the scores a member gives to unseen topics, as it will at test time. Folds that hold out whole
training files instead (:class:`StackRows`, ``ensemble.stack.folds = "corpus"``) show it unseen corpora, and a
similarity column lets its weights differ between familiar and unfamiliar texts; both are measured options.

Members are anything with ``fit(X, y)`` / ``predict_proba(X)``; their input can be a sparse TF-IDF matrix, a
list of texts or an :class:`~daigt.tokenizer.EncodedCorpus` (a causal-LM member reading texts joins the same way).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

from daigt.blend import rank_scores
from daigt.config import StackConfig
from daigt.tokenizer import EncodedCorpus

log = logging.getLogger("daigt")

ROW_PARAMS = ("groups",)
"""Fit parameters that hold one value per training row: subset together with the rows."""


def take(X: Any, rows: np.ndarray) -> Any:
    """Rows of a member's input: sparse/dense matrix, encoded corpus or list of texts."""
    if isinstance(X, EncodedCorpus):
        return EncodedCorpus.from_sequences(X[int(i)] for i in rows)
    if isinstance(X, list):
        return [X[int(i)] for i in rows]
    return X[rows]


@dataclass
class Member:
    """One column of the blend: an estimator, its training and test inputs, and its fixed weight."""

    name: str
    estimator: BaseEstimator
    train: Any
    test: Any
    weight: float = 0.0
    fit_params: dict[str, Any] = field(default_factory=dict)
    fitted: BaseEstimator | None = field(default=None, init=False, repr=False)
    """Set by ``out_of_fold_scores`` for members that fit once on all rows (``cross_fitted_scores``)."""

    def fit(self, y: np.ndarray, rows: np.ndarray | None = None) -> BaseEstimator:
        """A fresh clone fitted on ``rows`` of the training input (all rows when ``None``)."""
        if rows is None:
            return clone(self.estimator).fit(self.train, y, **self.fit_params)
        params = {k: (take(np.asarray(v), rows) if k in ROW_PARAMS and v is not None else v)
                  for k, v in self.fit_params.items()}
        return clone(self.estimator).fit(take(self.train, rows), y[rows], **params)

    def test_scores(self, y: np.ndarray) -> np.ndarray:
        model = self.fitted if self.fitted is not None else self.fit(y)
        return model.predict_proba(self.test)[:, 1]

    def out_of_fold_scores(self, y: np.ndarray, folds: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Score of every training row in ``rows`` (all rows when ``None``) from a clone fitted on the rows of the
        other folds only (all of them, not only those in ``rows``).

        A member that cross-fits internally (``cross_fitted_scores``, the language-model member) is fitted once
        on all rows with these folds instead, and that fit also scores the test rows."""
        rows = np.arange(len(y)) if rows is None else np.asarray(rows)
        if hasattr(self.estimator, "cross_fitted_scores"):
            params = {k: v for k, v in self.fit_params.items() if k not in ROW_PARAMS}
            self.fitted = clone(self.estimator).fit(self.train, y, folds=folds, **params)
            return self.fitted.cross_fitted_scores(y, folds)[rows]
        scores = np.zeros(len(rows))
        for k in np.unique(folds[rows]):
            held, rest = folds[rows] == k, np.flatnonzero(folds != k)
            if len(np.unique(y[rest])) < 2:
                raise ValueError(f"stacking fold {k}: its training rows hold one label; use fewer folds")
            scores[held] = self.fit(y, rest).predict_proba(take(self.train, rows[held]))[:, 1]
        return scores


class StackedBlend(ClassifierMixin, BaseEstimator):
    """Logistic regression over each member's normalised rank, optionally times length and times similarity.

    Ranks are taken within the scored set (the test set; for training rows, all out-of-fold scores or, with
    ``blocks``, each held-out fold's), the normalisation rank averaging uses, so the meta-learner does not depend
    on members' probability scales, which differ between a member fitted on part of the training rows and one
    fitted on all. ``m`` members give ``m + 1`` weights, plus ``m + 1`` for the length interaction and ``m + 1``
    when a ``similarity`` (how close each text is to the training texts) is given: the weights can then differ
    between texts the n-gram members know the like of and texts from elsewhere.
    """

    def __init__(self, length_interaction: bool = StackConfig.length_interaction, C: float = StackConfig.C,
                 seed: int = 0):
        self.length_interaction = length_interaction
        self.C = C
        self.seed = seed

    @classmethod
    def from_config(cls, config: StackConfig, seed: int) -> StackedBlend:
        """The meta-learner as ``ensemble.stack`` configures it (unfitted)."""
        return cls(length_interaction=config.length_interaction, C=config.C, seed=seed)

    def _design(self, scores: np.ndarray, lengths: np.ndarray, similarity: np.ndarray | None,
                blocks: np.ndarray | None) -> np.ndarray:
        scores = np.asarray(scores, float)
        blocks = np.zeros(len(scores), dtype=int) if blocks is None else np.asarray(blocks)
        ranks = np.zeros_like(scores)
        for b in np.unique(blocks):
            ranks[blocks == b] = np.column_stack([rank_scores(c) - 0.5 for c in scores[blocks == b].T])
        columns = [ranks]
        if self.length_interaction:
            z = (np.log1p(np.asarray(lengths, float)) - self.length_mean_) / self.length_scale_
            columns += [ranks * z[:, None], z[:, None]]
        if self.similarity_mean_ is not None:
            if similarity is None:
                raise ValueError("StackedBlend was fitted with a similarity column: predict_proba needs one too")
            s = (np.asarray(similarity, float) - self.similarity_mean_) / self.similarity_scale_
            columns += [ranks * s[:, None], s[:, None]]
        return np.hstack(columns)

    def fit(self, scores: np.ndarray, y, lengths: np.ndarray, similarity: np.ndarray | None = None,
            blocks: np.ndarray | None = None) -> StackedBlend:
        """``blocks`` (e.g. the fold of each row) ranks each block's scores on their own, as the test set's are."""
        from sklearn.linear_model import LogisticRegression

        log_len = np.log1p(np.asarray(lengths, float))
        self.length_mean_, self.length_scale_ = float(log_len.mean()), float(log_len.std() or 1.0)
        self.similarity_mean_ = self.similarity_scale_ = None
        if similarity is not None:
            similarity = np.asarray(similarity, float)
            self.similarity_mean_, self.similarity_scale_ = float(similarity.mean()), float(similarity.std() or 1.0)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000, random_state=self.seed)
        self.model_.fit(self._design(scores, lengths, similarity, blocks), np.asarray(y))
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, scores: np.ndarray, lengths: np.ndarray,
                      similarity: np.ndarray | None = None) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(self._design(scores, lengths, similarity, None))


@dataclass(frozen=True)
class StackRows:
    """Which training rows the meta-learner learns from, and how they were held out.

    ``folds`` (one fold per training row) gives each member's out-of-fold scores; ``rows`` are the rows the
    meta-learner is fitted on (all when ``None``: a causal LM cannot score 45k essays on a CPU, so the blend
    can learn from a sample); ``similarity`` is each of those rows' closeness to the other folds' rows, with the
    test rows' closeness to all training rows; ``rank_within_folds`` ranks each held-out fold's scores on their
    own, as a test set's are ranked on their own."""

    folds: np.ndarray
    rows: np.ndarray | None = None
    similarity: tuple[np.ndarray, np.ndarray] | None = None
    rank_within_folds: bool = False


def stacked_scores(members: Sequence[Member], y: np.ndarray, split: StackRows, train_lengths: np.ndarray,
                   test_lengths: np.ndarray, *, meta: StackedBlend | None = None,
                   test_scores: dict[str, np.ndarray] | None = None, seed: int = 0) -> np.ndarray:
    """Test P(machine) from a meta-learner fitted on the members' out-of-fold scores over ``split``'s folds
    (:func:`daigt.pipeline.stack_rows` builds them from the config).

    ``test_scores`` gives a member's test scores when they come from elsewhere (the TF-IDF ensemble's, after its
    pseudo-label refit); every other member is fitted on all training rows to score the test rows. ``meta`` is
    the (unfitted) meta-learner, ``StackedBlend(seed=seed)`` when not given."""
    rows = np.arange(len(y)) if split.rows is None else np.asarray(split.rows)
    oof = np.column_stack([m.out_of_fold_scores(y, split.folds, rows) for m in members])
    given = test_scores or {}
    tests = [given[m.name] if m.name in given else m.test_scores(y) for m in members]
    train_sim, test_sim = split.similarity if split.similarity is not None else (None, None)
    blocks = split.folds[rows] if split.rank_within_folds else None
    blend = clone(meta if meta is not None else StackedBlend(seed=seed)).fit(
        oof, y[rows], np.asarray(train_lengths)[rows], train_sim, blocks)
    log.info("stacked blend over %s on %d rows: coefficients %s", [m.name for m in members], len(rows),
             np.round(blend.model_.coef_.ravel(), 3).tolist())
    return blend.predict_proba(np.column_stack(tests), test_lengths, test_sim)[:, 1]
