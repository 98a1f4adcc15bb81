"""The one prompt-grouped fold assignment of the kit: CV, transformer training, stacking and the LM member.

The hidden test asks about prompts the model never saw, so every held-out estimate keeps each prompt in exactly
one fold. One assignment for all of them means the cross-validated AUCs, the transformer's out-of-fold
predictions and a learned blend's out-of-fold scores describe the same splits of the same rows, and can be
compared or stacked row by row. Imports only numpy: every layer may use it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from daigt.errors import FoldError


def prompt_folds(
    prompts: Sequence | np.ndarray, n_folds: int, seed: int = 42, labels: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Fold number (0..n_folds-1) per row, every prompt in exactly one fold.

    Prompts are shuffled by ``seed`` and dealt largest-first to the currently smallest fold, so folds are
    balanced in rows and the split is reproducible. With ``labels`` every fold must hold both labels (a
    validation fold of one label has no AUC): the error names the fold's prompts.
    """
    groups = np.asarray(prompts).astype(str)
    names, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
    if not 2 <= n_folds <= len(names):
        raise FoldError(
            f"prompt folds: only {len(names)} distinct prompt_name values for {n_folds} prompt-grouped folds; "
            f"use between 2 and {len(names)} folds, or add training files with more prompts"
        )
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes, fold_of = np.zeros(n_folds, np.int64), np.zeros(len(names), np.int64)
    for i in order:
        k = int(np.argmin(sizes))
        fold_of[i], sizes[k] = k, sizes[k] + counts[i]
    folds = fold_of[inverse.reshape(-1)]
    if labels is not None:
        _require_both_labels(folds, np.asarray(labels).astype(int), groups)
    return folds


def _require_both_labels(folds: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> None:
    if len(labels) != len(folds):
        raise FoldError(f"prompt folds: {len(folds)} prompts but {len(labels)} labels")
    for k in np.unique(folds):
        in_fold = folds == k
        if len(np.unique(labels[in_fold])) < 2:
            names = sorted(set(groups[in_fold].tolist()))
            raise FoldError(
                f"prompt folds: validation fold {k} (prompts {names[:8]}{' ...' if len(names) > 8 else ''}) holds "
                f"only label {labels[in_fold][0]}, so its AUC is undefined; use fewer folds, another seed, or "
                "training files whose prompts contain both human and machine essays"
            )


def group_folds(n: int, groups: Sequence | None, n_folds: int, seed: int) -> np.ndarray:
    """Fold number per row for cross-fitting (a learned blend, the LM member): :func:`prompt_folds` when there
    are at least ``n_folds`` groups, else rows dealt at random (not prompt-disjoint, which the caller logs)."""
    if groups is not None and len(np.unique(np.asarray(groups).astype(str))) >= n_folds:
        return prompt_folds(groups, n_folds, seed)
    return np.random.default_rng(seed).permutation(n) % n_folds
