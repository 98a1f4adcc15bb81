"""``daigt config``: the resolved config as documented TOML (every field, its default and its doc)."""

from __future__ import annotations

import argparse
import sys

from daigt.cli.common import add_config_arguments, load_config

HELP = "print the resolved config as documented TOML"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def command(args: argparse.Namespace) -> int:
    sys.stdout.write(load_config(args, check_paths=False).to_toml(documented=True))
    return 0
