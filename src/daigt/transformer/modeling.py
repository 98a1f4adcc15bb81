"""The detector: a local encoder checkpoint with a one-logit head, saved and loaded as one directory.

Two heads: ``mean`` (backbone + masked mean pooling + linear layer; pooling over all tokens is the usual
choice for long essays, where the first token alone summarises them poorly) and ``sequence_classification``
(the model family's own head via AutoModelForSequenceClassification with one label).

A saved directory is an ordinary Hugging Face checkpoint plus ``daigt_transformer.json``: for ``mean`` the
backbone (config.json + weights, loadable with AutoModel) and ``head.safetensors``; for
``sequence_classification`` the whole model. The tokenizer is saved beside it, so inference needs nothing else.
Everything loads with ``local_files_only=True``: nothing here may touch the network.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from daigt.extras import MissingExtraError
from daigt.transformer.checkpoints import MARKER, CheckpointError, read_marker

HEAD_FILE = "head.safetensors"
FORMAT_VERSION = 1


def require_local_dir(path: str | Path, what: str = "model directory") -> Path:
    """Fail with a clear message before transformers mistakes a missing path for a hub repo id."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: {what} not found (models load from local directories only; attach or copy it)")
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path}: no config.json; expected a Hugging Face checkpoint directory")
    return path


def dtype_kwargs(dtype: torch.dtype) -> dict[str, torch.dtype]:
    """``from_pretrained`` dtype argument: ``dtype`` since transformers 4.56 (5.x), ``torch_dtype`` before."""
    import transformers

    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def load_tokenizer(path: str | Path):  # -> PreTrainedTokenizerBase
    from transformers import AutoTokenizer

    path = require_local_dir(path)
    require_conversion_packages(path)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, use_fast=True)
    if tokenizer.pad_token_id is None:
        raise CheckpointError(f"{path}: the tokenizer has no padding token; set one (e.g. pad_token) and save it again")
    return tokenizer


def require_conversion_packages(path: Path) -> None:
    """Name the missing package before transformers fails with an unrelated error.

    DeBERTa-v3 snapshots on Kaggle ship a SentencePiece ``spm.model`` and no ``tokenizer.json``; the fast
    tokenizer is converted from it, which needs ``sentencepiece`` and ``protobuf``. Without them transformers
    4.x raises an AttributeError about ``vocab_file`` and 5.x asks for ``tiktoken``.
    """
    if (path / "tokenizer.json").is_file() or not any(path.glob("*.model")):
        return
    missing = [package for package, module in (("sentencepiece", "sentencepiece"), ("protobuf", "google.protobuf"))
               if not _importable(module)]
    if missing:
        raise MissingExtraError(
            f"{path}: the tokenizer is a SentencePiece model ({next(path.glob('*.model')).name}) without tokenizer.json; "
            f"converting it needs {' and '.join(missing)}. Fix: pip install 'daigt-kit[transformer]' (or {' '.join(missing)})"
        )


def make_tokenizer_config_portable(path: Path) -> None:
    """Rewrite a saved ``tokenizer_config.json`` so that transformers 4.x and 5.x both load it.

    A checkpoint trained on one Kaggle image is often scored on another. transformers 5 writes two values 4.x
    cannot read: ``tokenizer_class: TokenizersBackend`` (4.x loads the same tokenizer.json as
    PreTrainedTokenizerFast) and ``extra_special_tokens`` as a list (4.x expects a name -> token mapping; the
    list is what 4.x calls ``additional_special_tokens``, a key 5.x still reads).
    """
    config_file = path / "tokenizer_config.json"
    if not config_file.is_file():
        return
    values = json.loads(config_file.read_text(encoding="utf-8"))
    if values.get("tokenizer_class") == "TokenizersBackend":
        values["tokenizer_class"] = "PreTrainedTokenizerFast"
        values.pop("backend", None)
    if isinstance(values.get("extra_special_tokens"), list):
        values.setdefault("additional_special_tokens", values.pop("extra_special_tokens"))
    config_file.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package ("google") raises instead of returning None
        return False


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of the token vectors where ``attention_mask`` is 1, in float32 (fp16 sums of 512 tokens overflow)."""
    mask = attention_mask.unsqueeze(-1).to(torch.float32)
    summed = (hidden.to(torch.float32) * mask).sum(dim=1)
    return summed / mask.sum(dim=1).clamp(min=1e-9)


class DetectorModel(nn.Module):
    """``forward(input_ids, attention_mask) -> logits`` of shape ``(batch,)``; P(machine) = sigmoid(logit)."""

    def __init__(self, backbone: nn.Module, head: str = "mean", head_dropout: float = 0.0) -> None:
        super().__init__()
        if head not in ("mean", "sequence_classification"):
            raise ValueError(f"head={head!r}: expected 'mean' or 'sequence_classification'")
        self.head_type = head
        self.backbone = backbone
        if head == "mean":
            hidden = backbone.config.hidden_size
            self.dropout = nn.Dropout(head_dropout)
            self.head = nn.Linear(hidden, 1)
            std = float(getattr(backbone.config, "initializer_range", 0.02))
            nn.init.normal_(self.head.weight, mean=0.0, std=std)
            nn.init.zeros_(self.head.bias)
            _freeze_unused_pooler(backbone)

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_backbone(cls, model_dir: str | Path, head: str = "mean", head_dropout: float = 0.0) -> DetectorModel:
        """A fresh detector on a pretrained encoder; the head is randomly initialised (seed first)."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        model_dir = require_local_dir(model_dir)
        kwargs: dict[str, Any] = {"local_files_only": True, **dtype_kwargs(torch.float32)}
        if head == "sequence_classification":
            backbone = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=1, **kwargs)
        else:
            backbone = AutoModel.from_pretrained(str(model_dir), **kwargs)
        return cls(backbone, head=head, head_dropout=head_dropout)

    @classmethod
    def from_config(cls, config: Any, head: str = "mean", head_dropout: float = 0.0) -> DetectorModel:
        """A randomly initialised detector (tests, smoke runs)."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        if head == "sequence_classification":
            config.num_labels = 1
            return cls(AutoModelForSequenceClassification.from_config(config), head=head)
        return cls(AutoModel.from_config(config), head=head, head_dropout=head_dropout)

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device = "cpu") -> DetectorModel:
        """Load a directory written by :meth:`save_pretrained`."""
        from transformers import AutoModel, AutoModelForSequenceClassification

        path = require_local_dir(path, "checkpoint directory")
        meta = read_marker(path)
        head = meta.get("head")
        kwargs: dict[str, Any] = {"local_files_only": True, **dtype_kwargs(torch.float32)}
        if head == "sequence_classification":
            model = cls(AutoModelForSequenceClassification.from_pretrained(str(path), **kwargs), head=head)
        elif head == "mean":
            from safetensors.torch import load_file

            head_file = path / HEAD_FILE
            if not head_file.is_file():
                raise FileNotFoundError(f"{head_file}: missing; the checkpoint is incomplete, copy the whole directory")
            model = cls(AutoModel.from_pretrained(str(path), **kwargs), head="mean",
                        head_dropout=float(meta.get("head_dropout", 0.0)))
            model.head.load_state_dict(load_file(str(head_file)))
        else:
            raise CheckpointError(f"{path / MARKER}: unknown head {head!r}; expected 'mean' or 'sequence_classification'")
        _own_tensors(model)
        return model.to(device).eval()

    # ---- forward ------------------------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.head_type == "sequence_classification":
            return self.backbone(input_ids=input_ids, attention_mask=attention_mask).logits[:, 0]
        return self.head(self.dropout(self.embed(input_ids, attention_mask)).to(self.head.weight.dtype))[:, 0]

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean-pooled backbone output (the features the ``mean`` head sees)."""
        encoder = self.backbone.base_model if self.head_type == "sequence_classification" else self.backbone
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)

    # ---- training helpers ---------------------------------------------------------------------------
    def enable_gradient_checkpointing(self) -> None:
        self.backbone.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})

    def is_encoder_parameter(self, name: str) -> bool:
        """Pretrained encoder weights (low learning rate) vs head weights (high learning rate)."""
        if self.head_type == "mean":
            return name.startswith("backbone.")
        prefix = getattr(self.backbone, "base_model_prefix", "")
        return bool(prefix) and name.startswith(f"backbone.{prefix}.")

    # ---- saving -------------------------------------------------------------------------------------
    def save_pretrained(
        self,
        path: str | Path,
        tokenizer: Any = None,
        train_config: Any = None,
        metadata: dict[str, Any] | None = None,
    ) -> Path:
        """Write the checkpoint into a temporary sibling, then swap it in: readers never see half a model."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        old = path.with_name(f".{path.name}.old")
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        tmp.mkdir()
        self._write(tmp, tokenizer, train_config, metadata or {})
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        if old.exists():
            shutil.rmtree(old)
        return path

    def _write(self, path: Path, tokenizer: Any, train_config: Any, metadata: dict[str, Any]) -> None:
        import transformers

        state = {k: v.detach().contiguous().cpu() for k, v in self.backbone.state_dict().items()}
        self.backbone.save_pretrained(str(path), state_dict=state)
        if self.head_type == "mean":
            from safetensors.torch import save_file

            save_file({k: v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()}, str(path / HEAD_FILE))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(path))
            make_tokenizer_config_portable(path)
        config_dict = asdict(train_config) if is_dataclass(train_config) else train_config
        if isinstance(config_dict, dict) and isinstance(config_dict.get("folds"), tuple):
            config_dict["folds"] = list(config_dict["folds"])
        marker = {
            "format": FORMAT_VERSION,
            "head": self.head_type,
            "head_dropout": float(self.dropout.p) if self.head_type == "mean" else 0.0,
            "train_config": config_dict,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "daigt": _daigt_version()},
            **metadata,
        }
        (path / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _own_tensors(module: nn.Module) -> None:
    """Replace memory-mapped weights by owned, aligned copies.

    transformers 5 memory-maps safetensors files, so a loaded tensor can start at any byte offset; CPU kernels
    then take another vectorisation path and sum in another order, and a reloaded checkpoint scores differently
    from the model that was saved (in the last bits). Owned copies also release the file, which a later
    ``save_pretrained`` into the same directory swaps away.
    """
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            tensor.data = tensor.data.clone()


def _freeze_unused_pooler(backbone: nn.Module) -> None:
    """BERT-style backbones carry a pooler the mean head never uses: freeze it so DDP sees no unused gradients."""
    pooler = getattr(backbone, "pooler", None)
    if isinstance(pooler, nn.Module):
        pooler.requires_grad_(False)


def _daigt_version() -> str:
    from daigt import __version__

    return __version__
