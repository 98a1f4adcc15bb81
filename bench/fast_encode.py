"""Prototype: the same token ids as ``BPETokenizer.encode``, with BPE run once per distinct word.

Measured on the generated corpora, ``tokenizers``' byte-level pre-tokenizer (the GPT-2 split regex, run by
Oniguruma) is where encoding spends its time, not BPE: ~3 MB/s per core. Essays repeat their words, so this
prototype splits with the same pattern using the ``regex`` package, BPE-encodes each *distinct* word once with
the trained model, and gathers ids with numpy. It checks itself against ``encode`` (``--check``).

Not wired into the kit: ``daigt/tokenizer.py`` belongs to the lead; this file measures whether it is worth it.

    python bench/fast_encode.py --check /tmp/daigt-bench/5000x1000-seed0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from daigt.tokenizer import BPETokenizer, EncodedCorpus

# GPT-2's split pattern, which tokenizers' ByteLevel pre-tokenizer uses (use_regex=True).
GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# Characters on which Python's \s and Oniguruma's \s disagree; texts holding one go through tokenizers itself.
_AMBIGUOUS_SPACE = "\x1c\x1d\x1e\x1f\x85"


def byte_alphabet() -> list[str]:
    """GPT-2's byte -> printable character table used by byte-level BPE."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1)
    )
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def fast_encode(tokenizer: BPETokenizer, texts: Sequence[str], batch_size: int = 2048) -> EncodedCorpus:
    """Ids equal to ``tokenizer.encode(texts)`` for tokenizers built by ``BPETokenizer`` (byte-level, no prefix).

    Works in batches of ``batch_size`` texts so only one batch of word strings is alive at a time; the
    word -> token ids table grows across batches (distinct words of essays: ~10^5).
    """
    import pandas as pd
    import regex

    raw = tokenizer.tokenizer_
    split = regex.compile(GPT2_SPLIT).findall
    normalize = raw.normalizer.normalize_str if raw.normalizer is not None else (lambda s: s)
    alphabet = byte_alphabet()
    model = raw.model
    # added/special tokens ("[CLS]" ...) are matched in the raw text before pre-tokenization: such texts (rare)
    # go through tokenizers itself
    specials = [t.content for t in raw.get_added_tokens_decoder().values()]
    word_index: dict[str, int] = {}
    pieces: list[list[int]] = []
    parts: list[EncodedCorpus] = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        words: list[str] = []
        n_words = np.empty(len(batch), dtype=np.int64)
        fallback: dict[int, list[int]] = {}
        for i, text in enumerate(batch):
            if any(c in text for c in _AMBIGUOUS_SPACE) or any(t in text for t in specials):
                fallback[i] = raw.encode(text, add_special_tokens=False).ids
                n_words[i] = 0
                continue
            found = split(normalize(text))
            words.extend(found)
            n_words[i] = len(found)
        codes, uniques = pd.factorize(pd.Series(words, dtype=object), sort=False)
        del words
        global_of_unique = np.empty(len(uniques), dtype=np.int64)
        for j, word in enumerate(uniques):
            index = word_index.get(word)
            if index is None:
                index = word_index[word] = len(pieces)
                pieces.append([t.id for t in model.tokenize("".join(alphabet[b] for b in word.encode("utf-8")))])
            global_of_unique[j] = index
        codes = global_of_unique[codes]
        piece_len = np.fromiter((len(p) for p in pieces), np.int64, len(pieces))
        piece_ids = np.fromiter((i for p in pieces for i in p), np.int32, int(piece_len.sum()))
        piece_start = np.concatenate([[0], np.cumsum(piece_len)])[:-1]
        occurrence_len = piece_len[codes]
        occurrence_end = np.cumsum(occurrence_len)
        total = int(occurrence_end[-1]) if len(occurrence_end) else 0
        gather = np.arange(total) + np.repeat(piece_start[codes] - (occurrence_end - occurrence_len), occurrence_len)
        word_bounds = np.concatenate([[0], np.cumsum(n_words)])
        token_bounds = np.concatenate([[0], occurrence_end])[word_bounds]
        part = EncodedCorpus(piece_ids[gather], token_bounds.astype(np.int64))
        if fallback:
            part = EncodedCorpus.from_sequences(fallback[i] if i in fallback else part[i] for i in range(len(batch)))
        parts.append(part)
    return EncodedCorpus.concatenate(parts)


def main(argv: Sequence[str] | None = None) -> int:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", type=Path, required=True, help="corpus dir with train.csv and test.csv")
    args = parser.parse_args(argv)
    train = pd.read_csv(args.check / "train.csv")["text"].astype(str).tolist()
    test = pd.read_csv(args.check / "test.csv")["text"].astype(str).tolist()
    tokenizer = BPETokenizer(show_progress=False).fit(test)
    timings = {}
    for name, fn in (("tokenizers encode", tokenizer.encode), ("fast_encode", lambda t: fast_encode(tokenizer, t))):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(train)
        timings[name] = (time.perf_counter() - wall, time.process_time() - cpu, result)
    (_, _, a), (_, _, b) = timings.values()
    same = np.array_equal(a.ids, b.ids) and np.array_equal(a.offsets, b.offsets)
    for name, (wall, cpu, _) in timings.items():
        print(f"{name:<18} wall {wall:6.2f}s  cpu {cpu:6.2f}s")
    print(f"identical ids: {same} ({len(a.ids)} tokens, {len(a)} documents)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
