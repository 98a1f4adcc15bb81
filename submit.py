#!/usr/bin/env python3
"""Dry-run the Kaggle submission locally, offline, the way Kaggle will run it (``python submit.py --help``).

The code is ``daigt_kaggle.dryrun`` in src/.
"""

import sys
from pathlib import Path

# This script runs on a bare Python, before anything is installed (it builds the kit dataset it attaches),
# so it imports the tooling from the working tree.
sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from daigt_kaggle.dryrun import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
