"""Ensemble members over TF-IDF features and the weighted ensemble that combines them.

The public recipe soft-votes MultinomialNB, SGD (modified Huber) and gradient-boosted trees. Members here are
ordinary scikit-learn estimators, so anything that fits ``fit(X, y)`` / ``predict_proba(X)`` can join, and
the ensemble itself is one too: clone-able, grid-searchable, usable inside a Pipeline.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_selection import chi2
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from daigt.config import ConfigError, EnsembleConfig, LightGBMConfig
from daigt.features import column_document_frequency
from daigt.parallel import available_cores

AVERAGING = ("probability", "rank")


SELECTION_SCORES = ("df", "chi2")


class ColumnSelector(BaseEstimator, TransformerMixin):
    """Keep the columns a tree model can use: those in ``min_df`` or more training documents, then the
    ``max_features`` best of them by ``score`` (``df``: document frequency, label-free; ``chi2``: scikit-learn's
    chi-squared statistic against the training labels).

    LightGBM never splits on a column present in fewer than ``min_child_samples`` documents, yet it bins and
    scans every column, and its time per boosting round grows with the non-zeros of the columns it keeps: on
    millions of test-vocabulary n-grams nearly all of that work is wasted. Dropping columns below
    ``min_df = min_child_samples`` changes no tree; ``max_features`` changes the model to save time (at Kaggle
    scale the 2,000 chi2-best columns also scored higher on unseen prompts: bench/README.md).
    Both scores look at training rows only, so held-out labels never reach the choice.
    """

    def __init__(self, max_features: int = 0, min_df: int = 1, score: str = "df"):
        self.max_features = max_features
        self.min_df = min_df
        self.score = score

    def fit(self, X, y=None):
        if self.score not in SELECTION_SCORES:
            raise ConfigError(f"column selection score {self.score!r}: use one of {SELECTION_SCORES}")
        X = sp.csr_matrix(X)
        n = X.shape[1]
        df = column_document_frequency(X.indices, n)
        columns = np.flatnonzero(df >= self.min_df)
        if len(columns) == 0:  # too few training rows for any split: one column keeps the model fittable
            columns = np.array([int(np.argmax(df))])
        if 0 < self.max_features < len(columns):
            if self.score == "chi2":
                if y is None:
                    raise ValueError("ColumnSelector(score='chi2') needs the training labels: call fit(X, y)")
                scores = np.nan_to_num(chi2(X[:, columns], y)[0])
            else:
                scores = df[columns]
            # stable sort: ties keep the lower column index, so the selection is deterministic
            columns = np.sort(columns[np.argsort(-scores, kind="stable")[: self.max_features]])
        self.columns_ = columns
        self.n_features_in_ = n
        return self

    def transform(self, X):
        check_is_fitted(self, "columns_")
        X = sp.csr_matrix(X)
        return X if len(self.columns_) == X.shape[1] else X[:, self.columns_]


def lightgbm_member(config: LightGBMConfig, seed: int):
    """LightGBM with the recipe's hyper-parameters, behind the column selection that makes it affordable."""
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        colsample_bytree=config.colsample_bytree,
        feature_fraction_bynode=config.colsample_bynode,
        reg_alpha=config.reg_alpha,
        reg_lambda=config.reg_lambda,
        min_child_samples=config.min_child_samples,
        max_depth=config.max_depth,
        max_bin=config.max_bin,
        num_leaves=config.num_leaves,
        n_jobs=config.n_jobs or available_cores(),
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    selector = ColumnSelector(config.max_features, min_df=config.min_child_samples, score=config.selection)
    return make_pipeline(selector, model)


def ensemble_members(config: EnsembleConfig, seed: int) -> list[tuple[str, BaseEstimator, float]]:
    """``(name, estimator, weight)`` for every member with a positive weight, in a fixed order."""
    members = [
        ("mnb", lambda: MultinomialNB(alpha=config.mnb.alpha), config.mnb.weight),
        (
            "sgd",
            lambda: SGDClassifier(
                loss=config.sgd.loss, max_iter=config.sgd.max_iter, tol=config.sgd.tol, random_state=seed
            ),
            config.sgd.weight,
        ),
        (
            "logistic",
            lambda: LogisticRegression(C=config.logistic.C, max_iter=config.logistic.max_iter, random_state=seed),
            config.logistic.weight,
        ),
        ("lightgbm", lambda: lightgbm_member(config.lightgbm, seed), config.lightgbm.weight),
    ]
    for name, _, weight in members:
        if weight < 0:
            raise ConfigError(f"ensemble.{name}.weight = {weight}: weights must be >= 0 (0 switches a member off)")
    chosen = [(name, make(), weight) for name, make, weight in members if weight > 0]
    if not chosen:
        raise ConfigError("every ensemble member has weight 0: give at least one of mnb/sgd/logistic/lightgbm a weight")
    return chosen


def build_ensemble(config: EnsembleConfig, seed: int = 42) -> WeightedEnsemble:
    members = ensemble_members(config, seed)
    return WeightedEnsemble(
        estimators=[(name, est) for name, est, _ in members],
        weights=[w for _, _, w in members],
        averaging=config.averaging,
    )


class WeightedEnsemble(BaseEstimator, ClassifierMixin):
    """Weighted soft voting or rank averaging of binary classifiers.

    Rank averaging matters for AUC: members whose probabilities live on different scales (MultinomialNB is
    nearly always 0 or 1, SGD's modified Huber is piecewise linear) otherwise let the most extreme member
    dominate the average. Scores are the positive-class column of each member's ``predict_proba``.
    """

    def __init__(self, estimators: Sequence[tuple[str, BaseEstimator]], weights: Sequence[float] | None = None,
                 averaging: str = "probability"):
        self.estimators = estimators
        self.weights = weights
        self.averaging = averaging

    def fit(self, X, y):
        if self.averaging not in AVERAGING:
            raise ConfigError(f"ensemble.averaging = {self.averaging!r}: use one of {AVERAGING}")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if not np.array_equal(self.classes_, [0, 1]):
            raise ValueError(f"training labels must contain both 0 (human) and 1 (machine); got {self.classes_.tolist()}")
        self.weights_ = self._normalised_weights()
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self.named_estimators_ = {name: est for (name, _), est in zip(self.estimators, self.estimators_)}
        return self

    def member_scores(self, X) -> dict[str, np.ndarray]:
        """Positive-class probability of every fitted member, by name."""
        check_is_fitted(self, "estimators_")
        return {name: est.predict_proba(X)[:, 1] for name, est in self.named_estimators_.items()}

    def predict_proba(self, X) -> np.ndarray:
        scores = combine_scores(list(self.member_scores(X).values()), self.weights_, self.averaging)
        return np.column_stack([1.0 - scores, scores])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _normalised_weights(self) -> np.ndarray:
        weights = np.ones(len(self.estimators)) if self.weights is None else np.asarray(self.weights, float)
        if len(weights) != len(self.estimators) or np.any(weights < 0) or weights.sum() <= 0:
            raise ConfigError(f"ensemble weights {list(weights)} must be one non-negative weight per member, not all 0")
        return weights / weights.sum()


def combine_scores(scores: Sequence[np.ndarray], weights: Sequence[float], averaging: str) -> np.ndarray:
    """Weighted mean of scores, or of their ranks scaled to (0, 1] when ``averaging='rank'``."""
    if averaging == "rank":
        scores = [rank_scores(s) for s in scores]
    elif averaging != "probability":
        raise ConfigError(f"averaging = {averaging!r}: use one of {AVERAGING}")
    weights = np.asarray(weights, float)
    return np.clip(np.average(np.vstack(scores), axis=0, weights=weights), 0.0, 1.0)


def rank_scores(scores: np.ndarray) -> np.ndarray:
    """Average ranks scaled to (0, 1]: ties share a rank, so tied scores stay tied after blending."""
    scores = np.asarray(scores, float)
    return rankdata(scores, method="average") / max(len(scores), 1)


def top_ngrams(ensemble: WeightedEnsemble, feature_names: Sequence[str], k: int = 20) -> list[tuple[str, float]]:
    """The n-grams that push hardest towards "machine" and "human" in the first linear member.

    Uses MultinomialNB's log-probability ratio or a linear model's coefficients, ranked by
    :func:`daigt.report.top_ngrams_from_linear` (positive weight = machine).
    """
    from daigt.report import top_ngrams_from_linear

    for est in ensemble.named_estimators_.values():
        if hasattr(est, "feature_log_prob_"):
            return top_ngrams_from_linear(est.feature_log_prob_[1] - est.feature_log_prob_[0], feature_names, k)
        if hasattr(est, "coef_"):
            return top_ngrams_from_linear(np.ravel(est.coef_), feature_names, k)
    return []
