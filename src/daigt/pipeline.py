"""The run, top to bottom, as the Kaggle kernel does it.

read files → clean texts → train BPE on the test essays → encode → TF-IDF n-grams with the test vocabulary →
fit the ensemble on the training essays → score the test essays → (blend a transformer) → submission.csv.

``fit_predict`` is the transductive core (it needs the test texts to build the tokenizer and vocabulary);
``run`` wraps it with file handling, the commit-time guard and the outputs written beside the submission.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from daigt.augment import SpellingRepair, TypoAugmenter, confident_rows
from daigt.config import Config, ConfigError
from daigt.data import (
    Competition,
    TextNormalizer,
    UnseenCharacterFilter,
    check_trainable,
    competition_training_rows,
    read_competition_dir,
    read_training_files,
    sample_rows,
)
from daigt.features import NgramTfidfVectorizer
from daigt.lm import LMStatsClassifier, sentence_end_ids
from daigt.models import build_ensemble, combine_scores, ensemble_members
from daigt.stacking import Member, stacked_scores
from daigt.stages import StageLog, peak_rss_mb
from daigt.style import StyleClassifier
from daigt.submission import make_submission, write_submission
from daigt.tokenizer import BPETokenizer, EncodedCorpus

log = logging.getLogger("daigt")

GUARD_SCORE = 0.5


@dataclass
class RunResult:
    """What a run produced: the submission frame, where it went, and how long each stage took."""

    submission: pd.DataFrame
    path: Path
    stages: StageLog
    guarded: bool
    n_train: int
    config_path: Path | None = None


def clean_texts(config: Config, train_texts: list[str], test_texts: list[str]) -> tuple[list[str], list[str]]:
    normalizer = TextNormalizer(nfc=config.data.nfc, strip_anonymisation=config.data.strip_anonymisation)
    train_texts = normalizer.fit_transform(train_texts)
    test_texts = normalizer.transform(test_texts)
    if config.data.drop_unseen_chars:
        test_texts = UnseenCharacterFilter().fit(train_texts).transform(test_texts)
    if config.data.spelling_repair:
        test_texts = SpellingRepair().fit_transform(test_texts)
    return train_texts, test_texts


def augmented_training_rows(config: Config, train: pd.DataFrame) -> pd.DataFrame:
    """Training rows with typo-noised machine essays added (or swapped in) when ``augment.typo_rate > 0``."""
    if config.augment.typo_rate <= 0:
        return train
    augmenter = TypoAugmenter(
        rate=config.augment.typo_rate, char_noise=config.augment.typo_char_noise, mode=config.augment.typo_mode,
        seed=config.seed,
    )
    return augmenter.transform(train[["text", "label"]])


def encode_corpora(
    config: Config, train_texts: list[str], test_texts: list[str], stages: StageLog, show_progress: bool = True
) -> tuple[BPETokenizer, EncodedCorpus, EncodedCorpus]:
    with stages.stage("train tokenizer"):
        fit_texts = test_texts if config.tokenizer.fit_on == "test" else train_texts + test_texts
        tokenizer = BPETokenizer.from_config(config.tokenizer, show_progress=show_progress).fit(fit_texts)
    with stages.stage("encode"):
        train_ids = tokenizer.encode(train_texts, desc="encode train")
        test_ids = tokenizer.encode(test_texts, desc="encode test")
    return tokenizer, train_ids, test_ids


def tfidf_features(config: Config, train_ids: EncodedCorpus, test_ids: EncodedCorpus, stages: StageLog):
    """TF-IDF matrices for both sides, with the vocabulary learned where the config says."""
    with stages.stage("featurize"):
        vectorizer = NgramTfidfVectorizer(
            ngram_range=tuple(config.features.ngram_range),
            min_df=config.features.min_df,
            max_df=config.features.max_df,
            sublinear_tf=config.features.sublinear_tf,
            chunk_docs=config.features.chunk_docs,
            n_jobs=config.features.n_jobs or -1,
        )
        if config.features.vocabulary_from == "test":
            # the vocabulary pass over the test essays already counts their n-grams: no second pass
            X_train, X_test = vectorizer.fit_transform_both(train_ids, vocabulary_from=test_ids)
        else:
            both = EncodedCorpus.concatenate([train_ids, test_ids])
            X_train = vectorizer.fit_transform(train_ids, vocabulary_from=both)
            del both
            X_test = vectorizer.transform(test_ids)
        log.info("TF-IDF: %d features, train %s, test %s", X_train.shape[1], X_train.shape, X_test.shape)
    return vectorizer, X_train, X_test


def fit_predict(
    config: Config,
    train: pd.DataFrame,
    test_texts: Sequence[str],
    stages: StageLog | None = None,
    show_progress: bool = True,
) -> np.ndarray:
    """P(machine) for every test text, from a model fitted on ``train`` (columns ``text``, ``label``)."""
    stages = stages if stages is not None else StageLog()
    with stages.stage("clean texts"):
        train = augmented_training_rows(config, train)
        train_texts, test_list = clean_texts(config, list(train["text"]), list(test_texts))
        labels = train["label"].to_numpy()
    tokenizer, train_ids, test_ids = encode_corpora(config, train_texts, test_list, stages, show_progress)
    _, X_train, X_test = tfidf_features(config, train_ids, test_ids, stages)
    groups = train["prompt_name"].to_numpy() if "prompt_name" in train.columns else None
    members = extra_members(config, tokenizer, train_ids, test_ids, train_texts, test_list, groups)
    lengths = (train_ids.lengths, test_ids.lengths)
    del train_ids, test_ids  # a language-model member keeps its own reference
    with stages.stage("fit ensemble"):
        ensemble = build_ensemble(config.ensemble, seed=config.seed).fit(X_train, labels)
    with stages.stage("predict"):
        scores = ensemble.predict_proba(X_test)[:, 1]
    if config.pseudo_label.enabled:
        with stages.stage("pseudo-label refit"):
            scores = pseudo_label_refit(config, X_train, labels, X_test, scores)
    if config.ensemble.stack.enabled:
        tfidf = Member("tfidf", build_ensemble(config.ensemble, seed=config.seed), X_train, X_test)
        del X_train, X_test
        with stages.stage("stacked blend"):
            scores = stacked_blend(config, [tfidf, *members], scores, labels, groups, *lengths)
        return scores
    del X_train, X_test
    if members:
        with stages.stage("text-level members"):
            scores = blend_members(config, members, labels, scores)
    return scores


def pseudo_label_refit(config: Config, X_train, labels: np.ndarray, X_test, scores: np.ndarray) -> np.ndarray:
    """Refit on the training rows plus the most confident test rows, reusing their already-built features."""
    human, machine = confident_rows(scores, config.pseudo_label.low_quantile, config.pseudo_label.high_quantile)
    if not len(human) and not len(machine):
        log.warning("pseudo-labelling skipped: test scores are too concentrated to pick confident essays")
        return scores
    picked = np.sort(np.concatenate([human, machine]))  # test-file order, as measured
    log.info("pseudo-labelling: %d test essays join the training rows", len(picked))
    X = sp.vstack([X_train, X_test[picked]], format="csr")
    y = np.concatenate([labels, np.isin(picked, machine).astype(labels.dtype)])
    return build_ensemble(config.ensemble, seed=config.seed).fit(X, y).predict_proba(X_test)[:, 1]


def extra_members(config: Config, tokenizer: BPETokenizer, train_ids: EncodedCorpus, test_ids: EncodedCorpus,
                  train_texts: list[str], test_texts: list[str], groups) -> list[Member]:
    """Members beside the TF-IDF ensemble: the style model, frozen-encoder embeddings (both read raw texts) and
    the run-time language models (read the BPE ids). A weight-0 member is built only when the stack uses it."""
    ens, members = config.ensemble, []
    if ens.style.weight > 0:
        members.append(Member("style", StyleClassifier(model=ens.style.model, seed=config.seed), train_texts,
                              test_texts, ens.style.weight))
    if ens.lm.weight > 0 or (ens.stack.enabled and ens.stack.lm):
        ends = sentence_end_ids(tokenizer.tokenizer_.get_vocab())
        members.append(Member("lm", lm_classifier(config), train_ids, test_ids, ens.lm.weight,
                              {"groups": groups, "sentence_ends": ends}))
    emb = ens.embedding
    if emb.weight > 0:
        if not emb.model_dir:
            raise ConfigError("ensemble.embedding.weight > 0 needs ensemble.embedding.model_dir (a local encoder directory)")
        from daigt.transformer.embeddings import EmbeddingLogisticClassifier

        members.append(Member("embedding", EmbeddingLogisticClassifier(
            emb.model_dir, batch_size=emb.batch_size, max_length=emb.max_length, cache_dir=emb.cache_dir or None,
        ), train_texts, test_texts, emb.weight))
    return members


def lm_classifier(config: Config) -> LMStatsClassifier:
    """The run-time language-model member as ``ensemble.lm`` configures it (unfitted)."""
    lm = config.ensemble.lm
    return LMStatsClassifier(order=lm.order, n_folds=lm.n_folds, model=lm.model, seed=config.seed,
                             statistics=lm.statistics)


def blend_members(config: Config, members: list[Member], labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Combine the TF-IDF ensemble's scores with the other members, weights relative to the TF-IDF total."""
    all_scores, weights = [scores], [sum(m[2] for m in ensemble_members(config.ensemble, config.seed))]
    for member in members:
        log.info("fitting member %s", member.name)
        all_scores.append(member.test_scores(labels))
        weights.append(member.weight)
    return combine_scores(all_scores, weights, config.ensemble.averaging)


def stacked_blend(config: Config, members: list[Member], tfidf_scores: np.ndarray, labels: np.ndarray, groups,
                  train_lengths: np.ndarray, test_lengths: np.ndarray) -> np.ndarray:
    """The learned blend; the TF-IDF column's test scores are the ensemble's (pseudo-label refit included)."""
    stack = config.ensemble.stack
    return stacked_scores(members, labels, groups, train_lengths, test_lengths, test_scores={"tfidf": tfidf_scores},
                          n_folds=stack.n_folds, length_interaction=stack.length_interaction, C=stack.C,
                          seed=config.seed)


def blend_transformer(config: Config, tfidf_scores: np.ndarray, test_texts: Sequence[str], stages: StageLog) -> np.ndarray:
    """Rank-blend a fine-tuned transformer's scores when a model directory is configured and present."""
    model_dir = config.transformer.model_dir
    if not model_dir:
        return tfidf_scores
    from daigt.transformer.blend import rank_blend
    from daigt.transformer.checkpoints import find_model_dirs

    try:
        find_model_dirs(model_dir)
    except FileNotFoundError as exc:
        log.warning("skipping the transformer track: %s", exc)
        return tfidf_scores
    from daigt.transformer import predict_texts

    with stages.stage("transformer inference"):
        scores = predict_texts(
            model_dir, list(test_texts), batch_size=config.transformer.batch_size, max_length=config.transformer.max_length
        )
    return rank_blend(tfidf_scores, scores, config.transformer.weight)


def training_rows(config: Config, competition, train_files: Sequence[str | Path]) -> pd.DataFrame:
    """The competition's own train_essays plus every external file, de-duplicated across all of them."""
    parts = [competition_training_rows(competition)]
    if train_files:
        parts.append(read_training_files(list(train_files), dedupe=False, prompts=competition.prompts))
    train = pd.concat(parts, ignore_index=True)
    if config.data.dedupe:
        before = len(train)
        train = train.drop_duplicates("text", keep="first").reset_index(drop=True)
        if len(train) < before:
            log.info("dropped %d duplicate training texts across files", before - len(train))
    if config.data.max_train_rows:
        train = sample_rows(train, config.data.max_train_rows, seed=config.seed)
    return train


def run(
    config: Config,
    competition_dir: str | Path | Competition,
    train_files: Sequence[str | Path],
    out_path: str | Path,
    show_progress: bool = True,
) -> RunResult:
    """Read the competition folder (or take one already read) and the training files, write a validated
    ``submission.csv`` atomically.

    Beside the submission go ``<name>.config.toml`` (the resolved config) and ``<name>.run.json`` (stage
    timings and peak memory), so every submission can be traced and rerun.
    """
    out_path = Path(out_path)
    stages = StageLog()
    log.info("resolved config:\n%s", config.to_toml())
    with stages.stage("read data"):
        competition = competition_dir if isinstance(competition_dir, Competition) else read_competition_dir(competition_dir)
        test = competition.test
    guarded = len(test) < config.guard.min_test_rows
    if guarded:
        log.warning(
            "test set has %d rows (< guard.min_test_rows = %d): the placeholder run; writing %.1f for every essay "
            "without training", len(test), config.guard.min_test_rows, GUARD_SCORE,
        )
        scores, n_train = np.full(len(test), GUARD_SCORE), 0
    else:
        with stages.stage("read training data"):
            train = training_rows(config, competition, train_files)
            check_trainable(train)
            n_train = len(train)
            log.info("training on %d essays (%d machine), scoring %d test essays", n_train, int(train["label"].sum()), len(test))
        scores = fit_predict(config, train, list(test["text"]), stages, show_progress)
        del train
        scores = blend_transformer(config, scores, list(test["text"]), stages)
    with stages.stage("write submission"):
        submission = make_submission(test["id"], scores)
        record = {"stages": stages.as_dicts(), "peak_rss_mb": round(peak_rss_mb(), 1), "guarded": guarded,
                  "n_train": n_train, "n_test": len(test)}
        config_path = out_path.with_suffix(".config.toml")
        write_submission(submission, out_path, list(test["id"]), side_files={  # all three new, or all as before
            config_path: config.to_toml(), out_path.with_suffix(".run.json"): json.dumps(record, indent=2)})
    total = sum(s for _, s, _ in stages.rows)
    log.info("wrote %s (%d rows) in %.1fs total, peak RSS %.0f MiB", out_path, len(submission), total, peak_rss_mb())
    return RunResult(submission, out_path, stages, guarded, n_train, config_path)
