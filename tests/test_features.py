"""NgramTfidfVectorizer against scikit-learn's TfidfVectorizer configured exactly like the public recipe."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer

from daigt.data import DataError
from daigt.features import NgramTfidfVectorizer, row_blocks
from daigt.tokenizer import BPETokenizer, EncodedCorpus

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


# ---- a small essay-like corpus, generated (no data files needed) ------------------------------------------
_COMMON = (
    "the of and to a in is that it for as with be on not this are by students school would can they people "
    "their more should have which will or from one about but also car cars electoral college vote voters "
    "because think many believe could important example however therefore café naïve résumé façade"
).split()


def _lexicon(rng: np.random.Generator, size: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ter", "sta", "ble", "tion", "pre", "con", "ver", "dus", "ment", "ing", "é", "ro"]
    words = {"".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


def make_essays(n: int, seed: int, style: int = 0) -> list[str]:
    """Deterministic essay-like texts; ``style`` shifts the word distribution (train differs from test)."""
    rng = np.random.default_rng(seed)
    words = _COMMON + _lexicon(np.random.default_rng(100 + style), 250)
    p = 1.0 / np.arange(1, len(words) + 1) ** 1.1
    p = np.roll(p, 7 * style)
    p /= p.sum()
    essays = []
    for _ in range(n):
        paragraphs = []
        for _ in range(rng.integers(1, 4)):
            sentences = []
            for _ in range(rng.integers(2, 6)):
                tokens = list(rng.choice(words, size=rng.integers(4, 16), p=p))
                if rng.random() < 0.2:  # a typo, as in the obfuscated test set
                    i = rng.integers(len(tokens))
                    tokens[i] = tokens[i][::-1]
                sentence = " ".join(tokens)
                sentences.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", "!", "?"]))
            paragraphs.append(" ".join(sentences))
        essays.append("\n\n".join(paragraphs))
    return essays


EDGE_TEXTS = ["", "Hi", "A b", "ok."]


@pytest.fixture(scope="module")
def corpus():
    test_texts = make_essays(120, seed=1, style=0) + EDGE_TEXTS
    train_texts = make_essays(220, seed=2, style=0) + make_essays(80, seed=3, style=1) + EDGE_TEXTS
    tok = BPETokenizer(vocab_size=1200, show_progress=False).fit(test_texts)
    return {
        "tok": tok,
        "train_ids": tok.encode(train_texts),
        "test_ids": tok.encode(test_texts),
        "train_tokens": tok.tokens(train_texts),
        "test_tokens": tok.tokens(test_texts),
    }


# ---- the reference: the public recipe's two TfidfVectorizers ----------------------------------------------
def _identity(x):
    return x


def recipe(train_tokens, test_tokens, ngram_range=(3, 5), min_df=1, max_df=1.0):
    """Vocabulary fitted on the test token lists, idf on the train token lists, as in the public notebooks."""
    params = dict(
        ngram_range=ngram_range, lowercase=False, sublinear_tf=True, analyzer="word", tokenizer=_identity,
        preprocessor=_identity, token_pattern=None, strip_accents="unicode",
    )
    vocab = TfidfVectorizer(min_df=min_df, max_df=max_df, **params).fit(test_tokens).vocabulary_
    vectorizer = TfidfVectorizer(vocabulary=vocab, **params)
    X_train = vectorizer.fit_transform(train_tokens)
    return X_train, vectorizer.transform(test_tokens), vectorizer.get_feature_names_out()


def aligned(X: sp.spmatrix, names: np.ndarray, reference_names: np.ndarray) -> sp.csr_matrix:
    """``X`` with its columns reordered to ``reference_names`` (which must be the same set)."""
    assert len(set(names)) == len(names), "feature names are not unique"
    assert set(names) == set(reference_names)
    where = {name: i for i, name in enumerate(names)}
    return sp.csr_matrix(X)[:, [where[name] for name in reference_names]]


def assert_same(ours: sp.spmatrix, reference: sp.spmatrix) -> None:
    assert ours.shape == reference.shape
    difference = abs(ours.astype(np.float64) - reference)
    assert difference.max() <= 1e-6 if difference.nnz else True
    assert (abs(ours) > 0).sum() == (abs(reference) > 0).sum()  # same sparsity pattern size


# ---- equality with the recipe ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ngram_range, min_df, max_df",
    [((3, 5), 1, 1.0), ((3, 5), 2, 1.0), ((3, 7), 1, 1.0), ((1, 2), 1, 1.0), ((1, 2), 3, 1.0), ((2, 4), 2, 0.3),
     ((3, 5), 1, 0.05)],
)
def test_matches_public_recipe(corpus, ngram_range, min_df, max_df):
    ref_train, ref_test, ref_names = recipe(
        corpus["train_tokens"], corpus["test_tokens"], ngram_range, min_df, max_df
    )
    vec = NgramTfidfVectorizer(ngram_range=ngram_range, min_df=min_df, max_df=max_df)
    X_train = vec.fit_transform(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    X_test = vec.transform(corpus["test_ids"])
    names = vec.get_feature_names_out(corpus["tok"])

    assert isinstance(X_train, sp.csr_matrix) and X_train.dtype == np.float32
    assert vec.n_features_ == len(ref_names) == X_train.shape[1]
    assert_same(aligned(X_train, names, ref_names), ref_train)
    assert_same(aligned(X_test, names, ref_names), ref_test)
    # idf as the second TfidfVectorizer learns it on train
    assert vec.n_docs_fit_ == ref_train.shape[0]


def test_fit_then_transform_equals_fit_transform(corpus):
    vec = NgramTfidfVectorizer()
    a = vec.fit_transform(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    fitted = NgramTfidfVectorizer().fit(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    b = fitted.transform(corpus["train_ids"])
    assert (a != b).nnz == 0


@pytest.mark.parametrize("chunk_docs", [1, 7, 4096])
@pytest.mark.parametrize("min_df", [1, 2])
def test_fit_transform_both_equals_separate_passes(corpus, chunk_docs, min_df):
    """The test matrix taken from the vocabulary pass is bit-identical to a separate transform."""
    both = NgramTfidfVectorizer(min_df=min_df, chunk_docs=chunk_docs)
    X_train, X_test = both.fit_transform_both(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    separate = NgramTfidfVectorizer(min_df=min_df, chunk_docs=chunk_docs)
    expected_train = separate.fit_transform(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    expected_test = separate.transform(corpus["test_ids"])
    for got, expected in ((X_train, expected_train), (X_test, expected_test)):
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got.indptr, expected.indptr)
        np.testing.assert_array_equal(got.indices, expected.indices)
        np.testing.assert_array_equal(got.data, expected.data)
    np.testing.assert_array_equal(both.idf_, separate.idf_)


def test_train_has_ngrams_outside_the_vocabulary(corpus):
    """The comparison above is only meaningful if train holds n-grams the test vocabulary lacks."""
    grams = lambda docs: {" ".join(d[i : i + 3]) for d in docs for i in range(len(d) - 2)}  # noqa: E731
    assert len(grams(corpus["train_tokens"]) - grams(corpus["test_tokens"])) > 100


def test_vocabulary_from_x_matches_tfidf_fit_with_pruning(corpus):
    """vocabulary_from=None is plain TfidfVectorizer.fit_transform, min_df / max_df included."""
    ref = TfidfVectorizer(
        ngram_range=(2, 4), min_df=2, max_df=0.5, lowercase=False, sublinear_tf=True, tokenizer=_identity,
        preprocessor=_identity, token_pattern=None,
    )
    ref_X = ref.fit_transform(corpus["train_tokens"])
    vec = NgramTfidfVectorizer(ngram_range=(2, 4), min_df=2, max_df=0.5)
    X = vec.fit_transform(corpus["train_ids"])
    assert_same(aligned(X, vec.get_feature_names_out(corpus["tok"]), ref.get_feature_names_out()), ref_X)


def test_float_min_df_and_no_norm_match_sklearn(corpus):
    params = dict(ngram_range=(3, 4), min_df=0.05, max_df=0.9)
    ref = TfidfVectorizer(
        lowercase=False, sublinear_tf=False, norm=None, tokenizer=_identity, preprocessor=_identity,
        token_pattern=None, **params,
    )
    ref_X = ref.fit_transform(corpus["test_tokens"])
    vec = NgramTfidfVectorizer(sublinear_tf=False, norm=None, dtype=np.float64, **params)
    X = vec.fit_transform(corpus["test_ids"])
    assert X.dtype == np.float64
    assert_same(aligned(X, vec.get_feature_names_out(corpus["tok"]), ref.get_feature_names_out()), ref_X)


@pytest.mark.skipif(not (SHARED_DATA / "outfox_essays.csv").exists(), reason="../shared/data not available")
def test_matches_public_recipe_on_real_essays():
    import pandas as pd

    frame = pd.read_csv(SHARED_DATA / "outfox_essays.csv").sample(n=360, random_state=0)
    texts = frame["text"].astype(str).tolist()
    train_texts, test_texts = texts[:260], texts[260:]
    tok = BPETokenizer(vocab_size=5000, show_progress=False).fit(test_texts)
    ref_train, ref_test, ref_names = recipe(tok.tokens(train_texts), tok.tokens(test_texts))
    vec = NgramTfidfVectorizer()
    X_train = vec.fit_transform(tok.encode(train_texts), vocabulary_from=tok.encode(test_texts))
    names = vec.get_feature_names_out(tok)
    assert_same(aligned(X_train, names, ref_names), ref_train)
    assert_same(aligned(vec.transform(tok.encode(test_texts)), names, ref_names), ref_test)


@pytest.mark.parametrize("seed", range(12))
def test_random_small_alphabets_match_sklearn(seed):
    """Tiny id alphabets repeat n-grams a lot: stresses counting, doc frequencies and boundaries."""
    rng = np.random.default_rng(seed)
    V = int(rng.integers(2, 6))
    docs = [rng.integers(0, V, size=rng.integers(0, 12)).tolist() for _ in range(rng.integers(3, 25))]
    vocab_docs = [rng.integers(0, V, size=rng.integers(0, 12)).tolist() for _ in range(rng.integers(3, 25))]
    min_n = int(rng.integers(1, 4))
    ngram_range = (min_n, min_n + int(rng.integers(0, 4)))
    min_df = int(rng.integers(1, 3))
    as_str = lambda ds: [[str(t) for t in d] for d in ds]  # noqa: E731
    try:
        ref_train, ref_test, ref_names = recipe(as_str(docs), as_str(vocab_docs), ngram_range, min_df)
    except ValueError:  # scikit-learn: empty vocabulary / "After pruning, no terms remain"; the kit falls back
        vec = NgramTfidfVectorizer(ngram_range=ngram_range, min_df=min_df)
        if not any(vocab_docs) and not any(docs):
            with pytest.raises(DataError, match="every text is empty"):
                vec.fit(docs, vocabulary_from=vocab_docs)
            return
        vec.fit(docs, vocabulary_from=vocab_docs)
        assert vec.n_features_ > 0 and (vec.min_df_, vec.ngram_range_[1]) == (1, ngram_range[1])
        return
    vec = NgramTfidfVectorizer(ngram_range=ngram_range, min_df=min_df, chunk_docs=int(rng.integers(1, 6)))
    X_train = vec.fit_transform(docs, vocabulary_from=vocab_docs)
    names = vec.get_feature_names_out()
    assert_same(aligned(X_train, names, ref_names), ref_train)
    assert_same(aligned(vec.transform(vocab_docs), names, ref_names), ref_test)


# ---- exactness of the integer keys ---------------------------------------------------------------------------
@pytest.mark.parametrize("vocab_size", [None, 2**40])
def test_large_ids_and_high_orders_are_exact(vocab_size):
    """Ids near 2**16 (and an id space of 2**40, beyond the dense order-1 table) with 7-grams: no overflow."""
    rng = np.random.default_rng(7)
    alphabet = np.array([65535, 65534, 65533, 65531, 70001, 2**20 + 3, 5], dtype=np.int64)
    docs = [alphabet[rng.integers(0, len(alphabet), size=rng.integers(0, 40))].tolist() for _ in range(60)]
    train, test = docs[:40], docs[40:]
    as_str = lambda ds: [[str(t) for t in d] for d in ds]  # noqa: E731
    ref_train, ref_test, ref_names = recipe(as_str(train), as_str(test), ngram_range=(3, 7))
    vec = NgramTfidfVectorizer(ngram_range=(3, 7), vocab_size=vocab_size)
    X_train = vec.fit_transform(train, vocabulary_from=test)
    names = vec.get_feature_names_out()
    assert_same(aligned(X_train, names, ref_names), ref_train)
    assert_same(aligned(vec.transform(test), names, ref_names), ref_test)
    assert vec.vocab_size_ == (vocab_size or 2**20 + 4)
    # keys are the ids as base-V digits up to this order, prefix-rank based above it: both paths are exercised
    assert vec.direct_order_ == (1 if vocab_size else 3)
    for order, keys in vec.ngram_keys_.items():
        assert keys.dtype == np.int64 and np.all(np.diff(keys) > 0) and keys.min() >= 0
    # every column decodes back to a distinct id tuple (keys are collision free)
    tuples = [tuple(row) for ids in vec.get_feature_ids().values() for row in ids.tolist()]
    assert len(set(tuples)) == len(tuples) == vec.n_features_


def test_unknown_ids_at_transform_are_ignored():
    vec = NgramTfidfVectorizer(ngram_range=(1, 2)).fit([[1, 2, 3, 1, 2]])
    assert vec.vocab_size_ == 4
    X = vec.count_matrix([[1, 2, 99, 1, 2, 3], [99, 99, 99]]).toarray()
    names = list(vec.get_feature_names_out())
    row = dict(zip(names, X[0]))
    assert row == {"1": 2, "2": 2, "3": 1, "1 2": 2, "2 3": 1, "3 1": 0}
    assert X[1].sum() == 0


# ---- chunking, edge cases, errors ----------------------------------------------------------------------------
def test_chunk_size_does_not_change_the_matrix(corpus):
    small = NgramTfidfVectorizer(chunk_docs=1).fit_transform(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    large = NgramTfidfVectorizer(chunk_docs=10_000).fit_transform(
        corpus["train_ids"], vocabulary_from=corpus["test_ids"]
    )
    assert small.shape == large.shape and small.nnz == large.nnz
    np.testing.assert_array_equal(small.indptr, large.indptr)
    np.testing.assert_array_equal(small.indices, large.indices)
    np.testing.assert_array_equal(small.data, large.data)
    assert small.has_sorted_indices


def test_threads_do_not_change_the_matrices(corpus):
    def both(n_jobs):
        vec = NgramTfidfVectorizer(chunk_docs=2, n_jobs=n_jobs)
        return vec.fit_transform_both(corpus["train_ids"], vocabulary_from=corpus["test_ids"])

    for serial, threaded in zip(both(None), both(3)):
        np.testing.assert_array_equal(serial.indptr, threaded.indptr)
        np.testing.assert_array_equal(serial.indices, threaded.indices)
        np.testing.assert_array_equal(serial.data, threaded.data)


def test_row_blocks_cap_rows_and_values():
    indptr = np.array([0, 5, 5, 12, 20, 21])
    assert row_blocks(indptr, max_values=6, max_rows=10) == [(0, 2), (2, 3), (3, 5)]
    assert row_blocks(indptr, max_values=100, max_rows=2) == [(0, 2), (2, 4), (4, 5)]
    assert row_blocks(indptr + 7, max_values=6, max_rows=10) == [(0, 2), (2, 3), (3, 5)]  # offsets of a slice
    assert row_blocks(np.array([0]), 4, 4) == []
    blocks = row_blocks(np.cumsum(np.r_[0, np.random.default_rng(0).integers(0, 50, 1000)]), 300, 64)
    assert blocks[0][0] == 0 and blocks[-1][1] == 1000
    assert all(a < b and b - a <= 64 for a, b in blocks) and all(b[1] == c[0] for b, c in zip(blocks, blocks[1:]))


def test_empty_and_short_documents_give_zero_rows():
    vec = NgramTfidfVectorizer()
    X = vec.fit_transform([[], [4], [4, 5], [4, 5, 6], [4, 5, 6, 7, 8, 9]], vocabulary_from=[[4, 5, 6, 7]])
    assert X.shape == (5, 3)  # 4 5 6, 5 6 7, 4 5 6 7
    np.testing.assert_array_equal(np.diff(X.indptr), [0, 0, 0, 1, 3])
    np.testing.assert_allclose(np.sqrt(X.multiply(X).sum(axis=1)).A1, [0, 0, 0, 1, 1], atol=1e-6)
    assert vec.transform([]).shape == (0, 3)


def test_windows_do_not_cross_document_boundaries():
    vec = NgramTfidfVectorizer(ngram_range=(2, 2)).fit([[1, 2], [3, 4], [2, 3]])
    counts = vec.count_matrix(EncodedCorpus.from_sequences([[1, 2], [3, 4]])).toarray()
    names = list(vec.get_feature_names_out())
    assert dict(zip(names, counts.sum(axis=0))) == {"1 2": 1, "3 4": 1, "2 3": 0}


def test_no_ngram_of_the_orders_falls_back_to_shorter_ngrams(caplog):
    """Texts of one or two tokens have no 3-gram: the vocabulary falls back to the orders that exist."""
    vocab_docs = [[1], [], [7]]
    with caplog.at_level(logging.WARNING, logger="daigt"):
        vec = NgramTfidfVectorizer()
        X, T = vec.fit_transform_both([[1, 2, 3], [7, 7]], vocabulary_from=vocab_docs)
    assert "no n-gram of order 3..5" in caplog.text and "no n-gram of order 2..5" in caplog.text
    assert vec.ngram_range_ == (1, 5) and vec.ngram_range == (3, 5)
    assert sorted(vec.get_feature_names_out()) == ["1", "7"]
    assert X.shape == (2, 2) and T.shape == (3, 2) and T[1].nnz == 0
    assert_same(T, vec.transform(vocab_docs))


def test_vocabulary_documents_without_tokens_use_the_training_vocabulary(caplog):
    with caplog.at_level(logging.WARNING, logger="daigt"):
        vec = NgramTfidfVectorizer(ngram_range=(1, 2))
        X, T = vec.fit_transform_both([[1, 2, 3], [3, 4]], vocabulary_from=[[], []])
    assert "learning the vocabulary from the 2 other documents" in caplog.text
    assert X.shape[1] == vec.n_features_ > 0 and T.shape == (2, vec.n_features_) and T.nnz == 0
    with pytest.raises(DataError, match="every text is empty after cleaning"):
        NgramTfidfVectorizer().fit_transform_both([[], []], vocabulary_from=[[]])


def test_placeholder_test_set_with_min_df_2(caplog):
    """Kaggle's commit run: 3 unrelated test essays and min_df=2 crash the recipe ("After pruning, no terms
    remain"); here min_df is relaxed to 1 with a warning."""
    three = [[10, 11, 12, 13], [20, 21, 22, 23], [30, 31, 32, 33]]
    with caplog.at_level(logging.WARNING, logger="daigt"):
        vec = NgramTfidfVectorizer(min_df=2)
        X = vec.fit(three, vocabulary_from=three).transform(three)
    assert "no n-gram of order 3..5 occurs in >= 2 of the 3 vocabulary documents" in caplog.text
    assert vec.min_df_ == 1 and vec.ngram_range_ == (3, 5)
    assert_same(X, NgramTfidfVectorizer(min_df=1).fit(three, vocabulary_from=three).transform(three))
    with pytest.raises(ValueError, match="After pruning"):  # the behaviour we replace
        TfidfVectorizer(min_df=2, ngram_range=(3, 5), tokenizer=_identity, preprocessor=_identity,
                        token_pattern=None, lowercase=False).fit([[str(t) for t in d] for d in three])


def test_min_df_above_document_count_falls_back_to_one(caplog):
    docs = [[1, 2, 3, 4], [1, 2, 3, 5]]
    with caplog.at_level(logging.WARNING, logger="daigt"):
        vec = NgramTfidfVectorizer(min_df=5).fit(docs)
    assert "min_df=5 exceeds the 2 vocabulary document(s)" in caplog.text
    assert vec.min_df_ == 1 and vec.min_df == 5
    expected = NgramTfidfVectorizer(min_df=1).fit(docs)
    assert list(vec.get_feature_names_out()) == list(expected.get_feature_names_out())


@pytest.mark.parametrize(
    "params, message",
    [
        ({"ngram_range": (0, 2)}, "ngram_range"),
        ({"ngram_range": (3, 2)}, "ngram_range"),
        ({"min_df": -1}, "min_df"),
        ({"max_df": 1.5}, "max_df"),
        ({"norm": "l3"}, "norm"),
        ({"chunk_docs": 0}, "chunk_docs"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"dtype": np.int32}, "dtype"),
        ({"vocab_size": 3}, "vocab_size"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        NgramTfidfVectorizer(**params).fit([[1, 2, 3, 4, 5], [1, 2, 3, 4]])


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="document 1 holds a negative token id"):
        NgramTfidfVectorizer().fit([[1, 2, 3], [4, -5, 6]])
    with pytest.raises(TypeError, match="EncodedCorpus or a list of token-id sequences"):
        NgramTfidfVectorizer().fit("some text")
    with pytest.raises(NotFittedError):
        NgramTfidfVectorizer().transform([[1, 2, 3]])


def test_list_input_equals_encoded_corpus(corpus):
    as_lists = [corpus["train_ids"][i].tolist() for i in range(len(corpus["train_ids"]))]
    vec = NgramTfidfVectorizer().fit(corpus["train_ids"], vocabulary_from=corpus["test_ids"])
    assert (vec.transform(as_lists) != vec.transform(corpus["train_ids"])).nnz == 0


# ---- estimator conventions -----------------------------------------------------------------------------------
def test_deterministic_and_picklable(corpus):
    a, b = (NgramTfidfVectorizer(min_df=2).fit(corpus["train_ids"], vocabulary_from=corpus["test_ids"]) for _ in "ab")
    Xa, Xb = a.transform(corpus["test_ids"]), b.transform(corpus["test_ids"])
    assert (Xa != Xb).nnz == 0
    np.testing.assert_array_equal(a.idf_, b.idf_)
    restored = pickle.loads(pickle.dumps(a))
    assert "_lookup_cache" not in restored.__dict__
    assert (restored.transform(corpus["test_ids"]) != Xa).nnz == 0


def test_clone_and_params():
    vec = NgramTfidfVectorizer(ngram_range=(3, 7), min_df=2, chunk_docs=128)
    params = vec.get_params()
    assert params["ngram_range"] == (3, 7) and params["min_df"] == 2 and params["chunk_docs"] == 128
    vec.fit([[1, 2, 3, 4], [1, 2, 3, 4, 5]])
    copy = clone(vec)
    assert copy.get_params() == params
    assert not hasattr(copy, "idf_") and hasattr(vec, "idf_")
    assert vec.get_params() == params  # fit never mutates parameters
    copy.set_params(min_df=1)
    assert copy.min_df == 1 and vec.min_df == 2


def test_ngram_coverage_is_the_share_of_mass_on_ngrams_the_reference_has():
    from daigt.features import ngram_coverage

    X = sp.csr_matrix(np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.0, 0.75, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    reference = sp.csr_matrix(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]))
    np.testing.assert_allclose(ngram_coverage(X, reference), [1.0, 0.25, 0.0])
    np.testing.assert_allclose(ngram_coverage(X, X), [1.0, 1.0, 0.0])


def test_word_bigram_coverage_counts_distinct_word_pairs_alike_on_both_sides():
    from daigt.features import ngram_coverage, word_bigram_sets

    reference = word_bigram_sets(["The cat sat on the mat.", "A dog ran home"])
    rows = word_bigram_sets(["the cat sat on a sofa", "the cat the cat the cat", "Hello"])
    np.testing.assert_allclose(ngram_coverage(rows, reference), [3 / 5, 1 / 2, 0.0])
