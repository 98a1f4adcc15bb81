import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from daigt.config import Config, ConfigError, EnsembleConfig
from daigt.models import ColumnSelector, WeightedEnsemble, lightgbm_member, build_ensemble, combine_scores, rank_scores, top_ngrams


def toy_problem(seed=0, n=400, d=300):
    """Counts where the first 20 columns are more frequent for label 1: learnable, not trivially separable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    rates = np.full((n, d), 0.2)
    rates[:, :20] += 0.5 * y[:, None]
    X = sp.csr_matrix(rng.poisson(rates).astype(np.float32))
    return X, y


def fast_config(**weights):
    c = Config().with_overrides(["ensemble.lightgbm.weight=0.31", "ensemble.lightgbm.n_estimators=50",
                                  "ensemble.lightgbm.min_child_samples=5", "ensemble.lightgbm.max_features=0"])
    return c.with_overrides([f"ensemble.{k}.weight={v}" for k, v in weights.items()]).ensemble


def test_default_ensemble_learns_and_is_deterministic():
    X, y = toy_problem()
    Xt, yt = toy_problem(seed=1)
    a = build_ensemble(fast_config(logistic=0.2), seed=3).fit(X, y)
    b = build_ensemble(fast_config(logistic=0.2), seed=3).fit(X, y)
    pa = a.predict_proba(Xt)
    assert pa.shape == (Xt.shape[0], 2) and np.allclose(pa.sum(1), 1)
    assert np.array_equal(pa, b.predict_proba(Xt))
    assert roc_auc_score(yt, pa[:, 1]) > 0.9
    assert set(a.member_scores(Xt)) == {"mnb", "sgd", "logistic", "lightgbm"}
    assert np.isclose(a.weights_.sum(), 1.0)


def test_zero_weight_members_are_not_fitted_and_all_zero_is_an_error():
    ens = build_ensemble(fast_config(lightgbm=0, sgd=0))
    assert [n for n, _ in ens.estimators] == ["mnb"]
    with pytest.raises(ConfigError, match="weight"):
        build_ensemble(fast_config(lightgbm=0, sgd=0, mnb=0))


def test_ensemble_is_a_clonable_sklearn_estimator():
    ens = build_ensemble(fast_config(lightgbm=0))
    params = ens.get_params()
    assert params["averaging"] == "rank" and "estimators" in params
    twin = clone(ens)
    assert twin.get_params()["weights"] == ens.get_params()["weights"]
    assert twin.estimators[0][1] is not ens.estimators[0][1]


def test_single_label_training_is_refused():
    X, _ = toy_problem()
    with pytest.raises(ValueError, match="both 0"):
        build_ensemble(fast_config(lightgbm=0)).fit(X, np.ones(X.shape[0], int))


def test_rank_averaging_by_hand():
    a = np.array([0.9, 0.1, 0.5])  # ranks 3, 1, 2
    b = np.array([0.2, 0.3, 0.4])  # ranks 1, 2, 3
    assert np.allclose(rank_scores(a), [1.0, 1 / 3, 2 / 3])
    assert np.allclose(combine_scores([a, b], [0.75, 0.25], "rank"), [(0.75 * 3 + 0.25 * 1) / 3, (0.75 + 0.5) / 3, (1.5 + 0.75) / 3])
    assert np.allclose(combine_scores([a, b], [1, 1], "probability"), (a + b) / 2)
    assert np.allclose(rank_scores(np.array([0.5, 0.5, 1.0])), [0.5, 0.5, 1.0])  # ties share a rank


def test_rank_ensemble_keeps_auc_of_dominant_member():
    X, y = toy_problem()
    ens = WeightedEnsemble(build_ensemble(fast_config(lightgbm=0)).estimators, averaging="rank").fit(X, y)
    s = ens.predict_proba(X)[:, 1]
    assert 0 < s.min() and s.max() <= 1


def test_column_selector_drops_rare_columns_then_keeps_the_most_frequent():
    X = sp.csr_matrix(np.array([[1, 0, 2, 0, 0], [1, 0, 0, 3, 5], [1, 1, 0, 4, 0]], dtype=np.float32))
    sel = ColumnSelector(max_features=2).fit(X)
    assert list(sel.columns_) == [0, 3]
    assert sel.transform(X).shape == (3, 2)
    assert ColumnSelector(0).fit(X).transform(X).shape == (3, 5)
    assert list(ColumnSelector(0, min_df=2).fit(X).columns_) == [0, 3]
    assert list(ColumnSelector(0, min_df=9).fit(X).columns_) == [0]  # nothing qualifies: keep one, stay fittable


def test_chi2_selection_finds_the_signal_columns():
    X, y = toy_problem()
    noise = sp.csr_matrix(np.random.default_rng(3).poisson(2.0, (X.shape[0], 20)).astype(np.float32))
    X = sp.hstack([noise, X], format="csr")  # 20 frequent label-free columns, then 20 signal columns
    chosen = ColumnSelector(max_features=20, score="chi2").fit(X, y).columns_
    assert np.mean((chosen >= 20) & (chosen < 40)) >= 0.9
    by_df = ColumnSelector(max_features=20, score="df").fit(X, y).columns_
    assert np.mean(by_df < 20) >= 0.9
    with pytest.raises(ValueError, match="needs the training labels"):
        ColumnSelector(max_features=20, score="chi2").fit(X)
    with pytest.raises(ConfigError, match="selection score"):
        ColumnSelector(score="mutual_info").fit(X, y)


def test_dropping_columns_below_min_child_samples_changes_no_tree():
    """The claim behind ``min_df = min_child_samples``: LightGBM gives bit-identical scores without those columns."""
    from lightgbm import LGBMClassifier

    X, y = toy_problem(n=600)
    rng = np.random.default_rng(5)
    rare = sp.random(X.shape[0], 200, density=0.01, random_state=rng, format="csr", dtype=np.float32)
    X = sp.hstack([rare, X], format="csr")  # 200 columns present in ~6 rows each, before the real ones
    cfg = Config().with_overrides(["ensemble.lightgbm.n_estimators=40", "ensemble.lightgbm.min_child_samples=30",
                                    "ensemble.lightgbm.max_features=0"]).ensemble.lightgbm
    member = lightgbm_member(cfg, seed=1).fit(X, y)
    assert len(member[0].columns_) == 300
    bare = LGBMClassifier(**member[-1].get_params()).fit(X, y)
    np.testing.assert_array_equal(member.predict_proba(X), bare.predict_proba(X))


def test_lightgbm_with_column_preselection_still_learns():
    X, y = toy_problem()
    cfg = Config().with_overrides(["ensemble.lightgbm.weight=1", "ensemble.lightgbm.n_estimators=50", "ensemble.lightgbm.min_child_samples=5",
                                    "ensemble.lightgbm.max_features=40", "ensemble.mnb.weight=0", "ensemble.sgd.weight=0"])
    ens = build_ensemble(cfg.ensemble).fit(X, y)
    Xt, yt = toy_problem(seed=2)
    assert roc_auc_score(yt, ens.predict_proba(Xt)[:, 1]) > 0.85


def test_top_ngrams_points_at_the_signal_columns():
    X, y = toy_problem()
    ens = build_ensemble(fast_config(lightgbm=0)).fit(X, y)
    names = [f"col{i}" for i in range(X.shape[1])]
    top = top_ngrams(ens, names, k=5)
    assert len(top) == 10
    assert all(int(n[3:]) < 20 for n, w in top[:5]) and all(w > 0 for _, w in top[:5])
