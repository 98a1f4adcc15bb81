"""The errors of bad input, in a module that imports nothing.

Each one means "the input cannot be used as given" (the message names the file, column, row or option and the
fix), and the command line turns each into exit status 2 (:data:`daigt.cli.USER_ERRORS`). They live here, not
beside the code that raises them, so that the command line can name them without importing pandas, scikit-learn
and the pipeline: ``daigt --version`` and ``daigt config`` stay light. Each is also importable from its own
module (:class:`daigt.data.DataError`, :class:`daigt.folds.FoldError`,
:class:`daigt.evaluation.EvaluationError`, :class:`daigt.rehearsal.RehearsalFailed`).
"""

from __future__ import annotations


class DataError(ValueError):
    """An input file that cannot be used; the message names file, column, row and how to fix it."""


class FoldError(ValueError):
    """Rows that cannot be split into the folds asked for; the message says why and how to fix it."""


class EvaluationError(ValueError):
    """A data frame, fold or prediction that cannot be evaluated; the message says what and how to fix it."""


class RehearsalFailed(RuntimeError):
    """The pipeline failed on the stand-in test set."""
