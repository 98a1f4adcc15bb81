"""Validate a dry-run's submission with the kit's own validator: run by path with the run environment's Python
(``python validate_submission.py SUBMISSION SAMPLE LABELS``, LABELS "" when unknown), where the installed kit
and pandas are, as the pipeline validates its own output.

Prints one JSON line: ``{"rows", "auc", "min", "max"}``, or ``{"error"}`` naming the row and column at fault.
"""

import json
import sys

import pandas as pd
from daigt.data import DataError
from daigt.submission import auc_against_labels, read_submission, validate_submission


def main(path, sample, labels):
    try:
        ids = pd.read_csv(sample, dtype={"id": str})["id"].tolist()
        submission = read_submission(path)
        validate_submission(submission, ids, where=path)
        auc = auc_against_labels(submission, labels) if labels else None
    except DataError as exc:
        return {"error": str(exc)}
    return {"rows": len(submission), "auc": auc, "min": float(submission["generated"].min()),
            "max": float(submission["generated"].max())}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
