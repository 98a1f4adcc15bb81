"""Honest validation: protocols that hold out what the hidden test holds out, and the metrics to read them.

CV on the competition's train set was useless because the hidden test asks about *unseen* prompts, generators
and noise. Every protocol here therefore holds out a whole group (a prompt, a generator, a corpus, a set of
adversarial texts) and trains on the rest, so a score says how the kit generalises rather than how well it
memorises a topic. Folds index rows by position (``df.iloc``) so they work on any index.

The metric helpers take plain arrays; ``evaluate`` runs any ``fit_predict(config, train_df, test_texts)``
callable (``daigt.pipeline.fit_predict`` has exactly that signature) over the folds and tabulates AUC and
TPR at low FPR overall, per fold, per prompt and per generator.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from daigt.cli import add_config_arguments, load_config
from daigt.config import Config, ConfigError, Range

log = logging.getLogger("daigt")

REQUIRED_COLUMNS = ("text", "label", "prompt_name", "source", "file")
PROTOCOLS = ("group-kfold", "lopo", "loso", "lcoo", "attack")
FPR_TARGETS = (0.01, 0.05)

FitPredict = Callable[[Config, pd.DataFrame, list], np.ndarray]


class EvaluationError(ValueError):
    """A data frame, fold or prediction that cannot be evaluated; the message says what and how to fix it."""


@dataclass(frozen=True)
class Fold:
    """One held-out group: positions (``df.iloc``) of its training and test rows, never overlapping."""

    name: str
    train_idx: np.ndarray
    test_idx: np.ndarray

    def __post_init__(self) -> None:
        if np.intersect1d(self.train_idx, self.test_idx).size:
            raise EvaluationError(f"fold {self.name!r}: train and test rows overlap")
        if len(self.test_idx) == 0 or len(self.train_idx) == 0:
            raise EvaluationError(f"fold {self.name!r}: empty train or test set")


# ---- metrics -----------------------------------------------------------------------------------------
def auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """ROC AUC, or NaN when only one label is present (a fold that cannot be scored, not an error)."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, np.asarray(scores, dtype=np.float64)))


def tpr_at_fpr(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, max_fpr: float) -> float:
    """Share of machine essays caught at the best threshold that flags at most ``max_fpr`` of human essays.

    AUC averages over all thresholds; a detector is used at one threshold with few false accusations, which
    is what this reports. Tied scores are never split (a threshold flags all rows of a score or none).
    """
    from sklearn.metrics import roc_curve

    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2:
        return float("nan")
    fpr, tpr, _ = roc_curve(labels, np.asarray(scores, dtype=np.float64), drop_intermediate=False)
    return float(tpr[fpr <= max_fpr + 1e-12].max())


def _metric_row(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    row: dict[str, Any] = {
        "n_human": int((labels == 0).sum()),
        "n_machine": int((labels == 1).sum()),
        "auc": auc(labels, scores),
    }
    for target in FPR_TARGETS:
        row[_tpr_column(target)] = tpr_at_fpr(labels, scores, target)
    return row


def _tpr_column(target: float) -> str:
    return f"tpr_at_{target * 100:g}pct_fpr"


# ---- protocols -----------------------------------------------------------------------------------------
def validate_frame(df: pd.DataFrame, where: str = "data") -> None:
    """Fail early, naming the column and the fix, instead of deep inside a fold."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise EvaluationError(
            f"{where}: missing column(s) {missing}; labelled data needs {list(REQUIRED_COLUMNS)} "
            "(read it with daigt.data.read_training_files)"
        )
    bad = ~df["label"].isin([0, 1])
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise EvaluationError(
            f"{where}: column 'label' row {pos} has {df['label'].iloc[pos]!r}; labels must be 0 (human) or 1 (machine)"
        )


def _labels(df: pd.DataFrame) -> np.ndarray:
    return df["label"].to_numpy(dtype=np.int64)


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].astype("object").where(df[name].notna(), "").astype(str).to_numpy()


def _fold_or_skip(name: str, train: np.ndarray, test: np.ndarray, labels: np.ndarray) -> Fold | None:
    """A fold whose test rows carry one label has no AUC: skip it, loudly, rather than report NaN later."""
    present = np.unique(labels[test])
    if len(present) < 2:
        log.warning("fold %r skipped: its %d test rows all have label %s", name, len(test), present.tolist())
        return None
    if len(train) == 0 or len(np.unique(labels[train])) < 2:
        log.warning("fold %r skipped: its training rows do not contain both labels", name)
        return None
    return Fold(name, np.sort(train).astype(np.int64), np.sort(test).astype(np.int64))


def _complement(n: int, test: np.ndarray) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask)


def prompt_group_kfold(df: pd.DataFrame, n_splits: int = 5, seed: int = 42) -> list[Fold]:
    """K folds with every prompt in exactly one test fold (prompt-disjoint train/test).

    Prompts are shuffled by ``seed`` and dealt largest-first to the currently smallest fold, so folds are
    balanced in rows and the split is reproducible.
    """
    validate_frame(df)
    prompts = _column(df, "prompt_name")
    names, counts = np.unique(prompts, return_counts=True)
    if n_splits < 2 or n_splits > len(names):
        raise EvaluationError(f"group-kfold: n_splits={n_splits} must be between 2 and the {len(names)} prompts")
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes = np.zeros(n_splits, dtype=np.int64)
    fold_of: dict[str, int] = {}
    for i in order:
        k = int(np.argmin(sizes))
        fold_of[names[i]] = k
        sizes[k] += counts[i]
    assignment = np.array([fold_of[p] for p in prompts])
    labels, folds = _labels(df), []
    for k in range(n_splits):
        test = np.flatnonzero(assignment == k)
        fold = _fold_or_skip(f"fold{k}", _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def leave_one_prompt_out(
    df: pd.DataFrame, prompts: Sequence[str] | None = None, min_rows: int = 20
) -> list[Fold]:
    """One fold per prompt: test on all its essays, train on every other prompt's.

    ``prompts`` picks which prompts become test folds (all with ``min_rows`` rows by default); training always
    uses every other prompt, so the folds measure transfer to an unseen topic.
    """
    validate_frame(df)
    column = _column(df, "prompt_name")
    names, counts = np.unique(column, return_counts=True)
    if prompts is None:
        chosen = [str(n) for n, c in zip(names, counts) if c >= min_rows]
    else:
        unknown = sorted(set(prompts) - set(names.tolist()))
        if unknown:
            raise EvaluationError(
                f"lopo: prompt(s) {unknown} not in column 'prompt_name'; known: {sorted(names.tolist())[:20]}"
            )
        chosen = list(prompts)
    labels, folds = _labels(df), []
    for name in chosen:
        test = np.flatnonzero(column == name)
        fold = _fold_or_skip(name, _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def _human_halves(df: pd.DataFrame, seed: int, by: str = "random") -> tuple[np.ndarray, np.ndarray]:
    """Split human rows in two: (held out for testing, kept for training).

    ``random`` halves every prompt's humans (the test humans share topics with training humans);
    ``prompt`` deals whole prompts to either half, so test humans also write on topics unseen among training
    humans (machine rows on those topics remain in training, so this is not prompt-disjoint overall).
    """
    rng = np.random.default_rng(seed)
    humans = np.flatnonzero(_labels(df) == 0)
    prompts = _column(df, "prompt_name")[humans]
    held: list[np.ndarray] = []
    if by == "random":
        for name in np.unique(prompts):
            rows = rng.permutation(humans[prompts == name])
            held.append(rows[: (len(rows) + 1) // 2])
    elif by == "prompt":
        names = rng.permutation(np.unique(prompts))
        target, total = len(humans) / 2, 0
        for name in names:
            if total >= target:
                break
            rows = humans[prompts == name]
            held.append(rows)
            total += len(rows)
    else:
        raise EvaluationError(f"human split {by!r}: expected 'random' or 'prompt'")
    test = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    return test, np.setdiff1d(humans, test)


def leave_one_source_out(
    df: pd.DataFrame,
    seed: int = 42,
    sources: Sequence[str] | None = None,
    min_rows: int = 20,
    human_split: str = "random",
) -> list[Fold]:
    """One fold per generator: can the model catch an LLM it never saw?

    The test set of fold ``s`` is every machine row of source ``s`` plus one fixed half of the human rows
    (seeded; see ``_human_halves``); training is every other generator's rows plus the other human half.
    The human half is the same for all folds, so per-generator AUCs are compared against the same humans.
    """
    validate_frame(df)
    labels = _labels(df)
    source = _column(df, "source")
    test_humans, train_humans = _human_halves(df, seed, human_split)
    machine = labels == 1
    names, counts = np.unique(source[machine], return_counts=True)
    chosen = list(sources) if sources is not None else [str(n) for n, c in zip(names, counts) if c >= min_rows]
    unknown = sorted(set(chosen) - set(names.tolist()))
    if unknown:
        raise EvaluationError(f"loso: source(s) {unknown} have no machine rows in column 'source'")
    folds = []
    for name in chosen:
        held = machine & (source == name)
        test = np.concatenate([np.flatnonzero(held), test_humans])
        train = np.concatenate([np.flatnonzero(machine & ~held), train_humans])
        fold = _fold_or_skip(name, train, test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def leave_one_corpus_out(df: pd.DataFrame, corpora: Sequence[str] | None = None) -> list[Fold]:
    """One fold per source file: train on all other corpora, test on this one.

    Corpora with a single label (machine-only collections) are used for training but never as a test fold:
    they have no AUC of their own.
    """
    validate_frame(df)
    files = np.array([Path(f).name for f in _column(df, "file")])
    names = [str(n) for n in pd.unique(files)]
    if corpora is not None:
        wanted = {Path(c).name for c in corpora} | {Path(c).stem for c in corpora}
        names = [n for n in names if n in wanted or Path(n).stem in wanted]
        if not names:
            raise EvaluationError(f"lcoo: none of {list(corpora)} is a file in column 'file'")
    labels, folds = _labels(df), []
    for name in names:
        test = np.flatnonzero(files == name)
        fold = _fold_or_skip(Path(name).stem, _complement(len(df), test), test, labels)
        if fold is not None:
            folds.append(fold)
    return folds


def attack_split(
    df_clean: pd.DataFrame, df_attack: pd.DataFrame, seed: int = 42, human_split: str = "random"
) -> tuple[pd.DataFrame, list[Fold]]:
    """Adversarial robustness: does the model still catch paraphrased / detector-evading texts?

    Returns the two frames stacked (clean rows first) and one fold: training is the clean rows minus half of
    the human essays; the test is that held-out human half plus every attack row. Attack rows never reach
    training, and the held-out humans make the test scoreable.
    """
    validate_frame(df_clean, "clean data")
    validate_frame(df_attack, "attack data")
    if (df_attack["label"] != 1).any():
        raise EvaluationError("attack data: column 'label' must be 1 for every attack row (they are machine texts)")
    combined = pd.concat([df_clean, df_attack], ignore_index=True)
    test_humans, train_humans = _human_halves(df_clean.reset_index(drop=True), seed, human_split)
    machine_clean = np.flatnonzero(_labels(df_clean) == 1)
    attacks = np.arange(len(df_clean), len(combined))
    train = np.concatenate([machine_clean, train_humans])
    test = np.concatenate([test_humans, attacks])
    fold = _fold_or_skip("attack", train, test, _labels(combined))
    return combined, [fold] if fold is not None else []


# ---- evaluation ----------------------------------------------------------------------------------------
def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating,)):
        return _json_safe(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return _json_safe(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


@dataclass
class EvalResult:
    """Scores of every held-out row and the tables derived from them; saved as CSV + JSON, loaded back."""

    protocol: str
    predictions: pd.DataFrame
    """One row per (fold, test row): fold, row, label, prompt_name, source, file, score."""
    folds: pd.DataFrame
    prompts: pd.DataFrame
    sources: pd.DataFrame
    summary: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None
    timings: list[dict[str, Any]] = field(default_factory=list)

    lengths: pd.DataFrame = field(default_factory=lambda: length_table(pd.DataFrame()))
    """AUC per length bucket (words), per fold and pooled: short texts carry little n-gram evidence."""

    _TABLES = ("predictions", "folds", "prompts", "sources", "lengths")

    @classmethod
    def from_predictions(
        cls,
        protocol: str,
        predictions: pd.DataFrame,
        timings: list[dict[str, Any]] | None = None,
        config: dict[str, Any] | None = None,
        skipped: list[str] | None = None,
    ) -> EvalResult:
        timings = list(timings or [])
        folds, prompts, sources = fold_table(predictions, timings), prompt_table(predictions), source_table(predictions)
        labels, scores = predictions["label"].to_numpy(), predictions["score"].to_numpy()
        pooled = _metric_row(labels, scores)
        summary = {
            "protocol": protocol,
            "n_folds": int(len(folds)),
            "n_predictions": int(len(predictions)),
            "pooled_auc": pooled["auc"],
            "mean_fold_auc": float(folds["auc"].mean()) if len(folds) else float("nan"),
            "min_fold_auc": float(folds["auc"].min()) if len(folds) else float("nan"),
            **{k: pooled[k] for k in pooled if k.startswith("tpr_")},
            "seconds": float(sum(t.get("seconds", 0.0) for t in timings)),
        }
        return cls(protocol, predictions, folds, prompts, sources, summary, list(skipped or []), config, timings,
                   length_table(predictions))

    # ---- serialisation ----
    def to_dict(self) -> dict[str, Any]:
        return _json_safe(
            {
                "protocol": self.protocol,
                "summary": self.summary,
                "skipped": self.skipped,
                "config": self.config,
                "timings": self.timings,
                "folds": _records(self.folds),
                "prompts": _records(self.prompts),
                "sources": _records(self.sources),
                "lengths": _records(self.lengths),
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def save(self, directory: str | Path) -> Path:
        """Write ``result.json`` and one CSV per table; each file atomically, so a crash leaves old files whole."""
        from daigt.io import write_atomic, write_text_atomic

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in self._TABLES:
            frame: pd.DataFrame = getattr(self, name)
            write_atomic(directory / f"{name}.csv", lambda tmp, f=frame: f.to_csv(tmp, index=False))
        write_text_atomic(directory / "result.json", self.to_json() + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> EvalResult:
        directory = Path(directory)
        path = directory / "result.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EvaluationError(f"{path}: not found; pass a directory written by `daigt cv --out DIR`") from None
        tables = {}
        for name in cls._TABLES:
            csv = directory / f"{name}.csv"
            if name == "lengths" and not csv.exists():  # saved before length buckets existed
                continue
            if not csv.exists():
                raise EvaluationError(f"{csv}: not found; the result directory is incomplete, rerun `daigt cv --out`")
            tables[name] = pd.read_csv(csv, keep_default_na=False, na_values=[""])
        for name in ("prompt_name", "source", "file", "fold"):
            for frame in tables.values():
                if name in frame.columns:
                    frame[name] = frame[name].fillna("").astype(str)
        summary = {k: (float("nan") if v is None else v) for k, v in meta["summary"].items()}
        return cls(
            meta["protocol"],
            tables["predictions"],
            tables["folds"],
            tables["prompts"],
            tables["sources"],
            summary,
            meta.get("skipped", []),
            meta.get("config"),
            meta.get("timings", []),
            tables.get("lengths", length_table(tables["predictions"])),
        )

    def to_text(self) -> str:
        """The tables a human reads in a terminal: summary, per fold, per prompt, per source."""
        fmt = {"float_format": lambda v: f"{v:.4f}", "index": False, "formatters": _shorten_formatters()}
        s = self.summary
        lines = [
            f"protocol {self.protocol}: {s['n_folds']} folds, {s['n_predictions']} predictions, {s['seconds']:.1f}s",
            f"pooled AUC {s['pooled_auc']:.4f}  mean fold AUC {s['mean_fold_auc']:.4f}  min fold AUC "
            f"{s['min_fold_auc']:.4f}  TPR@1%FPR {s[_tpr_column(0.01)]:.4f}  TPR@5%FPR {s[_tpr_column(0.05)]:.4f}",
        ]
        lines += [f"skipped: {reason}" for reason in self.skipped]
        tables = (("per fold", self.folds), ("per prompt", self.prompts), ("per source", self.sources),
                  ("per length (words)", self.lengths))
        for title, frame in tables:
            lines += ["", f"== {title} ==", frame.to_string(**fmt) if len(frame) else "(none)"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def _shorten_formatters(width: int = 48) -> dict[str, Callable[[Any], str]]:
    def shorten(value: Any) -> str:
        text = str(value)
        return text if len(text) <= width else text[: width - 1] + "\u2026"

    return {name: shorten for name in ("fold", "prompt_name", "source")}


def fold_table(predictions: pd.DataFrame, timings: list[dict[str, Any]] | None = None) -> pd.DataFrame:
    seconds = {t["fold"]: t for t in (timings or [])}
    rows = []
    for name, part in predictions.groupby("fold", sort=False):
        row = {"fold": name, **_metric_row(part["label"].to_numpy(), part["score"].to_numpy())}
        t = seconds.get(name, {})
        row["n_train"] = t.get("n_train", np.nan)
        row["seconds"] = t.get("seconds", np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=_table_columns(["fold"], extra=["n_train", "seconds"]))


def prompt_table(predictions: pd.DataFrame, min_per_label: int = 5) -> pd.DataFrame:
    """AUC of each prompt's machine vs human rows inside each fold.

    Prompts with fewer than ``min_per_label`` essays of either label are left out: an AUC over one human
    and two machine essays (corpora with one topic per essay pair) is noise, not a per-prompt measurement.
    """
    rows = []
    for (name, prompt), part in predictions.groupby(["fold", "prompt_name"], sort=False):
        labels = part["label"].to_numpy()
        if min(int((labels == 0).sum()), int((labels == 1).sum())) >= max(min_per_label, 1):
            rows.append({"fold": name, "prompt_name": prompt, **_metric_row(labels, part["score"].to_numpy())})
    return pd.DataFrame(rows, columns=_table_columns(["fold", "prompt_name"]))


def source_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """AUC of each generator's rows against all human rows of the same fold: which LLMs slip through."""
    rows = []
    for name, part in predictions.groupby("fold", sort=False):
        human = part[part["label"] == 0]
        if human.empty:
            continue
        machine = part[part["label"] == 1]
        for source, rows_s in machine.groupby("source", sort=True):
            labels = np.concatenate([np.zeros(len(human), np.int64), np.ones(len(rows_s), np.int64)])
            scores = np.concatenate([human["score"].to_numpy(), rows_s["score"].to_numpy()])
            rows.append({"fold": name, "source": source, **_metric_row(labels, scores)})
    return pd.DataFrame(rows, columns=_table_columns(["fold", "source"]))


LENGTH_BUCKETS = (0, 100, 200, 400)
"""Lower edges, in words, of the length buckets (the last one is open): a 40-word answer, a short essay, ..."""


def length_bucket(n_words: np.ndarray) -> np.ndarray:
    """Bucket labels such as ``"100-199"`` and ``"400+"``."""
    edges = np.asarray(LENGTH_BUCKETS)
    names = [f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])] + [f"{edges[-1]}+"]
    return np.asarray(names, dtype=object)[np.searchsorted(edges, np.asarray(n_words), side="right") - 1]


def length_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """AUC per length bucket: pooled over all held-out rows (fold ``"all"``), then inside each fold."""
    columns = _table_columns(["fold", "words"])
    if "n_words" not in predictions.columns or predictions.empty:
        return pd.DataFrame([], columns=columns)
    buckets = length_bucket(predictions["n_words"].to_numpy())
    order = {name: i for i, name in enumerate(sorted(set(buckets), key=lambda b: int(b.split("-")[0].rstrip("+"))))}
    rows = []
    for fold, part in [("all", predictions)] + list(predictions.groupby("fold", sort=False)):
        part_buckets = length_bucket(part["n_words"].to_numpy())
        for name in sorted(set(part_buckets), key=order.get):
            chosen = part[part_buckets == name]
            rows.append({"fold": fold, "words": name, **_metric_row(chosen["label"].to_numpy(), chosen["score"].to_numpy())})
    return pd.DataFrame(rows, columns=columns)


def _table_columns(keys: list[str], extra: Iterable[str] = ()) -> list[str]:
    return keys + ["n_human", "n_machine", "auc"] + [_tpr_column(t) for t in FPR_TARGETS] + list(extra)


def _check_scores(scores: Any, n: int, fold: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != n:
        raise EvaluationError(f"fold {fold!r}: fit_predict returned {scores.shape[0]} scores for {n} test texts")
    if not np.isfinite(scores).all():
        raise EvaluationError(f"fold {fold!r}: fit_predict returned NaN/inf scores")
    return scores


def evaluate(
    df: pd.DataFrame,
    folds: Sequence[Fold],
    fit_predict: FitPredict,
    config: Config | None = None,
    protocol: str = "custom",
    progress: bool = True,
    skipped: Sequence[str] = (),
) -> EvalResult:
    """Train on each fold's training rows, score its test texts, and tabulate the held-out scores.

    ``fit_predict(config, train_df, test_texts) -> scores`` sees only the fold's training rows (index reset)
    and the test *texts*: labels, prompts and sources of test rows never reach it.
    """
    validate_frame(df)
    if not folds:
        raise EvaluationError(f"{protocol}: no fold has test rows with both labels; nothing to evaluate")
    config = config if config is not None else Config()
    meta = df[["label", "prompt_name", "source", "file"]].reset_index(drop=True)
    for name in ("prompt_name", "source", "file"):
        meta[name] = _column(meta, name)
    meta["n_words"] = df["text"].astype(str).str.split().str.len().to_numpy()
    parts, timings = [], []
    bar = tqdm(folds, desc=f"cv {protocol}", unit="fold", disable=not progress)
    for fold in bar:
        bar.set_postfix_str(str(fold.name)[:30])
        train_df = df.iloc[fold.train_idx].reset_index(drop=True)
        test_texts = df["text"].iloc[fold.test_idx].astype(str).tolist()
        start = time.perf_counter()
        scores = _check_scores(fit_predict(config, train_df, test_texts), len(test_texts), fold.name)
        seconds = time.perf_counter() - start
        part = meta.iloc[fold.test_idx].copy()
        part.insert(0, "row", fold.test_idx)
        part.insert(0, "fold", str(fold.name))
        part["score"] = scores
        parts.append(part)
        timings.append(
            {"fold": str(fold.name), "n_train": int(len(fold.train_idx)), "n_test": int(len(test_texts)), "seconds": seconds}
        )
        log.info("fold %s: AUC %.4f in %.1fs", fold.name, auc(part["label"].to_numpy(), scores), seconds)
    predictions = pd.concat(parts, ignore_index=True)
    return EvalResult.from_predictions(
        protocol, predictions, timings, config=config.to_dict(), skipped=list(skipped)
    )


# ---- models for `daigt cv --model` -----------------------------------------------------------------------
def baseline_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    """Character 3-5-gram TF-IDF + multinomial NB: a seconds-fast reference to sanity-check a protocol."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, max_features=200_000)
    x_train = vectorizer.fit_transform(train["text"].astype(str).tolist())
    model = MultinomialNB(alpha=0.02).fit(x_train, train["label"].to_numpy())
    return model.predict_proba(vectorizer.transform(test_texts))[:, 1]


def style_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    """The style member alone (``daigt.style.StyleClassifier``), to see what surface statistics give."""
    from daigt.style import StyleClassifier

    model = StyleClassifier.from_config(config.ensemble.style, config.seed).fit(train["text"].astype(str).tolist(),
                                                                              train["label"].to_numpy())
    return model.predict_proba(test_texts)[:, 1]


def pipeline_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    """The kit's own model; honours ``data.max_train_rows`` like a submission run does."""
    from daigt.pipeline import fit_predict

    return fit_predict(config, train, test_texts, show_progress=False).scores


def lm_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    """The run-time language-model member alone (``daigt.lm.LMStatsClassifier``) over the kit's BPE ids."""
    from daigt.lm import LMStatsClassifier, sentence_end_ids
    from daigt.pipeline import clean_texts, encode_corpora
    from daigt.stages import StageLog

    train_texts, test_texts = clean_texts(config, train["text"].astype(str).tolist(), list(test_texts))
    tokenizer, train_ids, test_ids = encode_corpora(config, train_texts, test_texts, StageLog(), show_progress=False)
    groups = train["prompt_name"].to_numpy() if "prompt_name" in train.columns else None
    model = LMStatsClassifier.from_config(config.ensemble.lm, config.seed).fit(
        train_ids, train["label"].to_numpy(), groups=groups, sentence_ends=sentence_end_ids(tokenizer.tokenizer_.get_vocab()))
    return model.predict_proba(test_ids)[:, 1]


MODELS: dict[str, FitPredict] = {
    "pipeline": pipeline_fit_predict,
    "baseline": baseline_fit_predict,
    "style": style_fit_predict,
    "lm": lm_fit_predict,
}


def with_test_noise(fit_predict: FitPredict, rate: float, char_noise: float = 0.02) -> FitPredict:
    """``fit_predict`` whose test texts first get character noise (a share ``rate`` of them, both labels).

    Not a defence but a test condition: the hidden test is obfuscated with typos and character swaps that none
    of the labelled corpora have, so the defences (``augment.typo_rate``, ``data.spelling_repair``,
    ``data.drop_unseen_chars``) can only be measured against simulated noise. Seeded by ``config.seed``.
    """
    if rate <= 0:
        return fit_predict

    def noisy_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
        from daigt.augment import TypoAugmenter

        noise = TypoAugmenter(rate=rate, char_noise=char_noise, mode="replace", seed=config.seed + 1)
        noisy = noise.transform(pd.DataFrame({"text": list(test_texts), "label": 1}))["text"].tolist()
        return fit_predict(config, train, noisy)

    return noisy_fit_predict


# ---- suites: several protocols x several configs, one table ----------------------------------------------
@dataclass(frozen=True)
class SuiteCell:
    """One protocol run of a suite: which files (stems; empty = every input file), protocol options, and how
    its result becomes table rows."""

    name: str
    protocol: str
    files: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    def rows(self, result: EvalResult) -> list[tuple[str, float]]:
        folds = result.folds
        if self.protocol == "lopo":
            return [(f"{self.name}, worst fold", float(folds["auc"].min())),
                    (f"{self.name}, mean fold", float(folds["auc"].mean()))]
        if self.protocol == "lcoo":
            return [(f"{self.name} {fold}", float(a)) for fold, a in zip(folds["fold"], folds["auc"])]
        return [(self.name, float(result.summary["pooled_auc"]))]


SUITES: dict[str, tuple[SuiteCell, ...]] = {
    "hard": (
        SuiteCell("LOSO llm-unknown(ai-mix-v16), human split by prompt", "loso",
                  options={"sources": ["llm-unknown(ai-mix-v16)"], "human_split": "prompt"}),
        SuiteCell("LCOO", "lcoo", options={"corpora": ["m4_llama2", "liang2023_detector_bias"]}),
        SuiteCell("LOPO persuade prompts", "lopo", files=("outfox_essays", "daigt_persuade_samples")),
        SuiteCell("attack", "attack", files=("outfox_essays", "daigt_persuade_samples", "outfox_attacks")),
    ),
}
"""``hard``: the protocols of the hard-cases issue. LOSO and LCOO train on every input file; LOPO and attack
on the PERSUADE-based files only (as in README "Generalisation")."""


def suite_variants() -> dict[str, tuple[str, ...]]:
    """Named override sets a suite compares, each applied on top of ``--config``/``--set``."""
    from daigt.config import PUBLIC_RECIPE

    return {
        "public recipe": tuple(PUBLIC_RECIPE),
        "old defaults": (),
        "lm member": ("ensemble.lm.weight=0.1",),
        "lm label-free": ("ensemble.lm.weight=0.1", "ensemble.lm.statistics=label-free"),
        "learned blend": ("ensemble.stack.enabled=true",),
    }


def _cell_args(cell: SuiteCell, paths: Sequence[str], base: argparse.Namespace) -> argparse.Namespace | None:
    chosen = [p for p in paths if not cell.files or Path(p).stem in cell.files]
    if not chosen or (cell.files and {Path(p).stem for p in chosen} != set(cell.files)):
        return None
    values = {"files": chosen, "protocol": cell.protocol, "folds": base.folds,
              "prompts": base.prompts if cell.protocol == "lopo" else None,
              "sources": None, "corpora": None, "attack": None, "human_split": "random", "min_rows": base.min_rows}
    values.update(cell.options)
    return argparse.Namespace(**values)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def run_suite(args: argparse.Namespace, base_config: Config) -> pd.DataFrame:
    """Every cell of the suite under every chosen variant; one AUC table (rows: protocol rows, columns: variants).

    With ``--out DIR`` each cell's result is saved under ``DIR/<variant>/<cell>``; ``--resume`` reuses a saved
    cell whose config equals the one it would run with, so an interrupted suite continues where it stopped;
    ``--saved-only`` only tabulates the saved cells.
    """
    variants = suite_variants()
    for item in args.variant or []:
        name, _, overrides = item.partition("=")
        variants[name.strip()] = tuple(overrides.split())
    chosen = args.variants or list(variants)
    unknown = [v for v in chosen if v not in variants]
    if unknown:
        raise EvaluationError(f"--variants {unknown}: unknown; known: {list(variants)} (add one with --variant NAME=OVERRIDES)")
    table: dict[str, dict[str, float]] = {}
    for variant in chosen:
        config = base_config.with_overrides(list(variants[variant]))
        for cell in SUITES[args.suite]:
            if args.cells and cell.protocol not in args.cells:
                continue
            cell_args = _cell_args(cell, args.files, args)
            if cell_args is None:
                log.warning("suite %s: %s skipped: needs files %s", args.suite, cell.name, list(cell.files))
                continue
            where = Path(args.out) / _slug(variant) / _slug(cell.name) if args.out else None
            key = {"files": sorted(Path(p).name for p in cell_args.files), "model": args.model,
                   **{k: v for k, v in vars(cell_args).items() if k != "files"}}
            result = _saved_cell(where, config, key) if args.resume or args.saved_only else None
            if result is None and args.saved_only:
                log.warning("suite %s: %s, %s not saved under %s", args.suite, variant, cell.name, args.out)
                continue
            if result is None:
                log.info("suite %s: %s, %s", args.suite, variant, cell.name)
                df, folds, notes = folds_from_args(cell_args, config)
                result = evaluate(df, folds, MODELS[args.model], config, protocol=cell.protocol,
                                  progress=not getattr(args, "quiet", False), skipped=notes)
                result.summary["suite_cell"] = key
                if where is not None:
                    result.save(where)
            for row, value in cell.rows(result):
                table.setdefault(row, {})[variant] = value
    return pd.DataFrame.from_dict(table, orient="index")[[v for v in chosen if any(v in r for r in table.values())]]


def _saved_cell(where: Path | None, config: Config, key: dict[str, Any]) -> EvalResult | None:
    """A saved cell run with the same config, files and protocol options, or None."""
    if where is None or not (where / "result.json").exists():
        return None
    result = EvalResult.load(where)
    same = result.config == config.to_dict() and result.summary.get("suite_cell") == _json_safe(key)
    return result if same else None


def suite_text(table: pd.DataFrame) -> str:
    """The suite table as Markdown (README-ready)."""
    header = "| protocol | " + " | ".join(table.columns) + " |"
    lines = [header, "|---|" + "---:|" * len(table.columns)]
    for row, values in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.4f}" for v in values]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- command line ----------------------------------------------------------------------------------------
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


def _add_common_arguments(parser: argparse.ArgumentParser, files_required: bool) -> None:
    parser.add_argument(
        "files", nargs="+" if files_required else "*", metavar="CSV",
        help="labelled CSV files (text,label,prompt_name,source)",
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="group-kfold",
                        help="how groups are held out (default: %(default)s)")
    parser.add_argument("--folds", type=bounded(int, 2), default=5, metavar="K", help="folds for group-kfold (default: 5)")
    parser.add_argument("--prompts", nargs="+", metavar="NAME",
                        help="lopo: prompts to hold out (default: every prompt with --min-rows rows)")
    parser.add_argument("--sources", nargs="+", metavar="NAME", help="loso: generators to hold out")
    parser.add_argument("--corpora", nargs="+", metavar="FILE", help="lcoo: files to hold out (default: all with both labels)")
    parser.add_argument("--attack", nargs="+", metavar="CSV", default=None,
                        help="attack: files of adversarial machine texts (default: input files named *attack*)")
    parser.add_argument("--human-split", choices=("random", "prompt"), default="random",
                        help="loso/attack: how the human half for testing is drawn (default: %(default)s)")
    parser.add_argument("--min-rows", type=bounded(int, 1), default=20, help="lopo/loso: smallest group that becomes a fold")
    add_config_arguments(parser)
    parser.add_argument("--model", choices=sorted(MODELS), default="pipeline",
                        help="what is trained per fold (default: the kit's pipeline)")
    parser.add_argument("--test-noise", type=bounded(float, 0.0, 1.0), default=0.0, metavar="RATE",
                        help="test condition: give RATE of the test essays character noise (simulated obfuscation; "
                             "defences are config options, e.g. --set augment.typo_rate=0.3)")
    parser.add_argument("--test-char-noise", type=bounded(float, 0.0, 1.0), default=0.02, metavar="P",
                        help="per-letter noise probability of --test-noise (default: %(default)s)")


def add_cv_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``daigt cv``."""
    _add_common_arguments(parser, files_required=True)
    parser.add_argument("--out", metavar="DIR", help="save predictions and tables (CSV + result.json) here")
    parser.add_argument("--report", metavar="HTML", help="also write the HTML report here")
    parser.add_argument("--suite", choices=sorted(SUITES),
                        help="run a fixed set of protocols (ignores --protocol) under several configs and print one "
                             "AUC table; 'hard': the hard-cases protocols with the public recipe beside")
    parser.add_argument("--variants", nargs="+", metavar="NAME",
                        help="suite: the configs to compare, by name (default: all; see --variant)")
    parser.add_argument("--variant", action="append", metavar="NAME=OVERRIDES",
                        help="suite: add a config, e.g. --variant 'lm logistic=ensemble.lm.weight=0.1 ensemble.lm.model=logistic'")
    parser.add_argument("--resume", action="store_true",
                        help="suite: reuse cells saved under --out whose config is unchanged")
    parser.add_argument("--cells", nargs="+", choices=PROTOCOLS, metavar="PROTOCOL",
                        help="suite: run only the cells of these protocols (e.g. to spread a suite over processes)")
    parser.add_argument("--saved-only", action="store_true",
                        help="suite: print the table of the cells saved under --out, run nothing")
    return parser


def add_report_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments of ``daigt report``: either ``--from DIR`` (a saved result) or files + protocol options."""
    _add_common_arguments(parser, files_required=False)
    parser.add_argument("--from", dest="source_dir", metavar="DIR", help="a directory saved by `daigt cv --out`")
    parser.add_argument("--out", metavar="HTML", required=True, help="HTML file to write")
    parser.add_argument("--save", metavar="DIR", help="also save the evaluation result (CSV + JSON) here")
    return parser


def _read_files(paths: Sequence[str], config: Config) -> pd.DataFrame:
    from daigt.data import read_training_files

    return read_training_files(list(paths), dedupe=config.data.dedupe)


def folds_from_args(args: argparse.Namespace, config: Config) -> tuple[pd.DataFrame, list[Fold], list[str]]:
    """Read the files and build the protocol's folds; returns (frame the folds index, folds, skip notes)."""
    paths = list(args.files)
    attack_paths: list[str] = []
    if args.protocol == "attack":
        attack_paths = list(args.attack) if args.attack else [p for p in paths if "attack" in Path(p).name.lower()]
        if not attack_paths:
            raise EvaluationError("attack: no attack file; pass --attack FILE or an input file named *attack*")
        paths = [p for p in paths if p not in attack_paths] + attack_paths
    df = _read_files(paths, config)
    _check_protocol_inputs(df, args.protocol)
    seed = config.seed
    with _collect_warnings() as notes:
        if args.protocol == "group-kfold":
            folds = prompt_group_kfold(df, args.folds, seed)
        elif args.protocol == "lopo":
            folds = leave_one_prompt_out(df, args.prompts, args.min_rows)
        elif args.protocol == "loso":
            folds = leave_one_source_out(df, seed, args.sources, args.min_rows, args.human_split)
        elif args.protocol == "lcoo":
            folds = leave_one_corpus_out(df, args.corpora)
        else:
            names = {Path(p).name for p in attack_paths}
            is_attack = np.array([Path(f).name in names for f in _column(df, "file")])
            df, folds = attack_split(
                df[~is_attack].reset_index(drop=True), df[is_attack].reset_index(drop=True), seed, args.human_split
            )
    return df, folds, notes


GROUP_COLUMNS = {"group-kfold": "prompt_name", "lopo": "prompt_name", "loso": "source"}


def _check_protocol_inputs(df: pd.DataFrame, protocol: str) -> None:
    """Refuse inputs a protocol cannot split honestly, naming the files and the fix, before any fold is fitted.

    A file without the grouping column reads as one group 'unknown', which would otherwise end in a skipped fold
    and a generic "no fold" message.
    """
    files = _column(df, "file")
    if protocol == "lcoo" and len(set(files)) < 2:
        raise EvaluationError(
            f"lcoo: holds out one input file at a time and trains on the others, but only {sorted(set(files))} "
            "was given. Fix: pass two or more labelled files, or use --protocol lopo / group-kfold for one file."
        )
    column = GROUP_COLUMNS.get(protocol)
    if column is None:
        return
    values = _column(df, column)
    lacking = sorted({f for f in set(files) if set(values[files == f]) <= {"unknown", ""}})
    if lacking:
        raise EvaluationError(
            f"{protocol}: {lacking} have no {column!r} column (every row reads 'unknown'), so {protocol} cannot "
            f"hold out by {column}. Fix: add a {column!r} column to those files, or leave them out."
        )


class _collect_warnings:
    """Capture the protocol's 'fold skipped' warnings so they also end up in the saved result."""

    def __enter__(self) -> list[str]:
        self.notes: list[str] = []
        self.handler = _ListHandler(self.notes)
        log.addHandler(self.handler)
        return self.notes

    def __exit__(self, *exc: object) -> None:
        log.removeHandler(self.handler)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def run_protocol(args: argparse.Namespace) -> EvalResult:
    """Everything `daigt cv` does except printing and saving."""
    config = load_config(args)
    df, folds, notes = folds_from_args(args, config)
    fit_predict = with_test_noise(MODELS[args.model], args.test_noise, args.test_char_noise)
    result = evaluate(df, folds, fit_predict, config, protocol=args.protocol, progress=not getattr(args, "quiet", False), skipped=notes)
    result.summary["model"] = args.model
    if args.test_noise > 0:
        result.summary["test_noise"] = {"rate": args.test_noise, "char_noise": args.test_char_noise}
    return result


def _fail(command: str, exc: Exception) -> int:
    print(f"daigt {command}: error: {exc}", file=sys.stderr)
    return 2


def cv_command(args: argparse.Namespace) -> int:
    """``daigt cv``: run a protocol, print the tables, optionally save them and an HTML report."""
    if getattr(args, "suite", None):
        return suite_command(args)
    try:
        result = run_protocol(args)
    except (EvaluationError, ConfigError, FileNotFoundError) as exc:
        return _fail("cv", exc)
    except ValueError as exc:  # daigt.data.DataError and friends
        return _fail("cv", exc)
    print(result.to_text())
    if args.out:
        print(f"saved to {result.save(args.out)}")
    if args.report:
        from daigt.report import write_report

        print(f"report: {write_report(result, args.report)}")
    return 0


def suite_command(args: argparse.Namespace) -> int:
    """``daigt cv --suite NAME``: the suite's table (also saved as ``suite.md`` / ``suite.csv`` under --out)."""
    try:
        table = run_suite(args, load_config(args))
    except (EvaluationError, ConfigError, FileNotFoundError, ValueError) as exc:
        return _fail("cv", exc)
    text = suite_text(table)
    print(text)
    if args.out:
        from daigt.io import write_text_atomic

        write_text_atomic(Path(args.out) / "suite.md", text + "\n")
        write_text_atomic(Path(args.out) / "suite.csv", table.to_csv())
        print(f"saved to {args.out}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """``daigt report``: HTML report of a saved result (``--from DIR``) or of a protocol run on the files."""
    from daigt.report import write_report

    try:
        load_config(args)  # a bad --config / --set fails here, also with --from
        if args.source_dir:
            result = EvalResult.load(args.source_dir)
        elif args.files:
            result = run_protocol(args)
            if args.save:
                result.save(args.save)
        else:
            raise EvaluationError("nothing to report: pass --from DIR (saved by `daigt cv --out`) or labelled CSV files")
    except (EvaluationError, ConfigError, FileNotFoundError, ValueError) as exc:
        return _fail("report", exc)
    print(f"report: {write_report(result, args.out)}")
    return 0
