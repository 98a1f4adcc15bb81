"""The final blend: one weighted mean over named score columns (daigt.blend)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from daigt.blend import Blend, rank_scores, weighted_mean
from daigt.config import Config
from daigt.models import tfidf_weights
from daigt.pipeline import MEMBERS, weight_table


def test_rank_scores_are_normalised_and_ties_share_the_average_rank():
    np.testing.assert_allclose(rank_scores([0.3, 0.1, 0.2]), [1.0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(rank_scores([5.0, 1.0, 5.0, 3.0]), [3.5 / 4, 1 / 4, 3.5 / 4, 2 / 4])


def test_weighted_mean_by_rank_and_by_probability():
    a, b = np.array([0.9, 0.1, 0.5]), np.array([0.2, 0.3, 0.4])
    np.testing.assert_allclose(weighted_mean([a, b], [0.75, 0.25], "rank"),
                               [(0.75 * 3 + 0.25 * 1) / 3, (0.75 + 0.5) / 3, (1.5 + 0.75) / 3])
    np.testing.assert_allclose(weighted_mean([a, b], [1, 1], "probability"), (a + b) / 2)
    with pytest.raises(ValueError, match="averaging = 'median'"):
        weighted_mean([a, b], [1, 1], "median")


def test_blend_matches_hand_computed_ranks():
    tfidf = [0.10, 0.40, 0.35, 0.80]  # ranks 1 3 2 4 -> /4 = .25 .75 .50 1.0
    transformer = [0.90, 0.20, 0.30, 0.10]  # ranks 4 2 3 1 -> /4 = 1.0 .50 .75 .25
    blended = Blend({"tfidf": 0.75, "transformer": 0.25}).scores({"tfidf": tfidf, "transformer": transformer})
    assert blended.tolist() == pytest.approx([0.4375, 0.6875, 0.5625, 0.8125])


def test_a_weight_is_a_share_of_the_total_whatever_the_scale():
    columns = {"a": np.array([3.0, 1.0, 2.0]), "b": np.array([-1.0, 7.0, 0.0])}
    np.testing.assert_allclose(Blend({"a": 0.3, "b": 0.1}).scores(columns), Blend({"a": 3, "b": 1}).scores(columns))
    # weight 0 leaves a column out: its scores are neither needed nor read
    np.testing.assert_array_equal(Blend({"a": 1.0, "b": 0.0}).scores({"a": columns["a"]}), columns["a"])


def test_one_present_column_is_returned_unchanged():
    """Ranking a lone column would only rescale it; a single member's probabilities stay probabilities."""
    scores = np.array([0.2, 0.9, 0.4])
    for averaging in ("rank", "probability"):
        assert Blend({"tfidf": 0.38, "style": 0.0}, averaging).scores({"tfidf": scores}) is scores


def test_rank_blend_is_scale_free_and_can_beat_both_members():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(200), np.ones(200)]
    a = y + rng.normal(0, 1.0, 400)
    b = 100 * (y + rng.normal(0, 1.0, 400))  # same signal quality, different scale
    blend = Blend({"a": 1, "b": 1})
    assert roc_auc_score(y, blend.scores({"a": a, "b": b})) > max(roc_auc_score(y, a), roc_auc_score(y, b))
    np.testing.assert_allclose(blend.scores({"a": a, "b": b}), blend.scores({"a": np.exp(a), "b": b / 1000}))


def test_columns_are_blended_in_table_order():
    """A float sum depends on its order: the table's order is the blend's, whatever order the columns come in."""
    rng = np.random.default_rng(1)
    columns = {name: rng.random(50) for name in "abc"}
    blend = Blend({"a": 0.07, "b": 0.31, "c": 0.1}, "probability")
    expected = np.clip(np.average(np.vstack([columns["a"], columns["b"], columns["c"]]), axis=0,
                                  weights=[0.07, 0.31, 0.1]), 0, 1)
    np.testing.assert_array_equal(blend.scores(dict(reversed(columns.items()))), expected)


def test_bad_tables_and_columns_are_refused_by_name():
    with pytest.raises(ValueError, match="every weight .* is 0"):
        Blend({"a": 0.0})
    with pytest.raises(ValueError, match="column 'b' is -1"):
        Blend({"a": 1.0, "b": -1})
    with pytest.raises(ValueError, match="averaging = 'mean'"):
        Blend({"a": 1.0}, "mean")
    blend = Blend({"a": 1.0, "b": 1.0})
    with pytest.raises(ValueError, match=r"no scores for column\(s\) \['b'\]"):
        blend.scores({"a": [1, 2]})
    with pytest.raises(ValueError, match="column 'b' has 3 scores, 'a' has 2"):
        blend.scores({"a": [1, 2], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="column 'b' has 1 non-finite score.*row 1"):
        blend.scores({"a": [1, 2], "b": [1, np.nan]})
    assert blend.scores({"a": [], "b": []}).shape == (0,)


def test_weight_table_puts_every_member_on_the_tfidf_scale():
    config = Config()
    table = weight_table(config)
    assert list(table) == ["tfidf", *MEMBERS, "transformer"]
    assert table["tfidf"] == pytest.approx(sum(tfidf_weights(config.ensemble).values())) == pytest.approx(0.38)
    assert table["style"] == config.ensemble.style.weight
    # the default transformer weight keeps its old share of the default blend: one half
    assert table["transformer"] / (table["tfidf"] + table["style"] + table["transformer"]) == pytest.approx(0.5)
