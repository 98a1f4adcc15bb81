"""Splitters: each holds out what the hidden test holds out (a prompt, a generator, a corpus, adversarial texts).

CV on the competition's train set was useless because the hidden test asks about *unseen* prompts, generators
and noise. Every splitter here therefore holds out a whole group and trains on the rest, so a score says how the
kit generalises rather than how well it memorises a topic. Folds index rows by position (``df.iloc``) so they
work on any index. The prompt-grouped k-fold is :func:`daigt.folds.prompt_folds`, the split the transformer's
folds and the learned blend use too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from daigt.errors import EvaluationError
from daigt.folds import prompt_folds

log = logging.getLogger("daigt")

REQUIRED_COLUMNS = ("text", "label", "prompt_name", "source", "file")
"""Columns of labelled data as ``daigt.data.read_training_files`` returns it."""


@dataclass(frozen=True)
class Fold:
    """One held-out group: positions (``df.iloc``) of its training and test rows, never overlapping."""

    name: str
    train_idx: np.ndarray
    test_idx: np.ndarray

    def __post_init__(self) -> None:
        if np.intersect1d(self.train_idx, self.test_idx).size:
            raise EvaluationError(f"fold {self.name!r}: train and test rows overlap")
        if len(self.test_idx) == 0 or len(self.train_idx) == 0:
            raise EvaluationError(f"fold {self.name!r}: empty train or test set")


def validate_frame(df: pd.DataFrame, where: str = "data") -> None:
    """Fail early, naming the column and the fix, instead of deep inside a fold."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise EvaluationError(
            f"{where}: missing column(s) {missing}; labelled data needs {list(REQUIRED_COLUMNS)} "
            "(read it with daigt.data.read_training_files)"
        )
    bad = ~df["label"].isin([0, 1])
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise EvaluationError(
            f"{where}: column 'label' row {pos} has {df['label'].iloc[pos]!r}; labels must be 0 (human) or 1 (machine)"
        )


def _labels(df: pd.DataFrame) -> np.ndarray:
    return df["label"].to_numpy(dtype=np.int64)


def column_strings(df: pd.DataFrame, name: str) -> np.ndarray:
    """A column as strings, missing values as "" (prompts, sources and files may be absent in a row)."""
    return df[name].astype("object").where(df[name].notna(), "").astype(str).to_numpy()


def _fold_or_skip(name: str, train: np.ndarray, test: np.ndarray, labels: np.ndarray) -> Fold | None:
    """A fold whose test rows carry one label has no AUC: skip it, loudly, rather than report NaN later."""
    present = np.unique(labels[test])
    if len(present) < 2:
        log.warning("fold %r skipped: its %d test rows all have label %s", name, len(test), present.tolist())
        return None
    if len(train) == 0 or len(np.unique(labels[train])) < 2:
        log.warning("fold %r skipped: its training rows do not contain both labels", name)
        return None
    return Fold(name, np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))


def _complement(n: int, test: np.ndarray) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask)


def prompt_group_kfold(df: pd.DataFrame, n_splits: int = 5, seed: int = 42) -> list[Fold]:
    """K folds with every prompt in exactly one test fold (prompt-disjoint train/test).

    The assignment is :func:`daigt.folds.prompt_folds` (prompts shuffled by ``seed``, dealt largest-first to the
    smallest fold), the same one the transformer's training folds use, so their scores line up row by row.
    """
    validate_frame(df)
    prompts = column_strings(df, "prompt_name")
    n_prompts = len(np.unique(prompts))
    if n_splits < 2 or n_splits > n_prompts:
        raise EvaluationError(f"group-kfold: n_splits={n_splits} must be between 2 and the {n_prompts} prompts")
    assignment = prompt_folds(prompts, n_splits, seed)
    labels, folds = _labels(df), []
    for k in range(n_splits):
        test = np.flatnonzero(assignment == k)
        fold = _fold_or_skip(f"fold{k}", _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def leave_one_prompt_out(
    df: pd.DataFrame, prompts: Sequence[str] | None = None, min_rows: int = 20
) -> list[Fold]:
    """One fold per prompt: test on all its essays, train on every other prompt's.

    ``prompts`` picks which prompts become test folds (all with ``min_rows`` rows by default); training always
    uses every other prompt, so the folds measure transfer to an unseen topic.
    """
    validate_frame(df)
    column = column_strings(df, "prompt_name")
    names, counts = np.unique(column, return_counts=True)
    if prompts is None:
        chosen = [str(n) for n, c in zip(names, counts) if c >= min_rows]
    else:
        unknown = sorted(set(prompts) - set(names.tolist()))
        if unknown:
            raise EvaluationError(
                f"lopo: prompt(s) {unknown} not in column 'prompt_name'; known: {sorted(names.tolist())[:20]}"
            )
        chosen = list(prompts)
    labels, folds = _labels(df), []
    for name in chosen:
        test = np.flatnonzero(column == name)
        fold = _fold_or_skip(name, _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def _human_halves(df: pd.DataFrame, seed: int, by: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """Split human rows in two: (held out for testing, kept for training).

    ``random`` halves every prompt's humans (the test humans share topics with training humans);
    ``prompt`` deals whole prompts to either half, so test humans also write on topics unseen among training
    humans (machine rows on those topics remain in training, so this is not prompt-disjoint overall).
    """
    rng = np.random.default_rng(seed)
    humans = np.flatnonzero(_labels(df) == 0)
    prompts = column_strings(df, "prompt_name")[humans]
    held: list[np.ndarray] = []
    if by == "random":
        for name in np.unique(prompts):
            rows = rng.permutation(humans[prompts == name])
            held.append(rows[: (len(rows) + 1) // 2])
    elif by == "prompt":
        names = rng.permutation(np.unique(prompts))
        target, total = len(humans) / 2, 0
        for name in names:
            if total >= target:
                break
            rows = humans[prompts == name]
            held.append(rows)
            total += len(rows)
    else:
        raise EvaluationError(f"human split {by!r}: expected 'random' or 'prompt'")
    test = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    return test, np.setdiff1d(humans, test)


def leave_one_source_out(
    df: pd.DataFrame,
    seed: int = 42,
    sources: Sequence[str] | None = None,
    min_rows: int = 20,
    human_split: str = "random",
) -> list[Fold]:
    """One fold per generator: can the model catch an LLM it never saw?

    The test set of fold ``s`` is every machine row of source ``s`` plus one fixed half of the human rows
    (seeded; see ``_human_halves``); training is every other generator's rows plus the other human half.
    The human half is the same for all folds, so per-generator AUCs are compared against the same humans.
    """
    validate_frame(df)
    labels = _labels(df)
    source = column_strings(df, "source")
    test_humans, train_humans = _human_halves(df, seed, human_split)
    machine = labels == 1
    names, counts = np.unique(source[machine], return_counts=True)
    chosen = list(sources) if sources is not None else [str(n) for n, c in zip(names, counts) if c >= min_rows]
    unknown = sorted(set(chosen) - set(names.tolist()))
    if unknown:
        raise EvaluationError(f"loso: source(s) {unknown} have no machine rows in column 'source'")
    folds = []
    for name in chosen:
        held = machine & (source == name)
        test = np.concatenate([np.flatnonzero(held), test_humans])
        train = np.concatenate([np.flatnonzero(machine & ~held), train_humans])
        fold = _fold_or_skip(name, train, test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def leave_one_corpus_out(df: pd.DataFrame, corpora: Sequence[str] | None = None) -> list[Fold]:
    """One fold per source file: train on all other corpora, test on this one.

    Corpora with a single label (machine-only collections) are used for training but never as a test fold:
    they have no AUC of their own.
    """
    validate_frame(df)
    files = np.array([Path(f).name for f in column_strings(df, "file")])
    names = [str(n) for n in pd.unique(files)]
    if corpora is not None:
        wanted = {Path(c).name for c in corpora} | {Path(c).stem for c in corpora}
        names = [n for n in names if n in wanted or Path(n).stem in wanted]
        if not names:
            raise EvaluationError(f"lcoo: none of {list(corpora)} is a file in column 'file'")
    labels, folds = _labels(df), []
    for name in names:
        test = np.flatnonzero(files == name)
        fold = _fold_or_skip(Path(name).stem, _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def attack_split(
    df_clean: pd.DataFrame, df_attack: pd.DataFrame, seed: int = 42, human_split: str = "random"
) -> tuple[pd.DataFrame, list[Fold]]:
    """Adversarial robustness: does the model still catch paraphrased / detector-evading texts?

    Returns the two frames stacked (clean rows first) and one fold: training is the clean rows minus half of
    the human essays; the test is that held-out human half plus every attack row. Attack rows never reach
    training, and the held-out humans make the test scoreable.
    """
    validate_frame(df_clean, "clean data")
    validate_frame(df_attack, "attack data")
    if (df_attack["label"] != 1).any():
        raise EvaluationError("attack data: column 'label' must be 1 for every attack row (they are machine texts)")
    combined = pd.concat([df_clean, df_attack], ignore_index=True)
    test_humans, train_humans = _human_halves(df_clean.reset_index(drop=True), seed, human_split)
    machine_clean = np.flatnonzero(_labels(df_clean) == 1)
    attacks = np.arange(len(df_clean), len(combined))
    train = np.concatenate([machine_clean, train_humans])
    test = np.concatenate([test_humans, attacks])
    fold = _fold_or_skip("attack", train, test, _labels(combined))
    return combined, [fold] if fold is not None else []

