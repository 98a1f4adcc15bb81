"""``daigt train-transformer``: a thin command over :func:`daigt.transformer.training.train_folds`.

The settings are the ``train_transformer`` section of the config: ``--config``/``--set`` like every command, and
each field is also an option of its own (``--lr-encoder 3e-5``); precedence: defaults < ``--config`` < ``--set`` <
options. torch loads only when the command runs. Multi-GPU: ``accelerate launch --multi_gpu --num_processes 2
$(which daigt) train-transformer ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from daigt.cli.common import add_config_arguments, load_config
from daigt.config import Config, ConfigError, TrainTransformerConfig, field_docs

HELP = "fine-tune a local encoder checkpoint with prompt-grouped k-fold (needs the torch extra)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", type=Path, nargs="+", required=True, metavar="FILE",
                        help="labelled CSVs (text,label,prompt_name[,source]); DAIGT-v2 or competition train layout")
    parser.add_argument("--out-dir", type=Path, required=True,
                        help="where fold_<k>/ checkpoints, oof.csv and scores.json go")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted run in --out-dir from its saved step (finished folds are skipped)")
    add_config_arguments(parser)
    group = parser.add_argument_group("training settings (the config's train_transformer section, one option per field)")
    hints, docs = get_type_hints(TrainTransformerConfig), field_docs()
    for f in dataclasses.fields(TrainTransformerConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        default_text = " (required)" if f.name == "model_dir" else f" (default: {_show(f.default)})"
        text = docs.get(f"train_transformer.{f.name}", "").replace("%", "%%") + default_text
        if hint is bool:
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif get_origin(hint) is tuple:
            group.add_argument(flag, dest=f.name, type=int, nargs="*", default=None, metavar="K", help=text)
        elif get_origin(hint) is Literal:
            group.add_argument(flag, dest=f.name, default=None, choices=get_args(hint), help=text)
        else:
            group.add_argument(flag, dest=f.name, type=hint, default=None, help=text)


def train_config(args: argparse.Namespace) -> TrainTransformerConfig:
    """The section after ``--config``, ``--set`` and every option given on the command line, checked by the
    config's one loader."""
    values = load_config(args, check_paths=False).to_dict()
    section = values["train_transformer"]
    for f in dataclasses.fields(TrainTransformerConfig):
        given = getattr(args, f.name)
        if given is not None:
            section[f.name] = list(given) if isinstance(given, (list, tuple)) else given
    if args.quiet:
        section["progress"] = False
    config = Config.from_dict(values, source="command line").train_transformer
    if not config.model_dir:
        raise ConfigError("--model-dir is required: a local encoder checkpoint directory (e.g. a DeBERTa-v3 dataset)")
    return config


def command(args: argparse.Namespace) -> int:
    """Exit status 0 when the requested folds finished, 3 when a stop limit paused training (resume later)."""
    from daigt.extras import import_extra

    config = train_config(args)
    training = import_extra("daigt.transformer.training", "transformer", "daigt train-transformer")
    frame = training.load_training_frame(args.train, config)
    result = training.train_folds(config, frame, args.out_dir, resume=args.resume)
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
