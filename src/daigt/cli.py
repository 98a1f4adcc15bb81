"""The ``daigt`` command: a thin layer over the library, one subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Callable, Sequence

from daigt import __version__
from daigt.config import Config, ConfigError, check_local_paths

DESCRIPTION = """\
DAIGT Kit: tell student essays from LLM-written ones, offline.

Trains a byte-level BPE tokenizer on the test essays, builds TF-IDF n-gram features over its tokens, fits a
MultinomialNB / SGD / logistic / LightGBM ensemble (plus a style member and a pseudo-label refit) on
labelled training essays and writes a Kaggle submission (id,generated). Every setting lives in one config
(see `daigt config`); any field can be set from a TOML file (--config) and overridden on the command line
(--set section.field=value).
"""

EPILOG = """\
examples:
  daigt run --competition-dir data/sample/llm-detect-ai-generated-text \\
            --train data/sample/daigt-external/train.csv --out runs/submission.csv
  daigt run ... --config my.toml --set features.min_df=2 --set ensemble.averaging=rank
  daigt cv ../shared/data/outfox_essays.csv ../shared/data/daigt_persuade_samples.csv --protocol lopo --out runs/cv
  daigt config > my.toml          # every field with its default and doc, ready to edit

Exit status: 0 on success, 2 on bad input or config (the message names the file, column, row and fix).
"""


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with config fields (default: the public recipe)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
        help="override one config field, e.g. --set features.min_df=2 (repeatable; applied after --config)",
    )


def load_config(args: argparse.Namespace, check_paths: bool = True) -> Config:
    """The checked config of a command, before it reads any data; ``check_paths`` also requires the model
    directories it names to exist here (off for commands that only print or package a config)."""
    config = Config.from_toml(args.config) if getattr(args, "config", None) else Config()
    config = config.with_overrides(getattr(args, "overrides", []))
    if check_paths:
        check_local_paths(config)
        if config.transformer.model_dir:  # an explicit model that is not one must not be dropped with a warning
            from daigt.transformer.checkpoints import find_model_dirs

            try:
                find_model_dirs(config.transformer.model_dir)
            except FileNotFoundError as exc:
                raise ConfigError(f"transformer.model_dir: {exc} (or set it to \"\" to run without)") from None
    return config


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--competition-dir", type=Path, required=True,
                        help="folder with test_essays.csv (and train_essays.csv, sample_submission.csv, train_prompts.csv)")
    parser.add_argument("--train", type=Path, nargs="*", default=[], metavar="FILE",
                        help="external training CSVs (text,label,prompt_name,source); the competition's own "
                             "train_essays.csv is always used too")
    parser.add_argument("--out", type=Path, default=Path("submission.csv"), help="submission path (default: %(default)s)")
    parser.add_argument("--labels", type=Path, help="optional CSV id,generated with the test essays' true labels: prints AUC")
    add_config_arguments(parser)


def run_command(args: argparse.Namespace) -> int:
    from daigt.pipeline import run
    from daigt.submission import auc_against_labels, check_output_paths, read_labels

    config = load_config(args)
    inputs = [args.competition_dir, *args.train, *(p for p in (args.labels, args.config) if p)]
    check_output_paths(args.out, inputs)
    labels = None
    if args.labels:
        from daigt.data import read_competition_dir

        labels = read_labels(args.labels, test_ids=read_competition_dir(args.competition_dir).test["id"])
    result = run(config, args.competition_dir, args.train, args.out, show_progress=not args.quiet)
    print(f"wrote {result.path} ({len(result.submission)} rows{', placeholder guard' if result.guarded else ''})")
    for name, seconds, peak in result.stages.rows:
        print(f"  {name:<24} {seconds:8.2f}s   peak RSS {peak:8.0f} MiB")
    if labels is not None:
        print(f"AUC against {args.labels}: {auc_against_labels(result.submission, args.labels, labels):.4f}")
    return 0


def add_show_config_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def show_config_command(args: argparse.Namespace) -> int:
    sys.stdout.write(load_config(args, check_paths=False).to_toml(documented=True))
    return 0


def _lazy(module: str, name: str) -> Callable:
    """Import a subcommand's function on first use, so optional extras (torch) load only when needed."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call


# (name, help, add-arguments, command)
COMMANDS = [
    ("run", "score a competition folder and write submission.csv", add_run_arguments, run_command),
    ("cv", "cross-validate on labelled files (leave-prompt/source/corpus-out, attacks)",
     _lazy("daigt.evaluation", "add_cv_arguments"), _lazy("daigt.evaluation", "cv_command")),
    ("report", "write a self-contained HTML report (ROC, per-prompt AUC, calibration)",
     _lazy("daigt.evaluation", "add_report_arguments"), _lazy("daigt.evaluation", "report_command")),
    ("train-transformer", "fine-tune a local encoder checkpoint with prompt-grouped k-fold (needs the torch extra)",
     _lazy("daigt.transformer.cli", "add_train_arguments"), _lazy("daigt.transformer.cli", "train_command")),
    ("rehearse", "rehearse the scoring run on training essays (what the Kaggle kernel's commit run does)",
     _lazy("daigt.rehearsal", "add_arguments"), _lazy("daigt.rehearsal", "command")),
    ("config", "print the resolved config as documented TOML",
     add_show_config_arguments, show_config_command),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daigt", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"daigt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text, add_arguments, command in COMMANDS:
        child = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(child)
        child.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
        child.set_defaults(func=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from daigt.data import DataError
    from daigt.tokenizer import ensure_tokenizers_parallelism

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    ensure_tokenizers_parallelism()
    previous = _exit_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except (DataError, ConfigError) as exc:
        print(f"daigt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: outputs were rolled back on the way here; no traceback needed
        print(f"daigt {args.command}: interrupted (outputs are either all new or all as before)", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm():
    """Turn SIGTERM (a Kaggle or CI timeout, ``kill``) into ``SystemExit(143)`` so that ``finally`` blocks run and
    no temporary output file is left behind; returns the previous handler (None when none was installed)."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        return None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
