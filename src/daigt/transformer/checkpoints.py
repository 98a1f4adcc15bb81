"""Where fine-tuned checkpoints live on disk. Torch-free, so a pipeline can check for a model cheaply."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from daigt.config import Config, ConfigError, TrainTransformerConfig

MARKER = "daigt_transformer.json"
"""File that makes a directory a checkpoint of this track: head type, training config, scores, versions."""
STATE_DIR = "_state"
"""Resume state under a training output directory; never a model, skipped by :func:`find_model_dirs`."""
TRAIN_CONFIG = "train_config.json"
"""The ``train_transformer`` config section of a training run, saved in its output directory."""
RESUME_FREE_FIELDS = frozenset({"folds", "stop_after_steps", "max_minutes", "keep_state", "progress", "log_every"})
"""Fields that may differ between an interrupted run and its ``--resume`` without changing the result."""


class CheckpointError(ValueError):
    """A checkpoint or training output directory that cannot be used as asked; the message names it and the fix."""


def save_train_config(config: TrainTransformerConfig, path: str | Path) -> Path:
    """Write the section as JSON (atomically): the record of how a run's checkpoints were trained."""
    from daigt.io import write_text_atomic

    return write_text_atomic(path, json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True) + "\n")


def load_train_config(path: str | Path) -> TrainTransformerConfig:
    """A saved ``train_config.json``, checked by the config's one loader like any ``[train_transformer]`` table."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: train config not found") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); fix the syntax") from None
    return Config.from_dict({"train_transformer": values}, source=str(path)).train_transformer


def resume_differences(saved: TrainTransformerConfig, new: TrainTransformerConfig) -> list[str]:
    """Fields whose change would make a resumed run differ from an uninterrupted one."""
    mine, theirs = dataclasses.asdict(saved), dataclasses.asdict(new)
    return sorted(k for k in mine if k not in RESUME_FREE_FIELDS and mine[k] != theirs[k])


class BestCheckpoint:
    """Tracks the highest validation AUC seen; only a strictly higher, finite AUC replaces the kept checkpoint.

    (A widely copied loop started from +inf and kept a checkpoint when ``best > score``: the lowest AUC.)
    """

    def __init__(self, score: float | None = None, step: int = -1) -> None:
        self.score = score
        self.step = step

    def improves(self, score: float) -> bool:
        return math.isfinite(score) and (self.score is None or score > self.score)

    def update(self, score: float, step: int) -> bool:
        """Record ``score`` of ``step``; True when it is the new best (the caller saves the checkpoint)."""
        if not self.improves(score):
            return False
        self.score, self.step = float(score), int(step)
        return True


def is_model_dir(path: str | Path) -> bool:
    return (Path(path) / MARKER).is_file()


def find_model_dirs(path: str | Path) -> list[Path]:
    """Checkpoint directories at or below ``path``, sorted (``fold_0``, ``fold_1``, ...).

    ``path`` may be one checkpoint, a training output directory with one sub-folder per fold, or an attached
    Kaggle dataset holding such a directory a level or two deeper.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: transformer model directory not found; attach the dataset or fix the path")
    if is_model_dir(root):
        return [root]
    found = sorted(
        (p.parent for p in root.rglob(MARKER) if STATE_DIR not in p.relative_to(root).parts),
        key=_natural_key,
    )
    if not found:
        raise FileNotFoundError(
            f"{root}: no checkpoint found (no {MARKER} at or below it); point to the output of `daigt train-transformer`"
        )
    return found


def read_marker(path: str | Path) -> dict[str, Any]:
    marker = Path(path) / MARKER
    try:
        return json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{marker}: not found; {path} is not a checkpoint of `daigt train-transformer`") from None
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{marker}: not valid JSON ({exc}); the checkpoint is damaged, re-save it") from None


def _natural_key(path: Path) -> list[Any]:
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]
