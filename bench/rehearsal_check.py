"""How far off is the commit-run rehearsal's extrapolation? Compare it with a real run on 9,000 test essays.

    python bench/rehearsal_check.py [--data ../shared/data] [--train data/sample/daigt-external/train.csv]

Builds two copies of the embedded sample's competition folder: one with a 3-row placeholder test set, one with
9,000 test essays drawn (seeded, without replacement where possible) from the CSVs under --data. Runs
``python -m daigt rehearse`` on the first (what the Kaggle kernel does on the commit run) and ``daigt run`` on
the second, with the same training file and config, and prints the extrapolated and the measured wall time
and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "llm-detect-ai-generated-text"


def competition_copy(folder: Path, texts: pd.Series) -> Path:
    shutil.copytree(SAMPLE, folder)
    test = pd.DataFrame({"id": [f"t{i:05d}" for i in range(len(texts))], "prompt_id": "0", "text": texts.to_numpy()})
    test.to_csv(folder / "test_essays.csv", index=False)
    test[["id"]].assign(generated=0.5).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--train", type=Path, default=REPO / "data" / "sample" / "daigt-external" / "train.csv")
    parser.add_argument("--config", type=Path, default=REPO / "kernels" / "daigt-submit" / "config.toml")
    parser.add_argument("--n-test", type=int, default=9000)
    args = parser.parse_args()
    pool = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(args.data.glob("*.csv"))])
    pool = pool[pool["text"].str.strip() != ""]
    texts = pool["text"].sample(n=args.n_test, replace=len(pool) < args.n_test, random_state=0)
    common = ["--train", str(args.train), "--config", str(args.config)]
    with tempfile.TemporaryDirectory(prefix="daigt-rehearsal-check-") as tmp:
        placeholder = competition_copy(Path(tmp) / "placeholder", texts.head(3))
        full = competition_copy(Path(tmp) / "full", texts)
        rehearsal = subprocess.run([sys.executable, "-m", "daigt", "rehearse", "--competition-dir", str(placeholder), *common],
                                   capture_output=True, text=True)
        print(rehearsal.stdout, end="")
        if rehearsal.returncode != 0:
            print(rehearsal.stderr, file=sys.stderr)
            return rehearsal.returncode
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "daigt", "run", "-q", "--competition-dir", str(full), *common,
                                 "--out", str(Path(tmp) / "submission.csv")], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
    line = re.search(r"wall ([\d,]+) s .*peak RSS ([\d.]+) GiB", rehearsal.stdout)
    print(f"extrapolated: {line.group(1)} s, {line.group(2)} GiB; measured on {args.n_test:,} test essays "
          f"(exit {proc.returncode}): {seconds:,.0f} s, {usage.ru_maxrss / 1024 ** 2:.1f} GiB")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
