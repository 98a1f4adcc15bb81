#!/usr/bin/env python3
"""Build the kit's offline Kaggle dataset (``python build_dataset.py --help``), write kernel folders
(``python build_dataset.py kernel --help``) or publish (``python build_dataset.py publish --help``).

The code is the ``daigt_kaggle`` package in src/ (``daigt_kaggle.dataset``, ``.kernels``, ``.publish``).
"""

import sys
from pathlib import Path

# This script runs on a bare Python, before anything is installed (the kit's own wheel is what it builds),
# so it imports the tooling from the working tree.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from daigt_kaggle.dataset import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
