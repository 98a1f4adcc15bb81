"""``daigt rehearse``: the commit run's rehearsal (:mod:`daigt.rehearsal`), run by the submission kernel when
Kaggle saves it: validate the config and every training file, run the real pipeline on training essays standing
in as test, and extrapolate its time and memory to the hidden test."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from daigt.cli.common import add_config_arguments, load_config

HELP = "prove on Kaggle's placeholder run that the hidden scoring run will work (validate, run, extrapolate)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--competition-dir", type=Path, required=True)
    parser.add_argument("--train", type=Path, nargs="*", default=[], metavar="FILE")
    parser.add_argument("--work-dir", type=Path, default=None, help="scratch folder (default: a fresh temporary one)")
    add_config_arguments(parser)


def command(args: argparse.Namespace) -> int:
    from daigt.rehearsal import rehearse, say

    config = load_config(args)
    say(f"config valid ({args.config or 'defaults'}{f' + {len(args.overrides)} override(s)' if args.overrides else ''})")
    config_args = (["--config", str(args.config)] if args.config else []) + [a for o in args.overrides for a in ("--set", o)]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="daigt-rehearsal-"))
    try:
        rehearse(config, args.competition_dir, args.train, work, config_args)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0
