"""Optional extras (``torch``, ``matplotlib``): one error for "this feature needs a package you did not install".

The TF-IDF path runs on the base install; the transformer track and the HTML report need extras. A missing extra
is a setup problem with a one-line fix, not a bug, so it gets its own error (the command line prints its message
and exits 2) instead of an ImportError traceback from deep inside a library.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """A feature needs an optional extra that is not installed; the message names the pip command."""


def import_extra(module: str, extra: str, feature: str) -> ModuleType:
    """``module`` imported, or a :class:`MissingExtraError` naming ``feature`` and ``pip install 'daigt-kit[extra]'``
    when one of its third-party dependencies is missing (a missing ``daigt`` module is a bug and propagates)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "daigt":
            raise
        raise MissingExtraError(
            f"{feature} needs the optional extra {extra!r} ({exc.name} is not installed). "
            f"Fix: pip install 'daigt-kit[{extra}]'"
        ) from exc
