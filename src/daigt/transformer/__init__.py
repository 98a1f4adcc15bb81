"""Transformer track: fine-tuned encoders (mean-pooled or sequence-classification head), one column of the final
blend (:mod:`daigt.blend`).

Needs the optional ``transformer`` extra (torch, transformers, accelerate). ``import daigt.transformer`` itself
does not import torch: names load on first use, and :mod:`~daigt.transformer.checkpoints` is torch-free, so the
TF-IDF pipeline can check for models without it. Training settings are the ``train_transformer`` section of
:class:`daigt.config.Config`; the training folds are :func:`daigt.folds.prompt_folds`, the split of ``daigt cv``.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "find_model_dirs": "daigt.transformer.checkpoints",
    "is_model_dir": "daigt.transformer.checkpoints",
    "predict_texts": "daigt.transformer.inference",
    "predict_logits": "daigt.transformer.inference",
    "DetectorModel": "daigt.transformer.modeling",
    "mean_pool": "daigt.transformer.modeling",
    "train_folds": "daigt.transformer.training",
    "train_fold": "daigt.transformer.training",
    "BestCheckpoint": "daigt.transformer.checkpoints",
    "FrozenEncoderEmbedder": "daigt.transformer.embeddings",
    "EmbeddingLogisticClassifier": "daigt.transformer.embeddings",
    "build_tiny_checkpoint": "daigt.transformer.tiny",
    "build_tiny_spm_checkpoint": "daigt.transformer.tiny",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'daigt.transformer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
