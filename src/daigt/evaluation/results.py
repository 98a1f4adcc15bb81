"""Held-out scores and the tables read from them (per fold, prompt, generator, length); saved and loaded back.

A result keeps every held-out row's score, so any table can be recomputed later (``daigt report --from DIR``)
and two runs can be compared row by row.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from daigt.evaluation.metrics import FPR_TARGETS, metric_row, tpr_column
from daigt.evaluation.splits import EvaluationError


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as None and numpy scalars as Python ones: strict JSON, readable by any tool."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating,)):
        return json_safe(float(value))
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json_safe(frame.astype(object).where(frame.notna(), None).to_dict(orient="records"))


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
        pooled = metric_row(labels, scores)
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
        return json_safe(
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
            f"{s['min_fold_auc']:.4f}  TPR@1%FPR {s[tpr_column(0.01)]:.4f}  TPR@5%FPR {s[tpr_column(0.05)]:.4f}",
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
        row = {"fold": name, **metric_row(part["label"].to_numpy(), part["score"].to_numpy())}
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
            rows.append({"fold": name, "prompt_name": prompt, **metric_row(labels, part["score"].to_numpy())})
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
            rows.append({"fold": name, "source": source, **metric_row(labels, scores)})
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
            rows.append({"fold": fold, "words": name, **metric_row(chosen["label"].to_numpy(), chosen["score"].to_numpy())})
    return pd.DataFrame(rows, columns=columns)


def _table_columns(keys: list[str], extra: Iterable[str] = ()) -> list[str]:
    return keys + ["n_human", "n_machine", "auc"] + [tpr_column(t) for t in FPR_TARGETS] + list(extra)
