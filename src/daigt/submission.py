"""The submission file: checked against the test set before it is written, and written atomically.

Kaggle scores a malformed submission as an error only after the whole kernel has run (hours on the hidden
test). Checking ids, order and values here turns that into an immediate, explicit failure, and the atomic
write means a failed run leaves any earlier ``submission.csv`` intact.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from daigt.data import DataError
from daigt.io import write_atomic

COLUMNS = ["id", "generated"]


def make_submission(ids: Sequence[str], scores: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": pd.Series(list(ids), dtype=object).astype(str), "generated": np.asarray(scores, float)})


def validate_submission(submission: pd.DataFrame, test_ids: Sequence[str], where: str = "submission") -> None:
    """Raise :class:`DataError` naming the first offending row unless the submission is exactly right.

    Right means: columns ``id,generated``; the test file's ids, each once, in the test file's order; every
    ``generated`` a finite number in [0, 1].
    """
    if list(submission.columns) != COLUMNS:
        raise DataError(
            f"{where}: columns are {list(submission.columns)}, expected {COLUMNS}; write the header 'id,generated'"
        )
    ids = submission["id"].astype(str).to_numpy()
    expected = np.asarray([str(i) for i in test_ids])
    if len(ids) != len(expected):
        raise DataError(
            f"{where}: {len(ids)} rows but the test file has {len(expected)} essays; write one row per test essay"
        )
    mismatch = np.flatnonzero(ids != expected)
    if len(mismatch):
        row = int(mismatch[0])
        raise DataError(
            f"{where}: row {row + 2} (data row {row + 1}), column 'id': {ids[row]!r} where the test file has "
            f"{expected[row]!r}; keep the test file's ids in its order"
        )
    values = pd.to_numeric(submission["generated"], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | (values > 1))
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"{where}: row {row + 2} (id {ids[row]!r}), column 'generated': {submission['generated'].tolist()[row]!r} "
            f"is not a finite number in [0, 1]; clip or fix the scores"
        )


def write_submission(submission: pd.DataFrame, path: str | Path, test_ids: Sequence[str]) -> Path:
    """Validate, then write atomically (temp file + rename)."""
    validate_submission(submission, test_ids, where=str(path))
    return write_atomic(path, lambda tmp: submission.to_csv(tmp, index=False, float_format="%.8g"))


def read_submission(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read the submission ({exc}); write it as CSV with header id,generated") from None


def auc_against_labels(submission: pd.DataFrame, labels_path: str | Path) -> float:
    """ROC AUC of a submission against a CSV ``id,generated`` of true labels (for local dry-runs)."""
    from sklearn.metrics import roc_auc_score

    labels = pd.read_csv(labels_path, dtype={"id": str})
    merged = submission.merge(labels, on="id", how="left", suffixes=("", "_true"))
    missing = merged["generated_true"].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{labels_path}: no label for submission id {merged['id'].iloc[row]!r} (submission row {row + 2}); "
            "the labels file must cover every test id"
        )
    return float(roc_auc_score(merged["generated_true"].astype(int), merged["generated"]))
