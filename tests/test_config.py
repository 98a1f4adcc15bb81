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


def leaf_fields(cls=Config, prefix=""):
    from typing import get_type_hints

    hints = get_type_hints(cls, include_extras=True)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            yield from leaf_fields(hints[f.name], f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}", hints[f.name]


def test_every_number_declares_a_range_and_every_word_its_choices():
    """The annotations are the validation: a new field without bounds or choices fails here."""
    from typing import Annotated, Literal, get_args, get_origin

    from daigt.config import Range

    free_text = {"ensemble.embedding.model_dir", "ensemble.embedding.cache_dir", "transformer.model_dir",
                 "train_transformer.model_dir", "ensemble.causal_lm.model", "ensemble.causal_lm.performer",
                 "ensemble.causal_lm.cache_dir"}
    for key, hint in leaf_fields():
        items = get_args(hint) if get_origin(hint) is tuple else (hint,)
        for item in items:
            if item in (bool, Ellipsis) or key in free_text or key == "tokenizer.special_tokens":
                continue
            assert get_origin(item) is Literal or (
                get_origin(item) is Annotated and any(isinstance(m, Range) for m in get_args(item)[1:])
            ), key


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("features.min_df=0", "features.min_df = 0 is out of range. Fix: use a value >= 1 (default 1)"),
        ("features.max_df=1.5", "use a value in (0, 1]"),
        ("seed=-1", "[0, 4,294,967,295]"),
        ("ensemble.sgd.loss=hinge", "which ``hinge`` cannot give"),
        ("ensemble.mnb.weight=inf", "finite"),
        ("features.ngram_range=[4, 2]", "e.g. [2, 4]"),
        ("pseudo_label.low_quantile=0.95", "low < high"),
        ("ensemble.embedding.weight=0.5", "needs ensemble.embedding.model_dir"),
        ("tokenizer.special_tokens=['[UNK]', '[UNK]']", "distinct"),
        ("features.n_jobs=-2", "features.n_jobs = -2 is out of range. Fix: use a value >= -1 (default -1)"),
    ],
)
def test_ranges_choices_and_cross_field_rules(override, fragment):
    with pytest.raises(ConfigError) as raised:
        Config().with_overrides([override])
    assert fragment in str(raised.value)


def test_unreadable_config_files_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        Config.from_toml(tmp_path)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"# caf\xe9\nseed = 1\n")
    with pytest.raises(ConfigError, match=r"latin1.toml: not UTF-8 .*offset 5"):
        Config.from_toml(latin1)


def test_model_directories_must_exist_where_the_run_happens(tmp_path):
    from daigt.config import check_local_paths

    config = Config().with_overrides([f"transformer.model_dir={tmp_path / 'missing'}"])  # loads: may be for Kaggle
    with pytest.raises(ConfigError, match="transformer.model_dir .* does not exist"):
        check_local_paths(config)
    check_local_paths(Config().with_overrides([f"transformer.model_dir={tmp_path}"]))


@pytest.mark.parametrize("key", ["features.n_jobs", "ensemble.lightgbm.n_jobs"])
def test_old_all_cores_zero_n_jobs_is_refused_with_the_fix(key, tmp_path):
    """n_jobs follows scikit-learn everywhere (-1 = all cores); a config written when 0 meant that says how to fix it."""
    section, _, field = key.rpartition(".")
    path = tmp_path / "old.toml"
    path.write_text(f"[{section}]\n{field} = 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        Config.from_toml(path)
    message = str(raised.value)
    assert str(path) in message and f"{key} = 0" in message and f"write {key} = -1 for all cores" in message
    assert Config().features.n_jobs == Config().ensemble.lightgbm.n_jobs == -1
    assert Config().with_overrides([f"{key}=3"])


def test_factories_of_the_default_config_build_the_default_estimators():
    """Defaults live in the config; an estimator's own defaults are read from it, so the two cannot drift, and
    each factory maps every field it should (a default config builds a default-constructed estimator)."""
    from daigt.augment import TypoAugmenter
    from daigt.data import TextNormalizer
    from daigt.features import NgramTfidfVectorizer
    from daigt.lm import LMStatsClassifier
    from daigt.stacking import StackedBlend
    from daigt.style import StyleClassifier
    from daigt.tokenizer import BPETokenizer

    c = Config()
    pairs = [
        (BPETokenizer.from_config(c.tokenizer), BPETokenizer()),
        (TextNormalizer.from_config(c.data), TextNormalizer()),
        (TypoAugmenter.from_config(c.augment, seed=5), TypoAugmenter(seed=5)),
        (NgramTfidfVectorizer.from_config(c.features), NgramTfidfVectorizer(n_jobs=-1)),
        (StyleClassifier.from_config(c.ensemble.style, seed=5), StyleClassifier(seed=5)),
        (LMStatsClassifier.from_config(c.ensemble.lm, seed=5), LMStatsClassifier(seed=5)),
        (StackedBlend.from_config(c.ensemble.stack, seed=5), StackedBlend(seed=5)),
    ]
    from daigt.transformer.embeddings import EmbeddingLogisticClassifier

    embedding = dataclasses.replace(c.ensemble.embedding, model_dir="encoder")
    pairs.append((EmbeddingLogisticClassifier.from_config(embedding), EmbeddingLogisticClassifier("encoder")))
    for built, default in pairs:
        assert built.get_params() == default.get_params(), type(built).__name__
    varied = c.with_overrides(["ensemble.lm.order=2", "ensemble.lm.model=logistic", "ensemble.style.model=lightgbm",
                               "features.min_df=2", "ensemble.stack.C=0.5"])
    assert LMStatsClassifier.from_config(varied.ensemble.lm, 0).get_params()["order"] == 2
    assert LMStatsClassifier.from_config(varied.ensemble.lm, 0).get_params()["model"] == "logistic"
    assert StyleClassifier.from_config(varied.ensemble.style, 0).model == "lightgbm"
    assert NgramTfidfVectorizer.from_config(varied.features).min_df == 2
    assert StackedBlend.from_config(varied.ensemble.stack, 0).C == 0.5
