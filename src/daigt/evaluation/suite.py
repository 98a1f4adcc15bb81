"""Suites: several protocols under several configs, one AUC table (``daigt cv --suite hard``).

A change to the kit is judged on the hard cases together (an unseen generator, unseen corpora, unseen prompts,
adversarial texts) and against the public recipe, so one table answers "better where, worse where".
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from daigt.config import Config
from daigt.evaluation.protocol import MODELS, ProtocolOptions, evaluate, protocol_folds
from daigt.evaluation.results import EvalResult, json_safe
from daigt.evaluation.splits import EvaluationError

log = logging.getLogger("daigt")


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
    """Named override sets a suite compares, each applied on top of ``--config``/``--set``. A ``model=NAME`` item
    (no section: not a config field) trains that model of :data:`MODELS` per fold instead of ``--model``."""
    from daigt.config import PUBLIC_RECIPE

    similar = ("ensemble.stack.enabled=true", "ensemble.stack.similarity=true")
    guided = ("pseudo_label.guide=causal-lm", "pseudo_label.low_quantile=0.2", "pseudo_label.high_quantile=0.8")
    corpus = (*similar, "ensemble.stack.folds=corpus")
    return {
        "public recipe": tuple(PUBLIC_RECIPE),
        "old defaults": (),
        "lm member": ("ensemble.lm.weight=0.1",),
        "lm label-free": ("ensemble.lm.weight=0.1", "ensemble.lm.statistics=label-free"),
        "learned blend": ("ensemble.stack.enabled=true",),
        "learned blend + similarity": similar,
        "corpus-fitted blend": corpus,
        "causal-LM member": ("model=causal-lm",),
        "defaults + causal LM": ("ensemble.causal_lm.weight=0.2",),
        "learned blend + similarity + causal LM": (*similar, "ensemble.causal_lm.weight=0.2"),
        "corpus-fitted blend + causal LM": (*corpus, "ensemble.causal_lm.weight=0.2"),
        "zero-shot LM": ("model=causal-lm", "ensemble.causal_lm.zero_shot=true"),
        "LM-guided pseudo-labels": guided,
        "LM-guided pseudo-labels + zero-shot LM": (*guided, "ensemble.causal_lm.zero_shot=true",
                                                   "ensemble.causal_lm.weight=0.1"),
    }


def needs_causal_lm(overrides: Sequence[str]) -> bool:
    """Whether a variant uses the causal LM (``ensemble.causal_lm.model`` must then name one): such variants are in
    the default set only when the base config names an LM."""
    return any(item.startswith("ensemble.causal_lm.") or item in ("model=causal-lm", "pseudo_label.guide=causal-lm")
               for item in overrides)


def variant_model(overrides: Sequence[str], default: str) -> tuple[str, list[str]]:
    """The per-fold model a variant names (``model=NAME``, else ``default``) and its config overrides."""
    models = [item.partition("=")[2] for item in overrides if item.startswith("model=")]
    unknown = [m for m in models if m not in MODELS]
    if unknown or len(models) > 1:
        raise EvaluationError(f"suite variant model={models}: name one model of {sorted(MODELS)}")
    return (models[0] if models else default), [item for item in overrides if not item.startswith("model=")]


def cell_files_and_options(
    cell: SuiteCell, paths: Sequence[str], base: ProtocolOptions
) -> tuple[list[str], ProtocolOptions] | None:
    """The input files a cell runs on and its protocol options (the base options' folds, prompts and min_rows,
    then the cell's own), or None when the cell's files are not all among ``paths``."""
    chosen = [str(p) for p in paths if not cell.files or Path(p).stem in cell.files]
    if not chosen or (cell.files and {Path(p).stem for p in chosen} != set(cell.files)):
        return None
    options = ProtocolOptions(protocol=cell.protocol, folds=base.folds,
                              prompts=base.prompts if cell.protocol == "lopo" else None, min_rows=base.min_rows)
    return chosen, dataclasses.replace(options, **cell.options)


def slug(text: str) -> str:
    """A variant or cell name as the folder name its saved results get (``runs/suite-hard/old-defaults/lcoo``)."""
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def run_suite(
    files: Sequence[str],
    suite: str,
    base_config: Config,
    base_options: ProtocolOptions = ProtocolOptions(),
    *,
    model: str = "pipeline",
    variants: Sequence[str] | None = None,
    extra_variants: Sequence[str] = (),
    cells: Sequence[str] | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    saved_only: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Every cell of the suite under every chosen variant; one AUC table (rows: protocol rows, columns: variants).

    ``variants`` picks named override sets (default: all of :func:`suite_variants`); ``extra_variants`` adds
    ``NAME=OVERRIDES`` ones; ``cells`` keeps only the cells of these protocols. With ``out`` each cell's result
    is saved under ``out/<variant>/<cell>``; ``resume`` reuses a saved cell whose config equals the one it would
    run with, so an interrupted suite continues where it stopped; ``saved_only`` only tabulates the saved cells.
    """
    known = suite_variants()
    for item in extra_variants:
        name, _, overrides = item.partition("=")
        known[name.strip()] = tuple(overrides.split())
    chosen = list(variants) if variants else [
        v for v in known if base_config.ensemble.causal_lm.model or not needs_causal_lm(known[v])]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise EvaluationError(f"--variants {unknown}: unknown; known: {list(known)} (add one with --variant NAME=OVERRIDES)")
    table: dict[str, dict[str, float]] = {}
    for variant in chosen:
        variant_of_model, overrides = variant_model(known[variant], model)
        config = base_config.with_overrides(overrides)
        for cell in SUITES[suite]:
            if cells and cell.protocol not in cells:
                continue
            picked = cell_files_and_options(cell, files, base_options)
            if picked is None:
                log.warning("suite %s: %s skipped: needs files %s", suite, cell.name, list(cell.files))
                continue
            cell_files, options = picked
            where = Path(out) / slug(variant) / slug(cell.name) if out else None
            key = {"files": sorted(Path(p).name for p in cell_files), "model": variant_of_model,
                   **dataclasses.asdict(options)}
            result = _saved_cell(where, config, key) if resume or saved_only else None
            if result is None and saved_only:
                log.warning("suite %s: %s, %s not saved under %s", suite, variant, cell.name, out)
                continue
            if result is None:
                log.info("suite %s: %s, %s", suite, variant, cell.name)
                df, folds, notes = protocol_folds(cell_files, options, config)
                result = evaluate(df, folds, MODELS[variant_of_model], config, protocol=cell.protocol, progress=progress,
                                  skipped=notes)
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
    same = result.config == config.to_dict() and result.summary.get("suite_cell") == json_safe(key)
    return result if same else None


def suite_text(table: pd.DataFrame) -> str:
    """The suite table as Markdown (README-ready)."""
    header = "| protocol | " + " | ".join(table.columns) + " |"
    lines = [header, "|---|" + "---:|" * len(table.columns)]
    for row, values in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.4f}" for v in values]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
