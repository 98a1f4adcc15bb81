"""Frozen-encoder features: mean-pooled embeddings of a pretrained encoder, for a logistic-regression member.

No fine-tuning, so it runs on a CPU in minutes and adds a view of the essays (semantics, style) that word
n-gram TF-IDF lacks. Embeddings are cached per text on disk, keyed by the model, ``max_length`` and the text's
hash, so cross-validation and repeated runs embed each essay once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin

from daigt.config import EmbeddingConfig

log = logging.getLogger(__name__)

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


class FrozenEncoderEmbedder(TransformerMixin, BaseEstimator):
    """``transform(texts) -> float32 array (n, hidden)``: masked mean of the encoder's last hidden states.

    ``fit`` learns nothing (the encoder is frozen); it exists so the embedder fits in a scikit-learn pipeline.
    Batches are length-sorted and dynamically padded and use every visible GPU (``device='auto'``).
    """

    def __init__(self, model_dir: str | Path, batch_size: int = 32, max_length: int = 256,
                 cache_dir: str | Path | None = None, device: str = "auto", progress: bool = False) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_dir = cache_dir
        self.device = device
        self.progress = progress

    def fit(self, X: Iterable[str], y: Any = None) -> FrozenEncoderEmbedder:
        self.model_key_ = model_fingerprint(self.model_dir)
        return self

    def transform(self, X: Iterable[str]) -> np.ndarray:
        texts = _as_texts(X)
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        cache = self._cache()
        known = cache.load() if cache is not None else {}
        todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
        if todo:
            started = time.perf_counter()
            fresh = self._embed([texts[i] for i in todo])
            log.info("embedded %d texts with %s in %.1fs (%d from cache)", len(todo), self.model_dir,
                     time.perf_counter() - started, len(texts) - len(todo))
            new = {keys[i]: fresh[j] for j, i in enumerate(todo)}
            if cache is not None:
                cache.append(new)
            known.update(new)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)

    def _cache(self) -> EmbeddingCache | None:
        if self.cache_dir is None:
            return None
        key = getattr(self, "model_key_", None) or model_fingerprint(self.model_dir)
        return EmbeddingCache(Path(self.cache_dir) / f"{key}-L{self.max_length}")

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        from transformers import AutoModel

        import torch

        from daigt.transformer.batching import encode_texts, replicate, resolve_devices, run_on_devices
        from daigt.transformer.modeling import dtype_kwargs, load_tokenizer, mean_pool, require_local_dir

        path = require_local_dir(self.model_dir)
        tokenizer = load_tokenizer(path)
        encoder = AutoModel.from_pretrained(str(path), local_files_only=True, **dtype_kwargs(torch.float32))
        devices = resolve_devices(self.device)
        limit = int(getattr(encoder.config, "max_position_embeddings", self.max_length) or self.max_length)
        if not getattr(encoder.config, "position_biased_input", True):
            limit = self.max_length
        ids = encode_texts(tokenizer, texts, min(self.max_length, limit))
        replicas = replicate(encoder, devices)
        return run_on_devices(
            replicas, devices, ids, tokenizer.pad_token_id, self.batch_size,
            forward=lambda m, input_ids, mask: mean_pool(m(input_ids=input_ids, attention_mask=mask).last_hidden_state, mask),
            out_shape=(int(encoder.config.hidden_size),), progress=self.progress, desc="embed",
        )


class EmbeddingLogisticClassifier(ClassifierMixin, BaseEstimator):
    """Texts in, P(machine) out: frozen-encoder embeddings -> standardisation -> logistic regression.

    A ready ensemble member for the texts-level pipeline; ``classes_`` follow the training labels.
    """

    def __init__(self, model_dir: str | Path, batch_size: int = EmbeddingConfig.batch_size,
                 max_length: int = EmbeddingConfig.max_length, cache_dir: str | Path | None = None,
                 device: str = "auto", C: float = 1.0, max_iter: int = 2000) -> None:
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_dir = cache_dir
        self.device = device
        self.C = C
        self.max_iter = max_iter

    @classmethod
    def from_config(cls, config: EmbeddingConfig) -> EmbeddingLogisticClassifier:
        """The embedding member as ``ensemble.embedding`` configures it (unfitted)."""
        if not config.model_dir:
            raise ValueError("EmbeddingLogisticClassifier needs a model_dir (ensemble.embedding.model_dir)")
        return cls(config.model_dir, batch_size=config.batch_size, max_length=config.max_length,
                   cache_dir=config.cache_dir or None)

    def fit(self, X: Iterable[str], y: Sequence[int]) -> EmbeddingLogisticClassifier:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        texts = _as_texts(X)
        y_arr = np.asarray(y)
        if len(y_arr) != len(texts):
            raise ValueError(f"EmbeddingLogisticClassifier.fit: {len(texts)} texts but {len(y_arr)} labels")
        self.embedder_ = FrozenEncoderEmbedder(self.model_dir, self.batch_size, self.max_length, self.cache_dir, self.device).fit(texts)
        features = self.embedder_.transform(texts)
        self.scaler_ = StandardScaler().fit(features)
        self.logistic_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(self.scaler_.transform(features), y_arr)
        self.classes_ = self.logistic_.classes_
        self.n_features_in_ = features.shape[1]
        return self

    def decision_function(self, X: Iterable[str]) -> np.ndarray:
        return self.logistic_.decision_function(self._features(X))

    def predict_proba(self, X: Iterable[str]) -> np.ndarray:
        return self.logistic_.predict_proba(self._features(X))

    def predict(self, X: Iterable[str]) -> np.ndarray:
        return self.logistic_.predict(self._features(X))

    def _features(self, X: Iterable[str]) -> np.ndarray:
        if not hasattr(self, "logistic_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("EmbeddingLogisticClassifier is not fitted yet; call fit(texts, labels) first")
        return self.scaler_.transform(self.embedder_.transform(X))


class EmbeddingCache:
    """Append-only ``.npz`` shards of (text hash, embedding) in one folder per (model, max_length)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for shard in sorted(self.folder.glob("shard-*.npz")):
            with np.load(shard) as data:
                found.update(zip(data["keys"].tolist(), data["embeddings"]))
        return found

    def append(self, items: dict[str, np.ndarray]) -> Path:
        from daigt.io import write_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(items), dtype="U40")
        embeddings = np.stack(list(items.values())).astype(np.float32)
        name = hashlib.sha1("".join(keys.tolist()).encode()).hexdigest()[:16]
        return write_atomic(self.folder / f"shard-{name}.npz",
                            lambda tmp: _save_npz(tmp, keys=keys, embeddings=embeddings))


def model_fingerprint(model_dir: str | Path) -> str:
    """Name + hash of config.json and of each weight file's size and first/last MiB: cheap, and changes with the weights."""
    path = Path(model_dir)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no config.json; expected a local Hugging Face checkpoint directory")
    digest = hashlib.sha256((path / "config.json").read_bytes())
    for weights in sorted(p for p in path.iterdir() if p.suffix in _WEIGHT_SUFFIXES):
        size = weights.stat().st_size
        digest.update(f"{weights.name}:{size}".encode())
        with weights.open("rb") as fh:
            digest.update(fh.read(1 << 20))
            fh.seek(max(0, size - (1 << 20)))
            digest.update(fh.read(1 << 20))
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.resolve().name)[:40]
    return f"{safe}-{digest.hexdigest()[:16]}"


def _save_npz(tmp: Path, **arrays: np.ndarray) -> None:
    with tmp.open("wb") as fh:  # a file object: np.savez would append ".npz" to a bare temporary name
        np.savez(fh, **arrays)


def _as_texts(X: Iterable[str]) -> list[str]:
    if isinstance(X, (str, bytes)):
        raise TypeError("expected a sequence of texts, got a single string; wrap it in a list")
    texts = list(X.tolist() if hasattr(X, "tolist") else X)
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"text at row {bad} is {type(texts[bad]).__name__}, not str; pass raw essay texts")
    return texts
