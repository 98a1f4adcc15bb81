"""``daigt cv``: cross-validate on labelled files with one protocol, or a suite of protocols under several configs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from daigt.cli.common import add_config_arguments, bounded, load_config

if TYPE_CHECKING:
    from daigt.evaluation import ProtocolOptions

HELP = "cross-validate on labelled files (leave-prompt/source/corpus-out, attacks)"

# The parser's choices, spelled out so that building it (``daigt --version``, ``daigt config``) does not import
# daigt.evaluation and with it pandas, scikit-learn and the pipeline. tests/test_cli.py checks that they are
# exactly daigt.evaluation's PROTOCOLS, MODELS and SUITES.
PROTOCOLS = ("group-kfold", "lopo", "loso", "lcoo", "attack")
MODELS = ("baseline", "causal-lm", "lm", "pipeline", "style")
SUITES = ("hard",)


def add_protocol_arguments(parser: argparse.ArgumentParser, files_required: bool) -> None:
    """The input files, the protocol and its options, the config and the model: shared by ``cv`` and ``report``."""
    parser.add_argument(
        "files", nargs="+" if files_required else "*", metavar="CSV",
        help="labelled CSV files (text,label,prompt_name,source)",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="group-kfold",
                        help="how groups are held out (default: %(default)s)")
    parser.add_argument("--folds", type=bounded(int, 2), default=5, metavar="K", help="folds for group-kfold (default: 5)")
    parser.add_argument("--prompts", nargs="+", metavar="NAME",
                        help="lopo: prompts to hold out (default: every prompt with --min-rows rows)")
    parser.add_argument("--sources", nargs="+", metavar="NAME", help="loso: generators to hold out")
    parser.add_argument("--corpora", nargs="+", metavar="FILE", help="lcoo: files to hold out (default: all with both labels)")
    parser.add_argument("--attack", nargs="+", metavar="CSV", default=None,
                        help="attack: files of adversarial machine texts (default: input files named *attack*)")
    parser.add_argument("--human-split", choices=("random", "prompt"), default="random",
                        help="loso/attack: how the human half for testing is drawn (default: %(default)s)")
    parser.add_argument("--min-rows", type=bounded(int, 1), default=20, help="lopo/loso: smallest group that becomes a fold")
    add_config_arguments(parser)
    parser.add_argument("--model", choices=MODELS, default="pipeline",
                        help="what is trained per fold (default: the kit's pipeline)")
    parser.add_argument("--test-noise", type=bounded(float, 0.0, 1.0), default=0.0, metavar="RATE",
                        help="test condition: give RATE of the test essays character noise (simulated obfuscation; "
                             "defences are config options, e.g. --set augment.typo_rate=0.3)")
    parser.add_argument("--test-char-noise", type=bounded(float, 0.0, 1.0), default=0.02, metavar="P",
                        help="per-letter noise probability of --test-noise (default: %(default)s)")


def protocol_options(args: argparse.Namespace) -> ProtocolOptions:
    from daigt.evaluation import ProtocolOptions

    return ProtocolOptions(protocol=args.protocol, folds=args.folds, prompts=args.prompts, sources=args.sources,
                           corpora=args.corpora, attack=args.attack, human_split=args.human_split,
                           min_rows=args.min_rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_protocol_arguments(parser, files_required=True)
    parser.add_argument("--out", metavar="DIR", help="save predictions and tables (CSV + result.json) here")
    parser.add_argument("--report", metavar="HTML", help="also write the HTML report here")
    parser.add_argument("--suite", choices=SUITES,
                        help="run a fixed set of protocols (ignores --protocol) under several configs and print one "
                             "AUC table; 'hard': the hard-cases protocols with the public recipe beside")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="suite: the configs to compare, by name (default: all; see --variant)")
    parser.add_argument("--variant", action="append", metavar="NAME=OVERRIDES",
                        help="suite: add a config, e.g. --variant 'lm logistic=ensemble.lm.weight=0.1 ensemble.lm.model=logistic'")
    parser.add_argument("--resume", action="store_true",
                        help="suite: reuse cells saved under --out whose config is unchanged")
    parser.add_argument("--cells", nargs="+", choices=PROTOCOLS, metavar="PROTOCOL",
                        help="suite: run only the cells of these protocols (e.g. to spread a suite over processes)")
    parser.add_argument("--saved-only", action="store_true",
                        help="suite: print the table of the cells saved under --out, run nothing")


def command(args: argparse.Namespace) -> int:
    """Run a protocol, print the tables, optionally save them and an HTML report."""
    from daigt.evaluation import run_protocol

    if args.suite:
        return suite_command(args)
    result = run_protocol(args.files, protocol_options(args), load_config(args), model=args.model,
                          test_noise=args.test_noise, test_char_noise=args.test_char_noise, progress=not args.quiet)
    print(result.to_text())
    if args.out:
        print(f"saved to {result.save(args.out)}")
    if args.report:
        from daigt.report import write_report

        print(f"report: {write_report(result, args.report)}")
    return 0


def suite_command(args: argparse.Namespace) -> int:
    """``daigt cv --suite NAME``: the suite's table (also saved as ``suite.md`` / ``suite.csv`` under --out)."""
    from daigt.evaluation import run_suite, suite_text

    table = run_suite(args.files, args.suite, load_config(args), protocol_options(args), model=args.model,
                      variants=args.variants, extra_variants=args.variant or (), cells=args.cells, out=args.out,
                      resume=args.resume, saved_only=args.saved_only, progress=not args.quiet)
    text = suite_text(table)
    print(text)
    if args.out:
        from daigt.io import write_text_atomic

        write_text_atomic(Path(args.out) / "suite.md", text + "\n")
        write_text_atomic(Path(args.out) / "suite.csv", table.to_csv())
        print(f"saved to {args.out}")
    return 0
