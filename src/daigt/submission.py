"""The submission file: checked against the test set before it is written, and written atomically.

Kaggle scores a malformed submission as an error only after the whole kernel has run (hours on the hidden
test). Checking ids, order and values here turns that into an immediate, explicit failure, and the atomic
write means a failed run leaves any earlier ``submission.csv`` intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from daigt.data import COMPETITION_SLUG, DataError
from daigt.io import write_all_atomic

COLUMNS = ["id", "generated"]
SIDE_SUFFIXES = (".config.toml", ".run.json")


def output_paths(out: str | Path) -> list[Path]:
    """The submission and the side files written beside it (resolved config, run record)."""
    out = Path(out)
    return [out, *(out.with_suffix(suffix) for suffix in SIDE_SUFFIXES)]


def check_output_paths(out: str | Path, inputs: Sequence[str | Path] = ()) -> list[Path]:
    """Refuse, before any work, outputs that could not be written or would overwrite an input of the run.

    ``inputs`` are files or folders (a folder stands for the files in it). The output folder is created if
    needed and a temporary file is created and removed in it: only an actual write proves it writable.
    """
    paths = output_paths(out)
    folders = [d for p in map(Path, inputs) if p.is_dir() for d in (p, p / COMPETITION_SLUG) if d.is_dir()]
    input_files = [*(f for d in folders for f in d.iterdir()), *(p for p in map(Path, inputs) if not p.is_dir())]
    for path in paths:
        role = "--out" if path == paths[0] else f"the side file of --out {paths[0]}"
        if path.is_dir():
            fix = f"pass a file path, e.g. --out {path / 'submission.csv'}" if path == paths[0] else \
                "remove or rename that directory, or choose another --out"
            raise DataError(f"{path}: {role} is a directory. Fix: {fix}.")
        clash = next((f for f in input_files if _same_file(path, f)), None)
        if clash is not None:
            raise DataError(
                f"{path}: {role} is an input file of this run; writing it would destroy the input. "
                "Fix: write the submission elsewhere, e.g. --out runs/submission.csv."
            )
    folder = paths[0].parent
    blocking = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise DataError(
            f"{paths[0]}: cannot create the folder {folder}: {blocking} is a file. Fix: choose another --out path."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".daigt-write-check.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataError(
            f"{paths[0]}: cannot write in the folder {folder} ({exc.strerror}). "
            "Fix: choose a writable --out path, or fix the folder's permissions."
        ) from None
    return paths


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


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


def write_submission(
    submission: pd.DataFrame, path: str | Path, test_ids: Sequence[str], side_files: Mapping[Path, str] | None = None
) -> Path:
    """Validate, then write the submission and its ``side_files`` (path -> text) atomically, all or none."""
    validate_submission(submission, test_ids, where=str(path))
    writers = {Path(path): lambda tmp: submission.to_csv(tmp, index=False, float_format="%.8g")}
    for side, text in (side_files or {}).items():
        writers[Path(side)] = lambda tmp, text=text: tmp.write_text(text, encoding="utf-8")
    return write_all_atomic(writers)[0]


def read_submission(path: str | Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"id": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read the submission ({exc}); write it as CSV with header id,generated") from None


def read_labels(path: str | Path, test_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The true labels of a local dry-run (CSV ``id,generated``, 0/1, both classes, every id of ``test_ids``),
    checked before any work."""
    path = Path(path)
    what = "labels file (--labels)"
    if not path.is_file():
        state = "is a directory" if path.is_dir() else "not found"
        raise DataError(f"{path}: {what} {state}. Fix: pass a CSV file with columns id,generated (0/1).")
    try:
        labels = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc}). Fix: write it as UTF-8 CSV id,generated.") from None
    labels.columns = [str(c).strip() for c in labels.columns]
    missing = [c for c in COLUMNS if c not in labels.columns]
    if missing:
        raise DataError(
            f"{path}: column(s) {missing} missing in the {what}; found {list(labels.columns)}. "
            "Fix: write the header id,generated."
        )
    values = pd.to_numeric(labels["generated"].str.strip(), errors="coerce")
    bad = np.flatnonzero(~values.isin([0, 1]).to_numpy())
    if len(bad):
        row = int(bad[0])
        raise DataError(
            f"{path}: column 'generated', row {row + 1} (CSV line {row + 2}): {labels['generated'].iloc[row]!r} is "
            "not a label. Fix: write 0 (human) or 1 (machine) in every row."
        )
    present = sorted(set(values.astype(int)))
    if len(present) < 2:
        raise DataError(
            f"{path}: column 'generated': every row is {present[0] if present else 'missing'}; an AUC needs both "
            "classes. Fix: pass labels with human (0) and machine (1) essays, or drop --labels."
        )
    labels = pd.DataFrame({"id": labels["id"].astype(str), "generated": values.astype(int)})
    if test_ids is not None:
        missing = sorted(set(map(str, test_ids)) - set(labels["id"]))
        if missing:
            raise DataError(
                f"{path}: column 'id': no label for {len(missing)} test essay(s), e.g. id {missing[0]!r}. "
                "Fix: the labels file must cover every id of test_essays.csv, or drop --labels."
            )
    return labels


def auc_against_labels(submission: pd.DataFrame, labels_path: str | Path, labels: pd.DataFrame | None = None) -> float:
    """ROC AUC of a submission against a CSV ``id,generated`` of true labels (for local dry-runs)."""
    from sklearn.metrics import roc_auc_score

    labels = read_labels(labels_path) if labels is None else labels
    merged = submission.merge(labels, on="id", how="left", suffixes=("", "_true"))
    missing = merged["generated_true"].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{labels_path}: no label for submission id {merged['id'].iloc[row]!r} (submission row {row + 2}); "
            "the labels file must cover every test id"
        )
    if merged["generated_true"].nunique() < 2:
        raise DataError(
            f"{labels_path}: the test essays' labels are all {int(merged['generated_true'].iloc[0])}; an AUC needs "
            "both classes. Fix: pass labels with human (0) and machine (1) test essays, or drop --labels."
        )
    return float(roc_auc_score(merged["generated_true"].astype(int), merged["generated"]))
