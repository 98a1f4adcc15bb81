"""Options several commands share: the config (``--config``/``--set``) and range-checked numbers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from daigt.config import Config, ConfigError, Range, check_local_paths


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path,
                        help="TOML file with config fields (default: the kit's defaults, printed by `daigt config`; "
                             "they differ from the public recipe, which daigt.config.PUBLIC_RECIPE's overrides restore)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
        help="override one config field, e.g. --set features.min_df=2 (repeatable; applied after --config)",
    )


def load_config(args: argparse.Namespace, check_paths: bool = True) -> Config:
    """The checked config of a command, before it reads any data; ``check_paths`` also requires the model
    directories it names to exist here (off for commands that only print or package a config)."""
    config = Config.from_toml(args.config) if args.config else Config()
    config = config.with_overrides(args.overrides)
    if check_paths:
        check_local_paths(config)
        if config.transformer.model_dir:  # an explicit model that is not one must not be dropped with a warning
            from daigt.transformer.checkpoints import find_model_dirs

            try:
                find_model_dirs(config.transformer.model_dir)
            except FileNotFoundError as exc:
                raise ConfigError(f"transformer.model_dir: {exc} (or set it to \"\" to run without)") from None
    return config


def bounded(kind: type, low: float, high: float | None = None) -> Callable[[str], Any]:
    """An argparse ``type`` that refuses out-of-range numbers at parse time (exit 2 naming the option), before
    any file is read, with the bounds and wording of the config loader's :class:`~daigt.config.Range`."""
    allowed = Range(low, high)

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value not in allowed:
            raise argparse.ArgumentTypeError(f"{text} is out of range: use a value {allowed}")
        return value

    return parse
