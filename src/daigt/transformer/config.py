"""Training settings of the transformer track as plain data.

The config is saved next to every checkpoint (``train_config.json`` and inside ``daigt_transformer.json``), so a
model directory always says how it was trained, and ``--resume`` can refuse to continue with different settings.
This module must not import torch: the CLI builds its arguments from these fields before torch is needed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, get_type_hints

from daigt.config import Range, check_value

HEADS = ("mean", "sequence_classification")
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("auto", "fp16", "bf16", "fp32")
DEVICES = ("auto", "cpu")

# Fields that may differ between an interrupted run and its --resume without changing the result.
RESUME_FREE_FIELDS = frozenset({"folds", "stop_after_steps", "max_minutes", "keep_state", "progress", "log_every"})


@dataclass(frozen=True)
class TrainConfig:
    """Everything ``daigt train-transformer`` needs besides its input files and output directory."""

    model_dir: str = ""
    """Local directory of the encoder checkpoint to fine-tune (config.json, weights, tokenizer files)."""
    head: str = "mean"
    """``mean``: backbone + masked mean pooling + linear layer; ``sequence_classification``: the model's own
    AutoModelForSequenceClassification head with one label."""
    head_dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1
    """Dropout before the linear layer of the ``mean`` head."""
    gradient_checkpointing: bool = False
    """Trade compute for memory (needed for DeBERTa-v3-large at 1024 tokens on 16 GB cards)."""
    max_length: Annotated[int, Range(1)] = 512
    """Tokens per essay after truncation (special tokens included)."""
    n_folds: Annotated[int, Range(2)] = 5
    """Prompt-grouped folds: no prompt occurs in both the training and the validation part of a fold."""
    folds: tuple[Annotated[int, Range(0)], ...] = ()
    """Folds to train in this run (empty = all); lets several sessions share the work."""
    epochs: Annotated[int, Range(1)] = 1
    batch_size: Annotated[int, Range(1)] = 8
    """Essays per micro-batch and device."""
    eval_batch_size: Annotated[int, Range(1)] = 32
    grad_accum: Annotated[int, Range(1)] = 1
    """Micro-batches per optimizer step."""
    lr_encoder: Annotated[float, Range(0, low_open=True)] = 2e-5
    lr_head: Annotated[float, Range(0, low_open=True)] = 1e-3
    """The freshly initialised head learns faster than the pretrained encoder."""
    weight_decay: Annotated[float, Range(0)] = 0.01
    """Applied to weight matrices only: never to biases or LayerNorm parameters."""
    adam_eps: Annotated[float, Range(0, low_open=True)] = 1e-6
    scheduler: str = "cosine"
    """``linear``, ``cosine`` or ``constant`` (each after a linear warmup)."""
    warmup_ratio: Annotated[float, Range(0, 1, high_open=True)] = 0.1
    """Fraction of the optimizer steps spent warming the learning rate up from 0."""
    max_grad_norm: Annotated[float, Range(0)] = 1.0
    """Gradient clipping norm; 0 switches clipping off."""
    precision: str = "auto"
    """``auto`` = bf16 on GPUs that support it, else fp16 with a gradient scaler, fp32 on CPU."""
    eval_every: Annotated[int, Range(0)] = 0
    """Validate every this many optimizer steps (0 = only at the end of each epoch); the checkpoint with the
    highest validation AUC is kept."""
    log_every: Annotated[int, Range(1)] = 20
    """Log loss, learning rate and throughput every this many optimizer steps."""
    save_state: bool = True
    """Save optimizer/scheduler/scaler/RNG state at each validation so ``--resume`` can continue."""
    keep_state: bool = False
    """Keep the resume state after a fold finished (it is 2-3x the model size)."""
    stop_after_steps: Annotated[int, Range(0)] = 0
    """Stop after this many optimizer steps in this invocation, state saved (0 = no limit)."""
    max_minutes: Annotated[float, Range(0)] = 0.0
    """Stop (state saved) once training in this invocation has run this long; 0 = no limit. Lets a long
    training be split over several Kaggle sessions with ``--resume``."""
    group_by_length: bool = True
    """Draw training batches from essays of similar length so dynamic padding wastes little compute."""
    max_train_rows: Annotated[int, Range(0)] = 0
    """Cap on the labelled rows used (0 = all); a seeded sample stratified by label is kept."""
    strip_anonymisation: bool = True
    """Remove ASAP-style anonymisation tokens (@CAPS1, @PERSON2): a label shortcut absent from the test set."""
    device: str = "auto"
    """``auto`` (every GPU given by the launcher, else CPU) or ``cpu``."""
    seed: Annotated[int, Range(0, 2**32 - 1)] = 42
    progress: bool = True
    """Show a tqdm progress bar."""

    # ---- validation ---------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        _check_choice("head", self.head, HEADS)
        _check_choice("scheduler", self.scheduler, SCHEDULERS)
        _check_choice("precision", self.precision, PRECISIONS)
        _check_choice("device", self.device, DEVICES)
        hints = get_type_hints(TrainConfig, include_extras=True)
        for f in dataclasses.fields(self):  # the ranges declared on the fields, checked as daigt.config does
            check_value(getattr(self, f.name), hints[f.name], f"train config: {f.name}", default=f.default)
        bad = [f for f in self.folds if not 0 <= f < self.n_folds]
        if bad:
            raise ValueError(f"train config: folds {bad} out of range for n_folds={self.n_folds} (use 0..{self.n_folds - 1})")

    def fold_ids(self) -> list[int]:
        """The folds this run trains, in order."""
        return sorted(set(self.folds)) if self.folds else list(range(self.n_folds))

    # ---- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["folds"] = list(self.folds)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "train config") -> TrainConfig:
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"{source}: unknown field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**{name: _coerce(value, hints[name], f"{source}: field {name!r}") for name, value in values.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: train config not found") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}); fix the syntax") from None
        return cls.from_dict(values, source=str(path))

    def save(self, path: str | Path) -> Path:
        from daigt.io import write_text_atomic

        return write_text_atomic(path, self.to_json())

    def resume_differences(self, other: TrainConfig) -> list[str]:
        """Fields whose change would make a resumed run differ from an uninterrupted one."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if k not in RESUME_FREE_FIELDS and mine[k] != theirs[k])


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"train config: {name}={value!r} is not one of {list(choices)}")


def _coerce(value: Any, hint: Any, where: str) -> Any:
    if getattr(hint, "__origin__", None) is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        return tuple(_coerce(v, hint.__args__[0], where) for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isnan(value):
        return value
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ValueError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value
