"""Typo augmentation, Levenshtein-1 spelling repair and pseudo-labelled rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daigt.augment import SpellingRepair, TypoAugmenter, add_typos, agreed_rows, confident_rows

ESSAY = (
    "Cars are a big part of modern life, but cities without cars offer cleaner air and quieter streets. "
    "People who walk or cycle are healthier, and public transport reduces traffic. "
) * 4


def training_frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": [f"{ESSAY} essay number {i}" for i in range(n)],
            "label": [i % 2 for i in range(n)],
            "prompt_name": "Car-free cities",
            "source": ["human" if i % 2 == 0 else "gpt" for i in range(n)],
            "file": "train.csv",
        }
    )


def test_add_typos_changes_only_letters_at_about_the_rate():
    rng = np.random.default_rng(0)
    text = "electoral college system, " * 300  # long words: a deletion never removes a whole word
    noisy = add_typos(text, 0.02, rng)
    assert noisy != text
    assert [c for c in noisy if not c.isalpha()] == [c for c in text if not c.isalpha()]  # spaces/punctuation kept
    words, noisy_words = text.split(), noisy.split()
    assert len(words) == len(noisy_words)
    changed = sum(a != b for a, b in zip(noisy_words, words))
    n_letters = sum(c.isalpha() for c in text)
    # ~0.02 * 6,600 letters = 132 edits, nearly all in different words
    assert 0.5 * 0.02 * n_letters < changed < 1.5 * 0.02 * n_letters
    assert add_typos(text, 0.0, rng) == text
    assert add_typos("", 0.5, rng) == ""


def test_augmenter_is_deterministic_touches_only_machine_rows_at_rate():
    df = training_frame()
    augmenter = TypoAugmenter(rate=0.5, char_noise=0.05, mode="replace", seed=7)
    out = augmenter.transform(df)
    again = TypoAugmenter(rate=0.5, char_noise=0.05, mode="replace", seed=7).transform(df)
    other = TypoAugmenter(rate=0.5, char_noise=0.05, mode="replace", seed=8).transform(df)
    pd.testing.assert_frame_equal(out, again)
    assert not out["text"].equals(other["text"])
    changed = out["text"] != df["text"]
    assert changed.sum() == 10  # half of the 20 machine rows
    assert (df.loc[changed, "label"] == 1).all()
    assert len(out) == len(df) and out["label"].equals(df["label"])
    assert augmenter.rate == 0.5 and augmenter.seed == 7  # parameters are never mutated


def test_augmenter_append_mode_adds_noisy_copies():
    df = training_frame()
    out = TypoAugmenter(rate=0.25, char_noise=0.05, mode="append", seed=1).transform(df)
    assert len(out) == len(df) + 5
    pd.testing.assert_frame_equal(out.iloc[: len(df)], df)
    extra = out.iloc[len(df):]
    assert (extra["label"] == 1).all() and (extra["source"] == "gpt").all()
    assert not extra["text"].isin(df["text"]).any()


def test_augmenter_rejects_bad_parameters():
    with pytest.raises(ValueError, match="rate"):
        TypoAugmenter(rate=1.5).transform(training_frame())
    with pytest.raises(ValueError, match="mode"):
        TypoAugmenter(mode="sideways").transform(training_frame())


def test_augmenter_is_fast_enough_for_a_full_training_set():
    # 2,000 essays of ~2,000 characters: the work is per edit, so this is quick (no timing assertion).
    df = pd.DataFrame({"text": [ESSAY * 3] * 2000, "label": 1})
    out = TypoAugmenter(rate=1.0, char_noise=0.02, mode="replace").transform(df)
    assert (out["text"] != df["text"]).mean() > 0.99


def test_spelling_repair_fixes_a_substitution_and_keeps_known_words():
    corpus = ["the electoral college is a fair system"] * 3 + ["the popular vote matters"] * 3
    repair = SpellingRepair(min_count=2).fit(corpus)
    assert repair.transform(["the electoral cillege is a fair systen"]) == ["the electoral college is a fair system"]
    assert repair.transform(["the popular vote matters"]) == ["the popular vote matters"]
    assert repair.transform(["zzzzz xylophone"]) == ["zzzzz xylophone"]  # no neighbour: untouched
    assert repair.transform(["Electoral, cillege!"]) == ["Electoral, college!"]  # punctuation kept
    assert repair.transform(["Cillege SYSTEN"]) == ["College SYSTEM"]  # capitalisation kept
    assert repair.transform(["coLlege"]) == ["coLlege"]  # known word: left as is by default
    assert SpellingRepair(min_count=2, repair_case=True).fit(corpus).transform(["coLlege"]) == ["college"]


def test_spelling_repair_leaves_ambiguous_and_short_words():
    repair = SpellingRepair(min_count=1).fit(["cat bat hat", "dog"])
    assert repair.correction("rat") == "rat"  # cat/bat/hat all at distance 1
    assert repair.correction("dig") == "dog"
    assert repair.correction("xy") == "xy"  # shorter than min_length
    assert SpellingRepair(min_count=2).fit(["dog"]).correction("dig") == "dig"  # dog seen once: not vocabulary
    with pytest.raises(RuntimeError, match="not fitted"):
        SpellingRepair().transform(["text"])


def test_confident_rows_takes_the_extremes():
    scores = np.linspace(0, 1, 10)
    human, machine = confident_rows(scores, low_q=0.2, high_q=0.8)
    assert human.tolist() == [0, 1] and machine.tolist() == [8, 9]
    assert all(len(x) == 0 for x in confident_rows(np.full(10, 0.5)))  # no confident rows
    with pytest.raises(ValueError, match="quantile"):
        confident_rows(scores, 0.9, 0.1)


def test_agreed_rows_keep_only_the_picks_the_guide_puts_at_the_same_end():
    scores = np.linspace(0, 1, 10)  # the ensemble: rows 0-2 most human, 7-9 most machine
    guide = np.array([0, 9, 1, 2, 5, 5, 5, 8, 3, 7], dtype=float)  # row 1 and row 8 contradicted
    human, machine = agreed_rows(scores, guide, low_q=0.3, high_q=0.7, guide_q=0.4)
    assert human.tolist() == [0, 2] and machine.tolist() == [7, 9]
    assert set(human) <= set(confident_rows(scores, 0.3, 0.7)[0])  # a guide never adds a row
    same, _ = agreed_rows(scores, scores, 0.3, 0.7, 0.3)
    assert same.tolist() == [0, 1, 2]  # a guide that agrees everywhere changes nothing
    flat = agreed_rows(scores, np.zeros(10), 0.3, 0.7, 0.3)
    assert all(len(x) == 0 for x in flat)  # a guide with no opinion vetoes every row
    with pytest.raises(ValueError, match="9 guide scores for 10"):
        agreed_rows(scores, guide[:9])


@pytest.mark.parametrize("estimator", [TypoAugmenter(rate=0.5, seed=3), SpellingRepair(min_count=2, repair_case=True)],
                         ids=["TypoAugmenter", "SpellingRepair"])
def test_augmenters_keep_the_scikit_learn_contract(estimator):
    """Cloneable, parameters read back as given and never changed by fit (scikit-learn's own checks)."""
    from sklearn.base import clone
    from sklearn.utils.estimator_checks import (check_get_params_invariance, check_no_attributes_set_in_init,
                                                check_parameters_default_constructible, check_set_params)

    name = type(estimator).__name__
    twin = clone(estimator)
    assert twin is not estimator and twin.get_params() == estimator.get_params()
    check_get_params_invariance(name, estimator)
    check_set_params(name, clone(estimator))
    check_no_attributes_set_in_init(name, clone(estimator))
    check_parameters_default_constructible(name, clone(estimator))
    before = clone(estimator).get_params()
    fitted = estimator.fit([ESSAY, ESSAY.replace("cars", "carz")], [0, 1])
    assert fitted is estimator and estimator.get_params() == before


def test_augmenter_from_config_adds_nothing_by_default():
    from daigt.config import AugmentConfig

    frame = training_frame()
    assert TypoAugmenter.from_config(AugmentConfig(), seed=0).transform(frame)["text"].tolist() == frame["text"].tolist()
    configured = TypoAugmenter.from_config(AugmentConfig(typo_rate=0.5, typo_mode="replace"), seed=7)
    assert configured.get_params() == TypoAugmenter(rate=0.5, char_noise=0.02, mode="replace", seed=7).get_params()
