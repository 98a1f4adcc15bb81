"""Labelled essays for the transformer track, read and cleaned exactly like the TF-IDF track's. Torch-free."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from daigt.data import DataError, check_trainable, normalize_texts, read_training_files, sample_rows


def load_labelled(
    paths: Sequence[str | Path], strip_anonymisation: bool = True, max_rows: int = 0, seed: int = 42
) -> pd.DataFrame:
    """Columns ``text,label,prompt_name,source,file``; de-duplicated, NFC-normalised, both labels present."""
    if not paths:
        raise DataError("train-transformer: no training files given; pass --train FILE [FILE ...] (text,label,prompt_name,source)")
    frame = read_training_files(list(paths), dedupe=True)
    check_trainable(frame)
    unknown = frame["prompt_name"].astype(str).isin(["", "unknown", "nan"])
    if bool(unknown.all()):
        raise DataError(
            f"training data from {sorted(frame['file'].unique())}: column 'prompt_name' is missing or empty in every row; "
            "prompt-grouped folds need it. Fix: add a prompt_name column (the essay prompt or topic)."
        )
    frame = sample_rows(frame, max_rows, seed=seed) if max_rows else frame
    frame = frame.assign(text=normalize_texts(frame["text"], nfc=True, strip_anonymisation=strip_anonymisation))
    return frame.reset_index(drop=True)
