"""Honest validation: protocols that hold out what the hidden test holds out, and the metrics to read them.

One module per concern: :mod:`~daigt.evaluation.metrics` (AUC, TPR at low FPR), :mod:`~daigt.evaluation.splits`
(the splitters), :mod:`~daigt.evaluation.results` (held-out scores and their tables), :mod:`~daigt.evaluation.protocol`
(the CV loop and the models ``daigt cv --model`` trains) and :mod:`~daigt.evaluation.suite` (several protocols
under several configs). The command line lives in :mod:`daigt.cli`; nothing here parses arguments.
"""

from daigt.evaluation.metrics import FPR_TARGETS, auc, tpr_at_fpr
from daigt.evaluation.protocol import MODELS, PROTOCOLS, ProtocolOptions, evaluate, protocol_folds, run_protocol, \
    with_test_noise
from daigt.evaluation.results import EvalResult, length_bucket, length_table
from daigt.evaluation.splits import EvaluationError, Fold, attack_split, leave_one_corpus_out, leave_one_prompt_out, \
    leave_one_source_out, prompt_group_kfold, validate_frame
from daigt.evaluation.suite import SUITES, run_suite, suite_text

__all__ = [
    "FPR_TARGETS", "MODELS", "PROTOCOLS", "SUITES", "EvalResult", "EvaluationError", "Fold", "ProtocolOptions",
    "attack_split", "auc", "evaluate", "leave_one_corpus_out", "leave_one_prompt_out", "leave_one_source_out",
    "length_bucket", "length_table", "prompt_group_kfold", "protocol_folds", "run_protocol", "run_suite",
    "suite_text", "tpr_at_fpr", "validate_frame", "with_test_noise",
]
