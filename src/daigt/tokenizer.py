"""Byte-level BPE trained at run time, and the compact id corpus it produces.

Training the tokenizer on the test essays is the trick behind the public recipe: merges follow the test
distribution (including its typos), so n-grams over its tokens capture what is frequent *there*.
The encoded corpus is kept as one flat ``int32`` array plus offsets instead of lists of strings: that is
~4 bytes per token instead of ~60, and lets the featurizer work on whole arrays at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from daigt.config import TokenizerConfig

_NORMALIZERS = ("nfc", "nfkc", "none")


def ensure_tokenizers_parallelism() -> str:
    """Set ``TOKENIZERS_PARALLELISM`` explicitly (keeping a user's choice).

    Left unset, ``tokenizers`` silently turns its thread pool off after a fork (joblib, DataLoader workers)
    and warns; set explicitly, encoding stays parallel in this process and nothing deadlocks in children,
    which never encode.
    """
    return os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


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

    def subset(self, rows: np.ndarray | Sequence[int]) -> EncodedCorpus:
        return EncodedCorpus.from_sequences(self[int(i)] for i in rows)

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
        vocab_size: int = 30522,
        min_frequency: int = 0,
        lowercase: bool = False,
        normalizer: str = "nfc",
        special_tokens: tuple[str, ...] = ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"),
        batch_size: int = 1024,
        show_progress: bool = True,
    ):
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.normalizer = normalizer
        self.special_tokens = special_tokens
        self.batch_size = batch_size
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
        """Token ids of every text, encoded in parallel batches (no special tokens added)."""
        self._check_fitted()
        ensure_tokenizers_parallelism()
        parts = []
        with tqdm(total=len(texts), desc=desc, unit="doc", disable=not self.show_progress, leave=False) as bar:
            for batch in _batches(texts, self.batch_size):
                encodings = self.tokenizer_.encode_batch(batch, add_special_tokens=False)
                parts.append(EncodedCorpus.from_sequences(e.ids for e in encodings))
                bar.update(len(batch))
        return EncodedCorpus.concatenate(parts)

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Token strings, as the public recipe fed them to ``TfidfVectorizer``."""
        self._check_fitted()
        return [e.tokens for e in self.tokenizer_.encode_batch(list(texts), add_special_tokens=False)]

    def id_to_token(self, token_id: int) -> str:
        self._check_fitted()
        return self.tokenizer_.id_to_token(int(token_id))

    @property
    def vocab_size_(self) -> int:
        self._check_fitted()
        return self.tokenizer_.get_vocab_size()

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
        return ("vocab_size", "min_frequency", "lowercase", "normalizer", "special_tokens", "batch_size", "show_progress")

    def _check_fitted(self) -> None:
        if not hasattr(self, "tokenizer_"):
            raise RuntimeError("BPETokenizer is not fitted: call fit(texts) or from_pretrained(dir) first")


def _batches(texts: Sequence[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(texts), size):
        yield list(texts[start : start + size])
