"""The commit run's rehearsal: make Kaggle's placeholder run prove that the hidden scoring run will work.

When a kernel is saved, Kaggle runs it on a 3-row placeholder test set, where the guard writes 0.5 without
training; the hidden test (~9,000 essays) is scored later, in a run whose log nobody sees. A bad training
file or config would fail only there. The submission kernel therefore runs ``daigt rehearse`` on
the placeholder run: it reads and validates the config and every training file, then runs the real
``daigt run`` (same files, same config) on training essays standing in as test, at two sizes, and
extrapolates its wall time and peak memory linearly in the test size to 9,000 essays against Kaggle's limits.

With the causal LM in use (the member, the pseudo-label guide), the rehearsal first makes the decisions the scoring
run will make itself (its time probes against ``ensemble.causal_lm.time_budget_hours``, on as many training essays
standing in for the hidden test as it holds) and says each in one line; the measured runs then do what the scoring
run will (skip the use, or score from a cold feature cache), so the LM's time is in the extrapolation exactly when
it will be in the real run.

An extrapolation over a limit, or a run past ``guard.rehearsal_max_seconds``, is a warning (it is an
estimate); a bad config or data file, or a pipeline failing on the stand-in test set, is an error
(:class:`RehearsalFailed`, ``ConfigError``, ``DataError``), so the commit run fails with the message.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import pandas as pd

from daigt.config import Config
from daigt.data import PROMPTS_FILE, TEST_FILE, TRAIN_FILE, check_trainable, read_competition_dir, sample_rows
from daigt.errors import RehearsalFailed
from daigt.pipeline import training_rows
from daigt.stages import run_measured

HIDDEN_TEST_ROWS = 9000
"""Size of the competition's hidden test set, the target of the extrapolation."""
TIME_LIMIT_S = 9 * 3600
MEMORY_LIMIT_GIB = 30.0


@dataclass(frozen=True)
class Measurement:
    """One ``daigt run`` on ``n_test`` stand-in essays; ``code`` is None when it was stopped at the cap."""

    n_test: int
    seconds: float
    peak_rss_mib: float
    code: int | None
    output: str


def say(message: str) -> None:
    print(f"[daigt-rehearsal] {message}", flush=True)


def stand_in_competition(competition_dir: Path, test: pd.DataFrame, folder: Path) -> Path:
    """A competition folder whose test set is ``test`` (training essays); the real train files are copied, so
    the stand-in trains on exactly what the scoring run will."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"rehearsal-{i:05d}" for i in range(len(test))]
    pd.DataFrame({"id": ids, "prompt_id": "0", "text": test["text"].to_numpy()}).to_csv(folder / TEST_FILE, index=False)
    for name in (TRAIN_FILE, PROMPTS_FILE):
        if (competition_dir / name).is_file():
            shutil.copyfile(competition_dir / name, folder / name)
    return folder


def measure(command: list[str], n_test: int, cap_s: float) -> Measurement:
    """Run ``command``; wall time and the peak RSS of its process, stopped after ``cap_s``."""
    chunks: list[bytes] = []
    code, seconds, peak = run_measured(command, cap_s, chunks.append)
    return Measurement(n_test, seconds, peak, code, b"".join(chunks).decode("utf-8", "replace"))


def extrapolate(points: list[tuple[int, float]], target: int) -> float:
    """Value at ``target`` of the line through two ``(n, value)`` points (one point: proportional, an upper
    bound for costs with a fixed part). A negative slope (noise) counts as flat."""
    if len(points) == 1:
        n, value = points[0]
        return value * target / n
    (n1, v1), (n2, v2) = sorted(points)
    slope = max(0.0, (v2 - v1) / (n2 - n1))
    return v2 + slope * (target - n2)


def rehearsal_sizes(config: Config, n_train: int) -> list[int]:
    """Stand-in test sizes, largest first (it pays for the cold file cache, so the slope errs high)."""
    n = min(config.guard.rehearsal_rows, n_train // 2)
    if n < 2 * config.guard.min_test_rows:
        return []
    return [n, n // 2]


def run_command(competition_dir: Path, train: Sequence[Path], out: Path, config_args: Sequence[str]) -> list[str]:
    """The ``daigt run`` child of one measurement; ``config_args`` (``--config``/``--set``) as the caller got them."""
    return [sys.executable, "-m", "daigt", "run", "-q", "--competition-dir", str(competition_dir),
            "--train", *map(str, train), "--out", str(out), *config_args]


def rehearse(config: Config, competition_dir: Path, train_files: Sequence[Path], work: Path,
             config_args: Sequence[str] = ()) -> None:
    """Validate every training file, then run ``daigt run`` (with ``config_args``, which must give ``config``)
    on training essays standing in as test, in scratch folders under ``work``, and report the extrapolation."""
    competition = read_competition_dir(competition_dir)
    train = check_trainable(training_rows(config, competition, train_files))
    per_file = train["file"].value_counts(sort=False)
    say(f"training data valid: {len(train):,} essays ({int(train['label'].sum()):,} machine) from "
        + ", ".join(f"{name} ({count:,})" for name, count in per_file.items()))
    if 0 < config.data.max_train_rows < len(train):
        say(f"the run trains on a stratified sample of {config.data.max_train_rows:,} of them (data.max_train_rows)")
    n_fit = min(len(train), config.data.max_train_rows or len(train))
    sizes = rehearsal_sizes(config, n_fit)
    if not sizes:
        say(f"no pipeline rehearsal: it needs guard.rehearsal_rows (here {config.guard.rehearsal_rows}) and half the "
            f"training essays (here {n_fit // 2}) both at least 2 x guard.min_test_rows")
        return
    uses = causal_lm_decisions(config, train)
    measurements: list[Measurement] = []
    budget = config.guard.rehearsal_max_seconds
    for n in sizes:
        test = sample_rows(train, n, seed=config.seed)
        folder = stand_in_competition(competition.path, test, work / f"stand-in-{n}")
        say(f"full pipeline on {n:,} training essays standing in as test (cap {budget:.0f} s) ...")
        args = [*config_args, *causal_lm_args(config, uses, work / f"causal-lm-cache-{n}")]
        m = measure(run_command(folder, train_files, work / f"rehearsal-{n}.csv", args), n, budget)
        if m.code is None:
            say(f"WARNING: stopped after {m.seconds:.0f} s (guard.rehearsal_max_seconds): {n:,} essays alone take "
                f"longer than that, so 9,000 will take longer still; measure the full size off Kaggle or lower the cost")
            break
        if m.code != 0:
            print(m.output[-6000:], flush=True)
            raise RehearsalFailed(f"`daigt run` failed (exit {m.code}) on {n:,} training essays standing in as test; "
                                  f"the hidden scoring run would fail the same way: its message is above")
        say(f"  {n:,} essays: {m.seconds:.1f} s, peak RSS {m.peak_rss_mib:,.0f} MiB")
        measurements.append(m)
        budget -= m.seconds
        if budget <= 0:
            break
    if measurements:
        report_extrapolation(measurements)


def causal_lm_decisions(config: Config, train: pd.DataFrame) -> dict[str, bool]:
    """For each use of the causal LM the config makes (``member``, the pseudo-label ``guide``), whether the scoring
    run will make it, each said in one line; empty when the LM is not used.

    The same timed probes the scoring run makes (:func:`daigt.transformer.causal_lm.check_time_budget`), on up to
    9,000 training essays standing in for the hidden test, without the feature cache (the scoring run's is cold).
    """
    section, pseudo = config.ensemble.causal_lm, config.pseudo_label
    wanted = {"member": section.weight > 0, "guide": pseudo.enabled and pseudo.guide != "none"}
    if not any(wanted.values()):
        return {}
    from daigt.transformer.causal_lm import CausalLMScorer, check_time_budget  # torch: only when the LM is used

    n = min(HIDDEN_TEST_ROWS, len(train))
    stand_in = sample_rows(train, n, seed=config.seed)["text"].tolist()
    limit = config.data.max_train_rows
    fitted = sample_rows(train, limit, seed=config.seed) if 0 < limit < len(train) else train
    fits = config.ensemble.stack.n_folds + 1 if config.ensemble.stack.enabled else 1
    cold = replace(section, cache_dir="")
    scorer = CausalLMScorer.from_config(cold)  # shared as in the scoring run: the model loads once
    decisions = {}
    for use, label, train_texts in (("member", "causal-LM member", fitted["text"].tolist()),
                                    ("guide", "pseudo-label guide", [])):  # the guide scores the test texts only
        if wanted[use]:
            check = check_time_budget(cold, stand_in, train_texts, fits, config.seed, scorer)
            say(f"{label}: the scoring run will {'use' if check.fits else 'SKIP'} it ({n:,} training essays "
                f"standing in for the hidden test; {check.summary()})")
            decisions[use] = check.fits
    return decisions


def causal_lm_args(config: Config, decisions: dict[str, bool], cache: Path) -> list[str]:
    """``--set`` overrides that make a measured run treat each use of the causal LM as the scoring run will:
    skipped, or scored from an empty feature cache of its own (a cache shared between the two runs would hide the
    second run's scoring time and bend the extrapolation)."""
    args = []
    if decisions.get("member") is False:
        args += ["--set", "ensemble.causal_lm.weight=0"]
    if decisions.get("guide") is False:
        args += ["--set", 'pseudo_label.guide="none"']
    if any(decisions.values()) and config.ensemble.causal_lm.cache_dir:
        args += ["--set", f"ensemble.causal_lm.cache_dir={json.dumps(str(cache))}"]
    return args


def report_extrapolation(measurements: list[Measurement]) -> None:
    seconds = extrapolate([(m.n_test, m.seconds) for m in measurements], HIDDEN_TEST_ROWS)
    gib = extrapolate([(m.n_test, m.peak_rss_mib) for m in measurements], HIDDEN_TEST_ROWS) / 1024
    how = "linear in the test size through both runs" if len(measurements) > 1 else "proportional to one run"
    say(f"extrapolated to {HIDDEN_TEST_ROWS:,} test essays ({how}): wall {seconds:,.0f} s = "
        f"{seconds / TIME_LIMIT_S:.1%} of the 9-hour limit; peak RSS {gib:.1f} GiB = {gib / MEMORY_LIMIT_GIB:.0%} of ~30 GB")
    over = [what for what, share in (("time", seconds / TIME_LIMIT_S), ("memory", gib / MEMORY_LIMIT_GIB)) if share > 1]
    if over:
        say(f"WARNING: the extrapolation exceeds Kaggle's {' and '.join(over)} limit: the scoring run would likely "
            f"fail; lower the cost (LightGBM off, features.min_df=2, a smaller transformer.max_length)")
    else:
        say("within Kaggle's 9-hour and ~30 GB limits")
