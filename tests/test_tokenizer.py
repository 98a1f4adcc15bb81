import numpy as np
import pytest

from daigt.tokenizer import BPETokenizer, EncodedCorpus

TEXTS = [
    "The electoral college is an outdated system that should be abolished.",
    "Cars are a big part of our lives, but limiting car usage has advantages.",
    "In conclusion, the Face on Mars is just a natural landform.",
    "Driverless cars are coming, and they will change how we travel.",
] * 5


def test_fit_is_deterministic_and_round_trips(tmp_path):
    a = BPETokenizer(vocab_size=300, show_progress=False).fit(TEXTS)
    b = BPETokenizer(vocab_size=300, show_progress=False).fit(TEXTS)
    ea, eb = a.encode(TEXTS), b.encode(TEXTS)
    assert np.array_equal(ea.ids, eb.ids) and np.array_equal(ea.offsets, eb.offsets)
    loaded = BPETokenizer.from_pretrained(a.save_pretrained(tmp_path / "tok"))
    assert loaded.get_params() == a.get_params()
    assert np.array_equal(loaded.encode(TEXTS).ids, ea.ids)


def test_encoding_matches_token_strings_and_batches():
    tok = BPETokenizer(vocab_size=300, batch_size=3, show_progress=False).fit(TEXTS)
    enc = tok.encode(TEXTS)
    assert len(enc) == len(TEXTS) and enc.ids.dtype == np.int32
    tokens = tok.tokens(TEXTS)
    for i, toks in enumerate(tokens):
        assert [tok.id_to_token(t) for t in enc[i]] == toks
    assert "[CLS]" not in {t for toks in tokens for t in toks}  # no special tokens added


def test_lowercase_and_nfc_normalisers():
    tok = BPETokenizer(vocab_size=300, lowercase=True, show_progress=False).fit(TEXTS)
    assert tok.tokens(["ELECTORAL"]) == tok.tokens(["electoral"])
    nfc = BPETokenizer(vocab_size=300, show_progress=False).fit(TEXTS + ["caf\u00e9"])
    assert nfc.tokens(["cafe\u0301"]) == nfc.tokens(["caf\u00e9"])
    with pytest.raises(ValueError, match="normalizer"):
        BPETokenizer(normalizer="nfd").fit(TEXTS)


def test_unfitted_tokenizer_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        BPETokenizer().encode(["x"])


def test_encoded_corpus_helpers():
    c = EncodedCorpus.from_sequences([[1, 2, 3], [], [4]])
    assert len(c) == 3 and list(c[0]) == [1, 2, 3] and len(c[1]) == 0 and list(c.lengths) == [3, 0, 1]
    both = EncodedCorpus.concatenate([c, EncodedCorpus.from_sequences([[5, 6]])])
    assert [list(both[i]) for i in range(4)] == [[1, 2, 3], [], [4], [5, 6]]
    with pytest.raises(ValueError):
        EncodedCorpus(np.array([1, 2], np.int32), np.array([0, 1]))


TRICKY = [
    "Plain essay text, with commas; and numbers 1234 or 3.14 — and dashes.",
    "Contractions: it's, don't, we're, I've, I'm, you'll, he'd. CAPS'S too",
    "Whitespace:  two spaces,\ttab,\nnewline\n\n\nparagraphs   \n  trailing  ",
    "Unicode: café naïve coöperate Zürich 東京 😀 emoji, non\u00a0breaking\u00a0spaces, e\u0301 combining",
    "Odd spaces: a\x1cb\x85c \u2003em\u2009thin\u200bzero-width",
    "Specials in text: [CLS] and [MASK] and [UNK] should not break anything",
    "Typos lik thsi and weird CaSiNg, $%^&*() punctuation!!! ???",
    "",
    "   ",
]


@pytest.mark.parametrize("lowercase, normalizer", [(False, "nfc"), (True, "nfkc"), (False, "none")])
def test_word_cache_encoder_gives_the_library_ids(lowercase, normalizer):
    corpus = TEXTS + TRICKY
    fast = BPETokenizer(vocab_size=400, lowercase=lowercase, normalizer=normalizer, batch_size=4,
                        show_progress=False).fit(corpus)
    slow = BPETokenizer(**{**fast.get_params(), "encoder": "tokenizers"})
    slow.tokenizer_ = fast.tokenizer_
    a, b = fast.encode(corpus * 3), slow.encode(corpus * 3)
    assert np.array_equal(a.offsets, b.offsets) and np.array_equal(a.ids, b.ids)


def test_word_cache_check_detects_a_disagreement():
    tok = BPETokenizer(vocab_size=300, show_progress=False).fit(TEXTS)
    good = tok.encode(TEXTS[:2])
    assert tok._agrees_with_library(TEXTS[:2], good)
    tampered = EncodedCorpus(good.ids.copy(), good.offsets)
    tampered.ids[0] += 1
    assert not tok._agrees_with_library(TEXTS[:2], tampered)
    with pytest.raises(ValueError, match="encoder"):
        BPETokenizer(encoder="fast").fit(TEXTS).encode(TEXTS)


def test_bound_runs_splits_long_words_and_cuts_long_blanks():
    from daigt.tokenizer import bound_runs

    assert bound_runs("abcdefghij xy" + " " * 9 + "z", max_run=4) == "abcd efgh ij xy    z"
    assert bound_runs("short words only", max_run=5) == "short words only"


def test_ordinary_essays_are_left_unchanged(sample_train):
    import pandas as pd

    from daigt.tokenizer import bound_runs

    texts = pd.read_csv(sample_train)["text"].tolist()
    assert [bound_runs(t) for t in texts] == texts


def test_a_long_word_is_tokenized_as_its_bounded_form():
    from daigt.tokenizer import MAX_RUN, bound_runs

    long_word = "ab" * (3 * MAX_RUN)
    tok = BPETokenizer(vocab_size=300, show_progress=False).fit(TEXTS + [long_word])
    ids = tok.encode([long_word])[0]
    assert tok.tokenizer_.decode(ids.tolist()) == bound_runs(long_word)
    assert tok.tokens([long_word]) == tok.tokens([bound_runs(long_word)])
