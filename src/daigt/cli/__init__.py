"""The ``daigt`` command: a thin layer over the library, one module per subcommand.

Every argparse parser lives in this package and nothing in the library imports it. Each command module has
``HELP``, ``add_arguments(parser)`` and ``command(args) -> exit status``; :func:`main` is the one place that
turns errors into exit codes (:data:`USER_ERRORS`). An exception not listed there is a bug and keeps its
traceback.

Importing this package (what ``daigt --version``, ``daigt --help`` and ``daigt config`` pay for) loads no pandas,
scikit-learn, scipy or torch: the error classes come from the import-free :mod:`daigt.errors`, the choices of
``daigt cv`` are spelled out in :mod:`daigt.cli.cv`, and each command imports the library it runs inside
``command`` (tests/test_cli.py holds all of this).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Sequence

from daigt import __version__
from daigt.cli import config, cv, rehearse, report, run, train_transformer
from daigt.config import ConfigError
from daigt.errors import DataError, EvaluationError, FoldError, RehearsalFailed
from daigt.extras import MissingExtraError
from daigt.parallel import ensure_tokenizers_parallelism
from daigt.transformer.checkpoints import CheckpointError  # torch-free: imports only daigt.config

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

Exit status: 0 on success, 2 on bad input or config (the message names the file, column, row and fix),
3 when train-transformer paused at a stop limit, 130 on Ctrl-C, 143 on SIGTERM.
"""

COMMANDS = {
    "run": run,
    "cv": cv,
    "report": report,
    "train-transformer": train_transformer,
    "rehearse": rehearse,
    "config": config,
}
"""Subcommand name -> its module (``HELP``, ``add_arguments``, ``command``)."""

USER_ERRORS: tuple[type[BaseException], ...] = (
    ConfigError,  # a config file or override that cannot be applied
    DataError,  # an input file with a bad column, row or value
    EvaluationError,  # a protocol that cannot split the given files
    FoldError,  # rows that cannot be split into the folds asked for
    CheckpointError,  # a checkpoint or training output directory that cannot be used as asked
    RehearsalFailed,  # the pipeline failed on the rehearsal's stand-in test set
    MissingExtraError,  # an optional extra (torch, matplotlib) is not installed
    FileNotFoundError,  # a path given on the command line does not exist
)
"""Errors of the input, not of the kit: the message (which names the file, field or row and the fix) is printed
and the exit status is 2. Every other exception propagates with its traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="daigt", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"daigt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        child = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(child)
        child.add_argument("-q", "--quiet", action="store_true", help="no progress bars, warnings only")
        child.set_defaults(func=module.command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
    except USER_ERRORS as exc:
        print(f"daigt {args.command}: error: {exc}", file=sys.stderr, flush=True)
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
