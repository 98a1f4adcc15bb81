"""Scoring essays with fine-tuned checkpoints: every visible GPU (Kaggle's T4 x2), or the CPU."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from daigt.transformer.batching import encode_texts, replicate, resolve_devices, run_on_devices
from daigt.transformer.checkpoints import find_model_dirs
from daigt.transformer.modeling import DetectorModel, load_tokenizer

log = logging.getLogger(__name__)

__all__ = ["find_model_dirs", "predict_texts", "predict_logits", "probabilities"]


def predict_texts(
    model_dir: str | Path,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int = 512,
    device: str | Sequence[str] = "auto",
    progress: bool = False,
) -> np.ndarray:
    """P(machine) per text; with several fold checkpoints under ``model_dir``, the mean of their probabilities.

    ``device='auto'`` uses every visible GPU (batches split across them, fp16 autocast) and falls back to the
    CPU. Texts are truncated to ``max_length`` tokens (capped at what the model's positions allow).
    """
    dirs = find_model_dirs(model_dir)
    texts = [str(t) for t in texts]
    total = np.zeros(len(texts), dtype=np.float64)
    for path in dirs:
        logits = predict_logits(path, texts, batch_size=batch_size, max_length=max_length, device=device, progress=progress)
        total += probabilities(logits)
    return total / len(dirs)


def probabilities(logits: np.ndarray) -> np.ndarray:
    """P(machine) = sigmoid(logit) in float64. Training's OOF scores use the same formula, so a reloaded
    checkpoint scored here reproduces its ``oof.csv`` exactly."""
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def predict_logits(
    checkpoint: str | Path,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int = 512,
    device: str | Sequence[str] = "auto",
    progress: bool = False,
) -> np.ndarray:
    """Raw logits of one checkpoint directory, float32, in the input order."""
    if batch_size < 1 or max_length < 2:
        raise ValueError(f"predict: batch_size must be >= 1 and max_length >= 2, got {batch_size}, {max_length}")
    start = time.perf_counter()
    devices = resolve_devices(device)
    tokenizer = load_tokenizer(checkpoint)
    model = DetectorModel.from_pretrained(checkpoint)
    length = min(max_length, model_max_length(model, tokenizer))
    ids = encode_texts(tokenizer, texts, length)
    replicas = replicate(model, devices)
    logits = run_on_devices(
        replicas, devices, ids, tokenizer.pad_token_id, batch_size,
        forward=lambda m, input_ids, mask: m(input_ids, mask),
        progress=progress, desc=f"predict {Path(checkpoint).name}",
    )
    seconds = time.perf_counter() - start
    log.info("%s: %d essays on %s in %.1fs (%.1f essays/s)", checkpoint, len(texts),
             ",".join(str(d) for d in devices), seconds, len(texts) / max(seconds, 1e-9))
    del replicas, model
    if any(d.type == "cuda" for d in devices):
        torch.cuda.empty_cache()
    return logits


def model_max_length(model: DetectorModel, tokenizer: object) -> int:
    """Longest input the model accepts: absolute position embeddings cap it; relative ones (DeBERTa) do not."""
    config = model.backbone.config
    limits = [int(getattr(tokenizer, "model_max_length", 10**9) or 10**9)]
    if getattr(config, "position_biased_input", True) and getattr(config, "max_position_embeddings", None):
        limits.append(int(config.max_position_embeddings))
    return max(2, min(limits))
