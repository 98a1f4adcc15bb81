import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.naive_bayes import MultinomialNB
from sklearn.metrics import roc_auc_score

from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import check_get_params_invariance, check_set_params

from daigt.config import Config
from daigt.models import ColumnSelector, WeightedEnsemble, lightgbm_member, tfidf_ensemble


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
    a = tfidf_ensemble(fast_config(logistic=0.2), 3).fit(X, y)
    b = tfidf_ensemble(fast_config(logistic=0.2), 3).fit(X, y)
    pa = a.predict_proba(Xt)
    assert pa.shape == (Xt.shape[0], 2) and np.allclose(pa.sum(1), 1)
    assert np.array_equal(pa, b.predict_proba(Xt))
    assert roc_auc_score(yt, pa[:, 1]) > 0.9
    assert set(a.member_scores(Xt)) == {"mnb", "sgd", "logistic", "lightgbm"}
    assert np.isclose(a.weights_.sum(), 1.0)


def test_zero_weight_members_are_not_built():
    ens = tfidf_ensemble(fast_config(lightgbm=0, sgd=0), 0)
    assert [n for n, _ in ens.estimators] == ["mnb"]


def test_model_errors_are_value_errors_not_config_errors():
    """ConfigError is for config files; an estimator given bad parameters raises scikit-learn's ValueError."""
    from daigt.config import ConfigError

    X, y = toy_problem(n=60, d=30)
    bad = [WeightedEnsemble([]), WeightedEnsemble([("mnb", MultinomialNB())], weights=[0.0]),
           WeightedEnsemble([("mnb", MultinomialNB())], averaging="median"), ColumnSelector(score="mutual_info")]
    for estimator in bad:
        with pytest.raises(ValueError) as error:
            estimator.fit(X, y)
        assert not isinstance(error.value, ConfigError), estimator


def test_ensemble_parameters_work_like_voting_classifier():
    """``<member>__<param>`` reaches a member, as in VotingClassifier, so GridSearchCV can tune one."""
    ens = tfidf_ensemble(fast_config(lightgbm=0), 0)
    deep = ens.get_params(deep=True)
    assert deep["sgd__alpha"] == 1e-4 and deep["mnb"] is ens.estimators[0][1]
    assert "sgd__alpha" not in ens.get_params(deep=False)
    ens.set_params(sgd__alpha=1e-3, mnb__alpha=0.5)
    assert dict(ens.estimators)["sgd"].alpha == 1e-3 and dict(ens.estimators)["mnb"].alpha == 0.5
    ens.set_params(mnb=MultinomialNB(alpha=2.0))
    assert dict(ens.estimators)["mnb"].alpha == 2.0 and [n for n, _ in ens.estimators] == ["mnb", "sgd"]
    check_get_params_invariance("WeightedEnsemble", ens)
    check_set_params("WeightedEnsemble", ens)
    X, y = toy_problem(n=200)
    search = GridSearchCV(tfidf_ensemble(fast_config(lightgbm=0), 0), {"sgd__alpha": [1e-4, 1e-2]}, cv=2,
                          scoring="roc_auc").fit(X, y)
    assert search.best_params_["sgd__alpha"] in (1e-4, 1e-2)
    assert dict(search.best_estimator_.estimators)["sgd"].alpha == search.best_params_["sgd__alpha"]


def test_ensemble_is_a_clonable_sklearn_estimator():
    ens = tfidf_ensemble(fast_config(lightgbm=0), 0)
    params = ens.get_params()
    assert params["averaging"] == "rank" and "estimators" in params
    twin = clone(ens)
    assert twin.get_params()["weights"] == ens.get_params()["weights"]
    assert twin.estimators[0][1] is not ens.estimators[0][1]


def test_single_label_training_is_refused():
    X, _ = toy_problem()
    with pytest.raises(ValueError, match="both 0"):
        tfidf_ensemble(fast_config(lightgbm=0), 0).fit(X, np.ones(X.shape[0], int))


def test_rank_ensemble_keeps_auc_of_dominant_member():
    X, y = toy_problem()
    ens = WeightedEnsemble(tfidf_ensemble(fast_config(lightgbm=0), 0).estimators, averaging="rank").fit(X, y)
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
    with pytest.raises(ValueError, match="score = 'mutual_info'"):
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
    ens = tfidf_ensemble(cfg.ensemble, 0).fit(X, y)
    Xt, yt = toy_problem(seed=2)
    assert roc_auc_score(yt, ens.predict_proba(Xt)[:, 1]) > 0.85


def test_member_factories_map_their_config_sections():
    from daigt.models import logistic_member, mnb_member, sgd_member
    from daigt.parallel import available_cores

    c = Config().with_overrides(["ensemble.mnb.alpha=0.5", "ensemble.sgd.loss=log_loss", "ensemble.logistic.C=2",
                                 "ensemble.lightgbm.n_estimators=7", "ensemble.lightgbm.selection=df"])
    e = c.ensemble
    assert mnb_member(e.mnb).alpha == 0.5
    assert (sgd_member(e.sgd, 3).loss, sgd_member(e.sgd, 3).random_state) == ("log_loss", 3)
    assert (logistic_member(e.logistic, 3).C, logistic_member(e.logistic, 3).max_iter) == (2.0, 1000)
    lgb = lightgbm_member(e.lightgbm, 3)
    assert (lgb[0].score, lgb[0].max_features, lgb[0].min_df) == ("df", 2000, 115)
    assert (lgb[-1].n_estimators, lgb[-1].random_state) == (7, 3)
    assert lgb[-1].n_jobs == available_cores()  # -1 = all cores, resolved to the cores this process may use
    assert lightgbm_member(c.with_overrides(["ensemble.lightgbm.n_jobs=2"]).ensemble.lightgbm, 3)[-1].n_jobs == 2
