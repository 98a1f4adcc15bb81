"""``daigt train-transformer``: a thin command over :func:`daigt.transformer.training.train_folds`.

Imported when the ``daigt`` parser is built, so it must not import torch; the training module loads only
when the command runs. Every :class:`TrainConfig` field is an option (``--lr-encoder 3e-5``); precedence:
defaults < ``--train-config FILE.json`` < options. Multi-GPU: ``accelerate launch --multi_gpu
--num_processes 2 $(which daigt) train-transformer ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any, get_type_hints

from daigt.transformer.config import DEVICES, HEADS, PRECISIONS, SCHEDULERS, TrainConfig

log = logging.getLogger(__name__)

HELP = {
    "model_dir": "local encoder checkpoint directory to fine-tune (config.json, weights, tokenizer)",
    "head": f"one of {list(HEADS)}: masked mean pooling + linear, or AutoModelForSequenceClassification",
    "head_dropout": "dropout before the mean head's linear layer",
    "gradient_checkpointing": "recompute activations in backward (less memory, ~30%% slower)",
    "max_length": "tokens per essay after truncation",
    "n_folds": "prompt-grouped folds (no prompt in both the training and validation part of a fold)",
    "folds": "folds to train in this run, e.g. --folds 0 1",
    "epochs": "passes over each fold's training part",
    "batch_size": "essays per micro-batch and device",
    "eval_batch_size": "essays per validation batch and device",
    "grad_accum": "micro-batches per optimizer step",
    "lr_encoder": "peak learning rate of the pretrained encoder",
    "lr_head": "peak learning rate of the new head",
    "weight_decay": "AdamW weight decay (never on biases or LayerNorm)",
    "adam_eps": "AdamW epsilon",
    "scheduler": f"learning-rate schedule after warmup: {list(SCHEDULERS)}",
    "warmup_ratio": "fraction of optimizer steps with linear warmup",
    "max_grad_norm": "gradient clipping norm (0 = off)",
    "precision": f"{list(PRECISIONS)}; auto = bf16 on Ampere+, fp16 on T4/P100, fp32 on CPU",
    "eval_every": "validate every N optimizer steps (0 = at each epoch end only); the best-AUC checkpoint is kept",
    "log_every": "log loss / learning rate / throughput every N optimizer steps",
    "save_state": "save optimizer/scheduler/scaler/RNG state at each validation (for --resume)",
    "keep_state": "keep the resume state after a fold finished",
    "stop_after_steps": "stop after N optimizer steps in this invocation, state saved (0 = no limit)",
    "max_minutes": "stop after this many minutes of training in this invocation, state saved (0 = no limit)",
    "group_by_length": "batch essays of similar length together (less padding)",
    "max_train_rows": "use a seeded, label-stratified sample of this many rows (0 = all)",
    "strip_anonymisation": "remove ASAP anonymisation tokens (@CAPS1 ...) from the texts",
    "device": f"{list(DEVICES)}",
    "seed": "seed of folds, sampling, initialisation and dropout",
    "progress": "show a progress bar",
}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=Path, nargs="+", required=True, metavar="FILE",
                        help="labelled CSVs (text,label,prompt_name[,source]); DAIGT-v2 or competition train layout")
    parser.add_argument("--out-dir", type=Path, required=True,
                        help="where fold_<k>/ checkpoints, oof.csv and scores.json go")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out-dir from its saved step (finished folds are skipped)")
    parser.add_argument("--train-config", type=Path, metavar="FILE.json",
                        help="TrainConfig as JSON (e.g. a previous run's train_config.json); options override it")
    group = parser.add_argument_group("training settings (TrainConfig fields)")
    hints = get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        default_text = " (required)" if f.name == "model_dir" else f" (default: {_show(f.default)})"
        if hint is bool:
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                               help=HELP.get(f.name, "") + default_text)
        elif getattr(hint, "__origin__", None) is tuple:
            group.add_argument(flag, dest=f.name, type=int, nargs="*", default=None, metavar="K",
                               help=HELP.get(f.name, "") + default_text)
        else:
            choices = {"head": HEADS, "scheduler": SCHEDULERS, "precision": PRECISIONS, "device": DEVICES}.get(f.name)
            group.add_argument(flag, dest=f.name, type=hint, default=None, choices=choices,
                               help=HELP.get(f.name, "") + default_text)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then ``--train-config``, then every option given on the command line."""
    values: dict[str, Any] = TrainConfig.from_json(args.train_config).to_dict() if getattr(args, "train_config", None) else {}
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if given is not None:
            values[f.name] = list(given) if isinstance(given, (list, tuple)) else given
    if getattr(args, "quiet", False):
        values["progress"] = False
    if not values.get("model_dir"):
        raise ValueError("--model-dir is required: a local encoder checkpoint directory (e.g. a DeBERTa-v3 dataset)")
    return TrainConfig.from_dict(values, source="command line")


def train_command(args: argparse.Namespace) -> int:
    """Exit status 0 when the requested folds finished, 3 when a stop limit paused training (resume later)."""
    try:
        config = config_from_args(args)
        from daigt.transformer.training import load_training_frame, train_folds

        frame = load_training_frame(args.train, config)
        result = train_folds(config, frame, args.out_dir, resume=args.resume)
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"daigt train-transformer: error: {exc}", file=sys.stderr)
        return 2
    from accelerate import PartialState

    if PartialState().is_main_process:  # under `accelerate launch` every process gets here: one table, not one each
        print(format_summary(result))
    return 0 if result.finished else 3


def format_summary(result: Any) -> str:
    lines = [f"out dir: {result.out_dir}", "| fold | valid prompts | n_valid | best AUC | best step | train essays/s |",
             "|---:|---|---:|---:|---:|---:|"]
    for f in result.folds:
        auc = f"{f.best_auc:.4f}" if f.best_auc is not None else "-"
        prompts = ", ".join(f.valid_prompts[:3]) + (" ..." if len(f.valid_prompts) > 3 else "")
        lines.append(f"| {f.fold}{'' if f.finished else ' (stopped)'} | {prompts} | {f.n_valid} | {auc} | {f.best_step} | "
                     f"{f.train_essays_per_s:.1f} |")
    lines.append(f"mean fold AUC: {result.mean_auc:.4f}; OOF rows: {len(result.oof)}"
                 + ("" if result.finished else "; stopped early: rerun with --resume"))
    return "\n".join(lines)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return "all" if not value else " ".join(map(str, value))
    return repr(value) if isinstance(value, str) else str(value)
