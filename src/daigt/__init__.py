"""DAIGT Kit: tell student essays from LLM-written ones, offline."""

from daigt._version import __version__

__all__ = ["__version__"]
