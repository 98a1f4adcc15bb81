"""Prompt-grouped folds: the honest estimate for a test set written for prompts the model never saw.

The competition's shake-up came from models that fitted the public prompts; validating on held-out prompts is
what predicts the private score. Torch-free.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def assign_prompt_folds(
    prompts: Sequence[str], labels: Sequence[int], n_folds: int, seed: int = 42
) -> np.ndarray:
    """Fold number per row such that every prompt lies in exactly one fold.

    Uses scikit-learn's StratifiedGroupKFold (groups = prompts), which also balances the label ratio across
    folds. Every validation fold must contain both labels, or its AUC is undefined; the error names the prompts.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    prompts_arr = np.asarray([str(p) for p in prompts], dtype=object)
    labels_arr = np.asarray(labels).astype(int)
    if len(prompts_arr) != len(labels_arr):
        raise ValueError(f"assign_prompt_folds: {len(prompts_arr)} prompts but {len(labels_arr)} labels")
    n_prompts = len(set(prompts_arr.tolist()))
    if n_prompts < n_folds:
        raise ValueError(
            f"assign_prompt_folds: only {n_prompts} distinct prompt_name values for {n_folds} prompt-grouped folds; "
            f"use --n-folds {max(n_prompts, 2)} or fewer, or add training files with more prompts"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = np.full(len(labels_arr), -1, dtype=np.int64)
    for fold, (_, valid_idx) in enumerate(splitter.split(np.zeros(len(labels_arr)), labels_arr, groups=prompts_arr)):
        folds[valid_idx] = fold
    for fold in range(n_folds):
        in_fold = folds == fold
        if len(set(labels_arr[in_fold].tolist())) < 2:
            names = sorted(set(prompts_arr[in_fold].tolist()))
            raise ValueError(
                f"assign_prompt_folds: validation fold {fold} (prompts {names[:8]}{' ...' if len(names) > 8 else ''}) "
                f"holds only label {labels_arr[in_fold][0]}, so its AUC is undefined; use fewer folds, another --seed, "
                "or training files whose prompts contain both human and machine essays"
            )
    return folds
