"""Kaggle-scale train/test corpora, deterministically recombined from the essays in ../shared/data.

The public data in ``shared/data`` holds ~11k essays; the competition's setting is ~45k training essays (DAIGT
v2) and ~9k test essays. A new essay here takes the label, source and prompt of a randomly drawn *seed* essay
and is assembled from runs of consecutive sentences of essays with that same label, source and prompt (or, for
groups with fewer than ``MIN_GROUP`` essays, the same label and source), until it reaches the seed essay's
length. Source essays are split once into disjoint train and test pools, so no test sentence occurs in train.
A small rate of character-level typos keeps the n-gram vocabulary growing with the corpus as real essays do
(recombined sentences alone would repeat the same n-grams and understate vocabulary size and memory).

    python bench/make_corpus.py --train 45000 --test 9000 --seed 0 --out /tmp/daigt-bench/45000x9000
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from daigt.io import write_atomic, write_text_atomic

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MIN_GROUP = 4
TEST_FRACTION = 0.2
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Essay:
    label: int
    source: str
    prompt_name: str
    paragraphs: tuple[tuple[str, ...], ...]
    n_words: int

    @property
    def sentences(self) -> list[str]:
        return [s for p in self.paragraphs for s in p]


def read_sources(data_dir: Path) -> pd.DataFrame:
    """All essays of ``data_dir/*.csv`` (columns text, label, prompt_name, source), exact duplicates dropped."""
    files = sorted(data_dir.glob("*.csv"))
    if not files:
        raise SystemExit(f"{data_dir}: no *.csv files; pass --data DIR holding the shared training CSVs")
    frames = []
    for path in files:
        frame = pd.read_csv(path, dtype={"text": str, "prompt_name": str, "source": str})
        missing = {"text", "label", "prompt_name", "source"} - set(frame.columns)
        if missing:
            raise SystemExit(f"{path}: missing column(s) {sorted(missing)}")
        frames.append(frame[["text", "label", "prompt_name", "source"]])
    frame = pd.concat(frames, ignore_index=True).dropna(subset=["text"])
    return frame.drop_duplicates(subset="text").reset_index(drop=True)


def split_essay(text: str) -> tuple[tuple[str, ...], ...]:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return tuple(tuple(s for s in _SENTENCE_END.split(" ".join(p.split())) if s) for p in paragraphs)


def to_essays(frame: pd.DataFrame) -> list[Essay]:
    essays = []
    for text, label, prompt, source in frame[["text", "label", "prompt_name", "source"]].itertuples(index=False):
        paragraphs = split_essay(str(text))
        if paragraphs:
            essays.append(Essay(int(label), str(source), str(prompt), paragraphs, len(str(text).split())))
    return essays


def donor_groups(essays: Sequence[Essay]) -> list[np.ndarray]:
    """For every essay, the indices of essays it may borrow sentences from (itself included)."""
    by_prompt: dict[tuple, list[int]] = {}
    by_source: dict[tuple, list[int]] = {}
    for i, e in enumerate(essays):
        by_prompt.setdefault((e.label, e.source, e.prompt_name), []).append(i)
        by_source.setdefault((e.label, e.source), []).append(i)
    groups = []
    for e in essays:
        members = by_prompt[(e.label, e.source, e.prompt_name)]
        if len(members) < MIN_GROUP:
            members = by_source[(e.label, e.source)]
        groups.append(np.asarray(members))
    return groups


def add_typos(sentence: str, rate: float, rng: np.random.Generator) -> str:
    if rate <= 0:
        return sentence
    words = sentence.split(" ")
    hits = np.flatnonzero(rng.random(len(words)) < rate)
    for i in hits:
        w = words[i]
        if len(w) < 3:
            continue
        j = int(rng.integers(1, len(w) - 1))
        kind = int(rng.integers(3))
        if kind == 0:  # swap two letters
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        elif kind == 1:  # drop a letter
            w = w[:j] + w[j + 1 :]
        else:  # substitute a letter
            w = w[:j] + _LETTERS[int(rng.integers(26))] + w[j + 1 :]
        words[i] = w
    return " ".join(words)


def recombine(
    essays: Sequence[Essay], groups: Sequence[np.ndarray], n: int, rng: np.random.Generator, typo_rate: float
) -> pd.DataFrame:
    rows = []
    seeds = rng.integers(0, len(essays), size=n)
    for seed_index in seeds:
        seed = essays[int(seed_index)]
        target = max(seed.n_words, 120)
        group = groups[int(seed_index)]
        paragraphs: list[list[str]] = [[]]
        words = 0
        while words < target:
            donor = essays[int(group[rng.integers(len(group))])].sentences
            start = int(rng.integers(len(donor)))
            run = donor[start : start + int(rng.integers(1, 5))]
            for sentence in run:
                paragraphs[-1].append(add_typos(sentence, typo_rate, rng))
                words += sentence.count(" ") + 1
            if rng.random() < 0.3 and words < target:
                paragraphs.append([])
        text = "\n\n".join(" ".join(p) for p in paragraphs if p)
        rows.append((text, seed.label, seed.prompt_name, seed.source))
    return pd.DataFrame(rows, columns=["text", "label", "prompt_name", "source"])


def split_pools(essays: Sequence[Essay], rng: np.random.Generator) -> tuple[list[Essay], list[Essay]]:
    """Disjoint train/test source essays (a test fraction of every label/source/prompt group of >= 2 essays)."""
    keys: dict[tuple, list[int]] = {}
    for i, e in enumerate(essays):
        keys.setdefault((e.label, e.source, e.prompt_name), []).append(i)
    test = set()
    for key in sorted(keys, key=str):
        members = keys[key]
        if len(members) >= 2:
            k = max(1, int(round(TEST_FRACTION * len(members))))
            test.update(int(i) for i in rng.choice(members, size=k, replace=False))
    return [e for i, e in enumerate(essays) if i not in test], [e for i, e in enumerate(essays) if i in test]


def make_corpus(data_dir: Path, n_train: int, n_test: int, seed: int, typo_rate: float = 0.01):
    """``(train, test)`` frames; the same arguments always give the same texts."""
    essays = to_essays(read_sources(data_dir))
    pool_rng, train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    train_pool, test_pool = split_pools(essays, pool_rng)
    train = recombine(train_pool, donor_groups(train_pool), n_train, train_rng, typo_rate)
    test = recombine(test_pool, donor_groups(test_pool), n_test, test_rng, typo_rate)
    test.insert(0, "id", [f"t{i:06d}" for i in range(len(test))])
    return train, test


def write_corpus(out: Path, train: pd.DataFrame, test: pd.DataFrame, meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "train.csv", lambda tmp: train.to_csv(tmp, index=False))
    write_atomic(out / "test.csv", lambda tmp: test.to_csv(tmp, index=False))
    meta = dict(meta, train_rows=len(train), test_rows=len(test),
                mean_words_train=round(float(train["text"].str.split().str.len().mean()), 1),
                mean_words_test=round(float(test["text"].str.split().str.len().mean()), 1),
                train_label_1=int(train["label"].sum()), test_label_1=int(test["label"].sum()))
    write_text_atomic(out / "meta.json", json.dumps(meta, indent=2) + "\n")


def ensure_corpus(out: Path, n_train: int, n_test: int, seed: int, data_dir: Path = DEFAULT_DATA,
                  typo_rate: float = 0.01) -> Path:
    """Generate ``out`` unless it already holds a corpus made with the same arguments."""
    meta = {"train": n_train, "test": n_test, "seed": seed, "typo_rate": typo_rate, "data": str(data_dir)}
    meta_path = out / "meta.json"
    if meta_path.exists():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if all(old.get(k) == v for k, v in meta.items()) and (out / "train.csv").exists():
            return out
    train, test = make_corpus(data_dir, n_train, n_test, seed, typo_rate)
    write_corpus(out, train, test, meta)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, required=True, help="training essays to generate")
    parser.add_argument("--test", type=int, required=True, help="test essays to generate (labels included)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="directory for train.csv, test.csv, meta.json")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"source CSVs (default {DEFAULT_DATA})")
    parser.add_argument("--typo-rate", type=float, default=0.01, help="fraction of words given a typo")
    args = parser.parse_args(argv)
    out = ensure_corpus(args.out, args.train, args.test, args.seed, args.data, args.typo_rate)
    print((out / "meta.json").read_text(encoding="utf-8"), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
