"""``daigt run``: score a competition folder and write ``submission.csv``."""

from __future__ import annotations

import argparse
from pathlib import Path

from daigt.cli.common import add_config_arguments, load_config

HELP = "score a competition folder and write submission.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--competition-dir", type=Path, required=True,
                        help="folder with test_essays.csv (and train_essays.csv, train_prompts.csv)")
    parser.add_argument("--train", type=Path, nargs="*", default=[], metavar="FILE",
                        help="external training CSVs (text,label,prompt_name,source); the competition's own "
                             "train_essays.csv is always used too")
    parser.add_argument("--out", type=Path, default=Path("submission.csv"), help="submission path (default: %(default)s)")
    parser.add_argument("--labels", type=Path, help="optional CSV id,generated with the test essays' true labels: prints AUC")
    add_config_arguments(parser)


def command(args: argparse.Namespace) -> int:
    from daigt.data import read_competition_dir
    from daigt.pipeline import run
    from daigt.submission import auc_against_labels, check_output_paths, read_labels

    config = load_config(args)
    inputs = [args.competition_dir, *args.train, *(p for p in (args.labels, args.config) if p)]
    check_output_paths(args.out, inputs)
    competition, labels = args.competition_dir, None
    if args.labels:  # checked before any training: a bad labels file fails in a second, not after the run
        competition = read_competition_dir(args.competition_dir)
        labels = read_labels(args.labels, test_ids=competition.test["id"])
    result = run(config, competition, args.train, args.out, show_progress=not args.quiet)
    print(f"wrote {result.path} ({len(result.submission)} rows{', placeholder guard' if result.guarded else ''})")
    for name, seconds, peak in result.stages.rows:
        print(f"  {name:<24} {seconds:8.2f}s   peak RSS {peak:8.0f} MiB")
    if labels is not None:
        print(f"AUC against {args.labels}: {auc_against_labels(result.submission, args.labels, labels):.4f}")
    return 0
