"""The cross-validation loop and what it trains: run a protocol's folds, score held-out texts, tabulate.

``evaluate`` runs any ``fit_predict(config, train_df, test_texts)`` callable (``daigt.pipeline.fit_predict``
has exactly that signature) over the folds and tabulates AUC and TPR at low FPR overall, per fold, per prompt
and per generator. ``MODELS`` names the callables ``daigt cv --model`` can train; :func:`run_protocol` is
everything ``daigt cv`` does between a config and a result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from daigt.config import Config
from daigt.evaluation.metrics import auc
from daigt.evaluation.results import EvalResult
from daigt.evaluation.splits import (
    EvaluationError,
    Fold,
    attack_split,
    column_strings,
    leave_one_corpus_out,
    leave_one_prompt_out,
    leave_one_source_out,
    prompt_group_kfold,
    validate_frame,
)

log = logging.getLogger("daigt")

PROTOCOLS = ("group-kfold", "lopo", "loso", "lcoo", "attack")
FitPredict = Callable[[Config, pd.DataFrame, list], np.ndarray]


@dataclass(frozen=True)
class ProtocolOptions:
    """Which groups a protocol holds out: the protocol's name and the options of its splitter."""

    protocol: Literal["group-kfold", "lopo", "loso", "lcoo", "attack"] = "group-kfold"
    folds: int = 5
    """group-kfold: number of prompt-grouped folds."""
    prompts: Sequence[str] | None = None
    """lopo: prompts to hold out (None: every prompt with ``min_rows`` rows)."""
    sources: Sequence[str] | None = None
    """loso: generators to hold out (None: every one with ``min_rows`` machine rows)."""
    corpora: Sequence[str] | None = None
    """lcoo: files to hold out (None: every file with both labels)."""
    attack: Sequence[str] | None = None
    """attack: files of adversarial machine texts (None: the input files named ``*attack*``)."""
    human_split: Literal["random", "prompt"] = "random"
    """loso/attack: how the human half for testing is drawn."""
    min_rows: int = 20
    """lopo/loso: smallest group that becomes a fold."""


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
        meta[name] = column_strings(meta, name)
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


def causal_lm_fit_predict(config: Config, train: pd.DataFrame, test_texts: list[str]) -> np.ndarray:
    """The causal-LM member alone (``ensemble.causal_lm``, learned or ``zero_shot``; needs torch and
    ``ensemble.causal_lm.model``), on the texts the pipeline would give it."""
    from daigt.pipeline import clean_texts
    from daigt.transformer.causal_lm import causal_lm_estimator

    train_texts, test_texts = clean_texts(config, train["text"].astype(str).tolist(), list(test_texts))
    corpora = train["file"].to_numpy() if "file" in train.columns else None
    model = causal_lm_estimator(config.ensemble.causal_lm, config.seed)
    return model.fit(train_texts, train["label"].to_numpy(), groups=corpora).predict_proba(test_texts)[:, 1]


MODELS: dict[str, FitPredict] = {
    "pipeline": pipeline_fit_predict,
    "baseline": baseline_fit_predict,
    "style": style_fit_predict,
    "lm": lm_fit_predict,
    "causal-lm": causal_lm_fit_predict,
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


def _read_files(paths: Sequence[str], config: Config) -> pd.DataFrame:
    from daigt.data import read_training_files

    return read_training_files(list(paths), dedupe=config.data.dedupe)


def protocol_folds(
    files: Sequence[str | Path], options: ProtocolOptions, config: Config
) -> tuple[pd.DataFrame, list[Fold], list[str]]:
    """Read the files and build the protocol's folds; returns (frame the folds index, folds, skip notes)."""
    paths = [str(p) for p in files]
    attack_paths: list[str] = []
    if options.protocol == "attack":
        attack_paths = list(options.attack) if options.attack else [p for p in paths if "attack" in Path(p).name.lower()]
        if not attack_paths:
            raise EvaluationError("attack: no attack file; pass --attack FILE or an input file named *attack*")
        paths = [p for p in paths if p not in attack_paths] + attack_paths
    df = _read_files(paths, config)
    _check_protocol_inputs(df, options.protocol)
    seed = config.seed
    with _collect_warnings() as notes:
        if options.protocol == "group-kfold":
            folds = prompt_group_kfold(df, options.folds, seed)
        elif options.protocol == "lopo":
            folds = leave_one_prompt_out(df, options.prompts, options.min_rows)
        elif options.protocol == "loso":
            folds = leave_one_source_out(df, seed, options.sources, options.min_rows, options.human_split)
        elif options.protocol == "lcoo":
            folds = leave_one_corpus_out(df, options.corpora)
        else:
            names = {Path(p).name for p in attack_paths}
            is_attack = np.array([Path(f).name in names for f in column_strings(df, "file")])
            df, folds = attack_split(
                df[~is_attack].reset_index(drop=True), df[is_attack].reset_index(drop=True), seed, options.human_split
            )
    return df, folds, notes


GROUP_COLUMNS = {"group-kfold": "prompt_name", "lopo": "prompt_name", "loso": "source"}


def _check_protocol_inputs(df: pd.DataFrame, protocol: str) -> None:
    """Refuse inputs a protocol cannot split honestly, naming the files and the fix, before any fold is fitted.

    A file without the grouping column reads as one group 'unknown', which would otherwise end in a skipped fold
    and a generic "no fold" message.
    """
    files = column_strings(df, "file")
    if protocol == "lcoo" and len(set(files)) < 2:
        raise EvaluationError(
            f"lcoo: holds out one input file at a time and trains on the others, but only {sorted(set(files))} "
            "was given. Fix: pass two or more labelled files, or use --protocol lopo / group-kfold for one file."
        )
    column = GROUP_COLUMNS.get(protocol)
    if column is None:
        return
    values = column_strings(df, column)
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


def run_protocol(
    files: Sequence[str | Path],
    options: ProtocolOptions,
    config: Config,
    model: str = "pipeline",
    test_noise: float = 0.0,
    test_char_noise: float = 0.02,
    progress: bool = True,
) -> EvalResult:
    """Everything `daigt cv` does except printing and saving: read, split, train ``MODELS[model]`` per fold."""
    df, folds, notes = protocol_folds(files, options, config)
    fit_predict = with_test_noise(MODELS[model], test_noise, test_char_noise)
    result = evaluate(df, folds, fit_predict, config, protocol=options.protocol, progress=progress, skipped=notes)
    result.summary["model"] = model
    if test_noise > 0:
        result.summary["test_noise"] = {"rate": test_noise, "char_noise": test_char_noise}
    return result
