import dataclasses

import pytest

from daigt.config import PUBLIC_RECIPE, Config, ConfigError


def test_defaults_are_the_public_recipe_plus_the_measured_changes():
    c = Config()
    assert c.tokenizer.vocab_size == 30522 and not c.tokenizer.lowercase and c.tokenizer.fit_on == "test"
    assert c.features.ngram_range == (3, 5) and c.features.sublinear_tf and c.features.vocabulary_from == "test"
    assert c.ensemble.mnb.alpha == 0.02 and c.ensemble.sgd.loss == "modified_huber" and c.ensemble.sgd.max_iter == 8000
    assert (c.ensemble.lightgbm.weight, c.ensemble.averaging, c.pseudo_label.enabled) == (0.0, "rank", True)
    recipe = c.with_overrides(PUBLIC_RECIPE)
    assert (recipe.ensemble.mnb.weight, recipe.ensemble.sgd.weight, recipe.ensemble.lightgbm.weight) == (0.07, 0.31, 0.31)
    assert recipe.ensemble.averaging == "probability" and recipe.ensemble.style.weight == 0 and not recipe.pseudo_label.enabled
    assert (c.ensemble.lightgbm.selection, c.ensemble.lightgbm.max_features) == ("chi2", 2000)
    assert recipe.ensemble.lightgbm.max_features == 0  # every column LightGBM can split on, as the notebooks


def test_toml_round_trip(tmp_path):
    c = Config().with_overrides(["features.ngram_range=[3, 7]", "features.min_df=2", "ensemble.averaging=rank",
                                  "transformer.model_dir=/models/x", "ensemble.lightgbm.weight=0"])
    path = c.save(tmp_path / "c.toml")
    assert Config.from_toml(path) == c
    assert c.features.ngram_range == (3, 7) and c.ensemble.averaging == "rank"
    assert c.ensemble.lightgbm.weight == 0.0 and isinstance(c.ensemble.lightgbm.weight, float)


def test_partial_file_keeps_other_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("seed = 7\n[features]\nmin_df = 2\n")
    c = Config.from_toml(path)
    assert c.seed == 7 and c.features.min_df == 2 and c.features.ngram_range == (3, 5)


def test_documented_toml_is_the_config_reference():
    from daigt.config import field_docs, tomllib

    text = Config().to_toml(documented=True)
    assert Config.from_dict(tomllib.loads(text)) == Config()
    docs = field_docs()
    assert "features.min_df" in docs and "ensemble.lightgbm.max_features" in docs and "guard.min_test_rows" in docs
    for f in dataclasses.fields(Config):
        assert f.name in text


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("features.nope=1", "unknown field"),
        ("nosection.x=1", "unknown section"),
        ("features.min_df=two", "expected int"),
        ("no-equals-sign", "section.field=value"),
        ("features.ngram_range=[3]", "expected 2 values"),
        ("features.vocabulary_from=train", "use one of"),
        ("ensemble.averaging=median", "use one of"),
    ],
)
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        Config().with_overrides([override])


def test_bad_file_names_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[features\nmin_df = 2")
    with pytest.raises(ConfigError, match="bad.toml"):
        Config.from_toml(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[features]\nmindf = 2\n")
    with pytest.raises(ConfigError, match="mindf"):
        Config.from_toml(unknown)
    with pytest.raises(ConfigError, match="not found"):
        Config.from_toml(tmp_path / "missing.toml")
