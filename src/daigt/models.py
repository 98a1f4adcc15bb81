"""Ensemble members over TF-IDF features and the weighted ensemble that combines them.

The public recipe soft-votes MultinomialNB, SGD (modified Huber) and gradient-boosted trees. Members here are
ordinary scikit-learn estimators, each built from its config section by one factory, so anything that fits
``fit(X, y)`` / ``predict_proba(X)`` can join, and the ensemble itself is one too: clone-able, grid-searchable
(``sgd__alpha``), usable inside a Pipeline. Its member weights mean what every weight in the final blend means
(:mod:`daigt.blend`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.feature_selection import chi2
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import check_is_fitted

from daigt.blend import AVERAGING, weighted_mean
from daigt.config import EnsembleConfig, LightGBMConfig, LogisticConfig, MNBConfig, SGDConfig
from daigt.features import column_document_frequency
from daigt.parallel import thread_count


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
            raise ValueError(f"ColumnSelector: score = {self.score!r}; use one of {SELECTION_SCORES}")
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


def mnb_member(config: MNBConfig) -> MultinomialNB:
    return MultinomialNB(alpha=config.alpha)


def sgd_member(config: SGDConfig, seed: int) -> SGDClassifier:
    return SGDClassifier(loss=config.loss, max_iter=config.max_iter, tol=config.tol, random_state=seed)


def logistic_member(config: LogisticConfig, seed: int) -> LogisticRegression:
    return LogisticRegression(C=config.C, max_iter=config.max_iter, random_state=seed)


def lightgbm_member(config: LightGBMConfig, seed: int) -> Pipeline:
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
        n_jobs=thread_count(config.n_jobs),
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    selector = ColumnSelector(config.max_features, min_df=config.min_child_samples, score=config.selection)
    return make_pipeline(selector, model)


TFIDF_MEMBERS = {
    "mnb": (lambda ens: ens.mnb, lambda section, seed: mnb_member(section)),
    "sgd": (lambda ens: ens.sgd, sgd_member),
    "logistic": (lambda ens: ens.logistic, logistic_member),
    "lightgbm": (lambda ens: ens.lightgbm, lightgbm_member),
}
"""The TF-IDF ensemble's members in voting order: ``name -> (its section of ensemble, its factory(section,
seed))``. A new TF-IDF member is one entry here and a section with a ``weight`` in ``EnsembleConfig``."""


def tfidf_weights(config: EnsembleConfig) -> dict[str, float]:
    """Every TF-IDF member's weight by name, in voting order (0 = switched off)."""
    return {name: section(config).weight for name, (section, _) in TFIDF_MEMBERS.items()}


def tfidf_ensemble(config: EnsembleConfig, seed: int) -> WeightedEnsemble:
    """The TF-IDF ensemble over the members with a positive weight (a weight-0 member is never built)."""
    weights = {name: w for name, w in tfidf_weights(config).items() if w > 0}
    return WeightedEnsemble(
        estimators=[(name, TFIDF_MEMBERS[name][1](TFIDF_MEMBERS[name][0](config), seed)) for name in weights],
        weights=list(weights.values()),
        averaging=config.averaging,
    )


class WeightedEnsemble(ClassifierMixin, _BaseComposition):
    """Weighted soft voting or rank averaging of binary classifiers over one feature matrix.

    A weight means what it means in the final blend (:mod:`daigt.blend`): a member's share is its weight over the
    members' total, and the ensemble takes part in the final blend with that total as its weight. Scores are the
    positive-class column of each member's ``predict_proba``. Member parameters are reachable as
    ``<name>__<param>`` (``set_params(sgd__alpha=1e-4)``), as in scikit-learn's ``VotingClassifier``, so the
    ensemble can be cloned and grid-searched.
    """

    def __init__(self, estimators: Sequence[tuple[str, BaseEstimator]], weights: Sequence[float] | None = None,
                 averaging: str = EnsembleConfig.averaging):
        self.estimators = estimators
        self.weights = weights
        self.averaging = averaging

    def get_params(self, deep: bool = True) -> dict:
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params) -> WeightedEnsemble:
        self._set_params("estimators", **params)
        return self

    def fit(self, X, y):
        if self.averaging not in AVERAGING:
            raise ValueError(f"WeightedEnsemble: averaging = {self.averaging!r}; use one of {AVERAGING}")
        if not self.estimators:
            raise ValueError("WeightedEnsemble: no estimators; give at least one (name, estimator) pair")
        self._validate_names([name for name, _ in self.estimators])
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

    def combine(self, member_scores: dict[str, np.ndarray]) -> np.ndarray:
        """The ensemble's score from its members' scores (``member_scores``' output)."""
        check_is_fitted(self, "estimators_")
        return weighted_mean([member_scores[name] for name, _ in self.estimators], self.weights_, self.averaging)

    def predict_proba(self, X) -> np.ndarray:
        scores = self.combine(self.member_scores(X))
        return np.column_stack([1.0 - scores, scores])

    def predict(self, X) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _normalised_weights(self) -> np.ndarray:
        weights = np.ones(len(self.estimators)) if self.weights is None else np.asarray(self.weights, float)
        if len(weights) != len(self.estimators) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"WeightedEnsemble: weights {list(weights)} must be one non-negative weight per member, "
                             "not all 0")
        return weights / weights.sum()
