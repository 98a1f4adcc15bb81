"""``daigt report``: a self-contained HTML report of a saved result (``--from DIR``) or of a protocol run."""

from __future__ import annotations

import argparse

from daigt.cli.common import load_config
from daigt.cli.cv import add_protocol_arguments, protocol_options

HELP = "write a self-contained HTML report (ROC, per-prompt AUC, calibration)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Either ``--from DIR`` (a saved result) or files + protocol options."""
    add_protocol_arguments(parser, files_required=False)
    parser.add_argument("--from", dest="source_dir", metavar="DIR", help="a directory saved by `daigt cv --out`")
    parser.add_argument("--out", metavar="HTML", required=True, help="HTML file to write")
    parser.add_argument("--save", metavar="DIR", help="also save the evaluation result (CSV + JSON) here")


def command(args: argparse.Namespace) -> int:
    from daigt.evaluation import EvalResult, EvaluationError, run_protocol
    from daigt.report import write_report

    config = load_config(args)  # a bad --config / --set fails here, also with --from
    if args.source_dir:
        result = EvalResult.load(args.source_dir)
    elif args.files:
        result = run_protocol(args.files, protocol_options(args), config, model=args.model,
                              test_noise=args.test_noise, test_char_noise=args.test_char_noise, progress=not args.quiet)
        if args.save:
            result.save(args.save)
    else:
        raise EvaluationError("nothing to report: pass --from DIR (saved by `daigt cv --out`) or labelled CSV files")
    print(f"report: {write_report(result, args.out)}")
    return 0
