"""Byte-level BPE trained at run time, and the compact id corpus it produces.

Training the tokenizer on the test essays is the trick behind the public recipe: merges follow the test
distribution (including its typos), so n-grams over its tokens capture what is frequent *there*.
The encoded corpus is kept as one flat ``int32`` array plus offsets instead of lists of strings: that is
~4 bytes per token instead of ~60, and lets the featurizer work on whole arrays at once.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from daigt.config import TokenizerConfig
from daigt.parallel import ensure_tokenizers_parallelism

log = logging.getLogger("daigt")

_NORMALIZERS = ("nfc", "nfkc", "none")
_ENCODERS = ("word-cache", "tokenizers")

# The GPT-2 split pattern that the ByteLevel pre-tokenizer applies (use_regex=True).
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Characters on which the `regex` package's \s and the Oniguruma \s of `tokenizers` disagree.
_AMBIGUOUS_SPACE = "\x1c\x1d\x1e\x1f\x85"


MAX_RUN = 1000
"""Longest run of non-whitespace (or of whitespace) characters that reaches BPE unchanged; see :func:`bound_runs`."""


def bound_runs(text: str, max_run: int = MAX_RUN) -> str:
    """``text`` with every run of more than ``max_run`` non-whitespace characters split by a space every
    ``max_run`` characters, and every longer run of whitespace cut to ``max_run`` characters.

    BPE training time grows with the square of a pre-token's length (bench/pathological_texts.py: a
    200,000-character "word" takes 25 s to fit, a 2 MB one ran past 15 minutes), and real test sets hold pasted
    URLs, base64 blobs and runs of one key. With this rule no pre-token is longer than ``max_run + 1``
    characters, so the cost of a text grows linearly with its length. The longest run in the embedded sample
    and in every corpus of ../shared/data is 646 characters (same script): ordinary essays pass through
    unchanged, and so do their tokens. The look-behinds make the search start only at the beginning of a run,
    so the scan itself stays linear too.
    """
    if len(text) <= max_run:
        return text
    runs = rf"(?<!\S)\S{{{max_run + 1},}}|(?<!\s)\s{{{max_run + 1},}}"  # each run matched from its first character
    return re.sub(runs, lambda m: _split_run(m.group(), max_run), text)


def _split_run(run: str, max_run: int) -> str:
    if run[0].isspace():
        return run[:max_run]
    return " ".join(run[i : i + max_run] for i in range(0, len(run), max_run))


@dataclass(frozen=True)
class EncodedCorpus:
    """Token ids of many documents: document ``i`` is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or len(self.offsets) == 0 or self.offsets[0] != 0:
            raise ValueError("offsets must be a 1-D array starting at 0")
        if self.offsets[-1] != len(self.ids):
            raise ValueError("offsets[-1] must equal len(ids)")

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence[int]]) -> EncodedCorpus:
        arrays = [np.asarray(s, dtype=np.int32) for s in sequences]
        lengths = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = np.concatenate(arrays) if arrays else np.zeros(0, dtype=np.int32)
        return cls(ids.astype(np.int32, copy=False), offsets)

    @classmethod
    def concatenate(cls, corpora: Sequence[EncodedCorpus]) -> EncodedCorpus:
        ids = np.concatenate([c.ids for c in corpora]) if corpora else np.zeros(0, np.int32)
        offsets, shift = [np.zeros(1, np.int64)], 0
        for c in corpora:
            offsets.append(c.offsets[1:] + shift)
            shift += len(c.ids)
        return cls(ids.astype(np.int32, copy=False), np.concatenate(offsets))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i] : self.offsets[i + 1]]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


class BPETokenizer:
    """Byte-level BPE with ``fit`` / ``encode`` and ``save_pretrained`` / ``from_pretrained``.

    Parameters mirror :class:`daigt.config.TokenizerConfig`; learned state is ``tokenizer_``
    (a ``tokenizers.Tokenizer``).
    """

    def __init__(
        self,
        vocab_size: int = TokenizerConfig.vocab_size,
        min_frequency: int = TokenizerConfig.min_frequency,
        lowercase: bool = TokenizerConfig.lowercase,
        normalizer: str = TokenizerConfig.normalizer,
        special_tokens: tuple[str, ...] = TokenizerConfig.special_tokens,
        batch_size: int = TokenizerConfig.batch_size,
        encoder: str = TokenizerConfig.encoder,
        show_progress: bool = True,
    ):
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.normalizer = normalizer
        self.special_tokens = special_tokens
        self.batch_size = batch_size
        self.encoder = encoder
        self.show_progress = show_progress

    @classmethod
    def from_config(cls, config: TokenizerConfig, show_progress: bool = True) -> BPETokenizer:
        return cls(
            vocab_size=config.vocab_size,
            min_frequency=config.min_frequency,
            lowercase=config.lowercase,
            normalizer=config.normalizer,
            special_tokens=tuple(config.special_tokens),
            batch_size=config.batch_size,
            encoder=config.encoder,
            show_progress=show_progress,
        )

    def _build(self):
        from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

        if self.normalizer not in _NORMALIZERS:
            raise ValueError(f"normalizer must be one of {_NORMALIZERS}, got {self.normalizer!r}")
        steps = {"nfc": [normalizers.NFC()], "nfkc": [normalizers.NFKC()], "none": []}[self.normalizer]
        if self.lowercase:
            steps.append(normalizers.Lowercase())
        tokenizer = Tokenizer(models.BPE(unk_token=self.special_tokens[0] if self.special_tokens else None))
        if steps:
            tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        return tokenizer

    def fit(self, texts: Sequence[str]) -> BPETokenizer:
        from tokenizers import trainers

        ensure_tokenizers_parallelism()
        tokenizer = self._build()
        trainer = trainers.BpeTrainer(
            vocab_size=self.vocab_size,
            min_frequency=self.min_frequency,
            special_tokens=list(self.special_tokens),
            show_progress=False,
        )
        tokenizer.train_from_iterator(_batches(texts, self.batch_size), trainer=trainer, length=len(texts))
        self.tokenizer_ = tokenizer
        return self

    def encode(self, texts: Sequence[str], desc: str = "encode") -> EncodedCorpus:
        """Token ids of every text (no special tokens added), batch by batch.

        With ``encoder="word-cache"`` each distinct pre-token ("Ġessay", ",") is BPE-encoded once and its ids
        gathered with numpy: essays repeat their words, and splitting + BPE per occurrence is where
        ``tokenizers`` spends its time. The ids are the library's own; the first essays of every batch are
        re-encoded by ``tokenizers`` as a check, and any disagreement switches the rest to ``tokenizers``.
        """
        self._check_fitted()
        if self.encoder not in _ENCODERS:
            raise ValueError(f"encoder must be one of {_ENCODERS}, got {self.encoder!r}")
        ensure_tokenizers_parallelism()
        word_cache = _WordCache(self.tokenizer_) if self.encoder == "word-cache" else None
        parts = []
        with tqdm(total=len(texts), desc=desc, unit="doc", disable=not self.show_progress, leave=False) as bar:
            for batch in _batches(texts, self.batch_size):
                part = word_cache.encode(batch) if word_cache is not None else None
                if part is not None and not self._agrees_with_library(batch[:_CHECK_DOCS], part):
                    log.warning("word-cache encoding disagreed with tokenizers; encoding the rest with tokenizers")
                    word_cache, part = None, None
                if part is None:
                    part = self._encode_with_library(batch)
                parts.append(part)
                bar.update(len(batch))
        return EncodedCorpus.concatenate(parts)

    def _encode_with_library(self, texts: list[str]) -> EncodedCorpus:
        encodings = self.tokenizer_.encode_batch(texts, add_special_tokens=False)
        return EncodedCorpus.from_sequences(e.ids for e in encodings)

    def _agrees_with_library(self, texts: list[str], part: EncodedCorpus) -> bool:
        reference = self._encode_with_library(texts)
        return all(np.array_equal(reference[i], part[i]) for i in range(len(texts)))

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings, as the public recipe fed them to ``TfidfVectorizer``."""
        self._check_fitted()
        bounded = [bound_runs(t) for t in texts]
        return [e.tokens for e in self.tokenizer_.encode_batch(bounded, add_special_tokens=False)]

    def id_to_token(self, token_id: int) -> str:
        self._check_fitted()
        return self.tokenizer_.id_to_token(int(token_id))

    def save_pretrained(self, directory: str | Path) -> Path:
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer_.save(str(directory / "tokenizer.json"))
        params = {k: getattr(self, k) for k in self._param_names()}
        (directory / "daigt_tokenizer.json").write_text(json.dumps(params, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> BPETokenizer:
        from tokenizers import Tokenizer

        directory = Path(directory)
        params = json.loads((directory / "daigt_tokenizer.json").read_text(encoding="utf-8"))
        params["special_tokens"] = tuple(params["special_tokens"])
        self = cls(**params)
        self.tokenizer_ = Tokenizer.from_file(str(directory / "tokenizer.json"))
        return self

    def get_params(self, deep: bool = True) -> dict:
        return {k: getattr(self, k) for k in self._param_names()}

    @staticmethod
    def _param_names() -> tuple[str, ...]:
        return ("vocab_size", "min_frequency", "lowercase", "normalizer", "special_tokens", "batch_size", "encoder",
                "show_progress")

    def _check_fitted(self) -> None:
        if not hasattr(self, "tokenizer_"):
            raise RuntimeError("BPETokenizer is not fitted: call fit(texts) or from_pretrained(dir) first")


_CHECK_DOCS = 4


class _WordCache:
    """Byte-level BPE with one BPE run per distinct pre-token, shared across batches.

    Splits with the same GPT-2 pattern as the ByteLevel pre-tokenizer (via the ``regex`` package, which has
    the ``\\p{L}`` classes Python's ``re`` lacks), maps each word to its byte alphabet, BPE-encodes it once
    with the trained model, and gathers every occurrence's ids with one numpy fancy-index. Texts holding a
    special-token string or a whitespace character the two regex engines disagree on go through the
    library itself.
    """

    def __init__(self, tokenizer) -> None:
        import regex

        self.model = tokenizer.model
        self.split = regex.compile(GPT2_SPLIT).findall
        self.normalize = tokenizer.normalizer.normalize_str if tokenizer.normalizer is not None else str
        self.library = tokenizer
        self.specials = [t.content for t in tokenizer.get_added_tokens_decoder().values()]
        self.alphabet = _byte_alphabet()
        self.index: dict[str, int] = {}
        self.lengths = np.zeros(0, dtype=np.int64)  # ids per cached word
        self.flat = np.zeros(0, dtype=np.int32)  # ids of all cached words, back to back

    def encode(self, texts: list[str]) -> EncodedCorpus:
        import pandas as pd

        words: list[str] = []
        counts = np.zeros(len(texts), dtype=np.int64)
        fallback: dict[int, list[int]] = {}
        for i, text in enumerate(texts):
            if any(c in text for c in _AMBIGUOUS_SPACE) or any(t in text for t in self.specials):
                fallback[i] = self.library.encode(text, add_special_tokens=False).ids
                continue
            found = self.split(self.normalize(text))
            words.extend(found)
            counts[i] = len(found)
        codes, uniques = pd.factorize(pd.Series(words, dtype=object), sort=False)
        del words
        codes = self._word_numbers(uniques)[codes]
        lengths, flat = self.lengths, self.flat
        starts = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        occurrence_lengths = lengths[codes]
        ends = np.cumsum(occurrence_lengths)
        gather = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(starts[codes] - (ends - occurrence_lengths), occurrence_lengths)
        offsets = np.concatenate([[0], ends])[np.concatenate([[0], np.cumsum(counts)])]
        part = EncodedCorpus(flat[gather], offsets.astype(np.int64))
        if fallback:
            part = EncodedCorpus.from_sequences(fallback[i] if i in fallback else part[i] for i in range(len(texts)))
        return part

    def _word_numbers(self, words) -> np.ndarray:
        """Cache number of every word; words seen for the first time are BPE-encoded and appended (only the
        new ones become array entries, so a batch's cost does not grow with the size of the cache)."""
        numbers = np.empty(len(words), dtype=np.int64)
        new: list[list[int]] = []
        for j, word in enumerate(words):
            number = self.index.get(word)
            if number is None:
                number = self.index[word] = len(self.lengths) + len(new)
                mapped = "".join(self.alphabet[b] for b in word.encode("utf-8"))
                new.append([t.id for t in self.model.tokenize(mapped)])
            numbers[j] = number
        if new:
            self.lengths = np.concatenate([self.lengths, np.fromiter(map(len, new), np.int64, len(new))])
            self.flat = np.concatenate([self.flat, np.fromiter(itertools.chain.from_iterable(new), np.int32)])
        return numbers


def _byte_alphabet() -> list[str]:
    """GPT-2's byte -> printable character table, as byte-level BPE sees its input."""
    printable = {*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1), *range(ord("\u00ae"), ord("\u00ff") + 1)}
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def _batches(texts: Sequence[str], size: int) -> Iterable[list[str]]:
    """Batches of ``texts`` with over-long runs bounded (:func:`bound_runs`): what BPE trains on and encodes."""
    for start in range(0, len(texts), size):
        yield [bound_runs(t) for t in texts[start : start + size]]
