"""The run, top to bottom, as the Kaggle kernel does it.

read files → clean texts → train BPE on the test essays → encode → TF-IDF n-grams with the test vocabulary →
fit the TF-IDF ensemble and the other members → score the test essays → one final blend (``daigt.blend``) →
submission.csv.

``fit_predict`` is the transductive core (it needs the test texts to build the tokenizer and vocabulary) and
returns a :class:`FitResult`; ``run`` wraps it with file handling, the commit-time guard and the outputs written
beside the submission.

A member beside the TF-IDF ensemble is one factory in :data:`MEMBERS` (its config section, which holds its
``weight``, and a function returning a :class:`~daigt.stacking.Member`); :func:`weight_table` then gives it its
column in the final blend.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from daigt.augment import SpellingRepair, TypoAugmenter, agreed_rows, confident_rows
from daigt.blend import Blend
from daigt.config import Config
from daigt.data import (
    Competition,
    TextNormalizer,
    UnseenCharacterFilter,
    check_trainable,
    competition_training_rows,
    read_competition_dir,
    read_training_files,
    sample_rows,
    stratified_sample,
)
from daigt.features import NgramTfidfVectorizer, ngram_coverage, word_bigram_sets
from daigt.folds import group_folds
from daigt.lm import LMStatsClassifier, sentence_end_ids
from daigt.models import WeightedEnsemble, tfidf_ensemble, tfidf_weights
from daigt.stacking import Member, StackedBlend, StackRows, stacked_scores
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


@dataclass(frozen=True)
class MatrixSize:
    """Shape and non-zeros of a feature matrix, kept after the matrix itself is freed."""

    rows: int
    columns: int
    nnz: int

    @classmethod
    def of(cls, X) -> MatrixSize:
        return cls(int(X.shape[0]), int(X.shape[1]), int(X.nnz))


@dataclass
class FitResult:
    """What ``fit_predict`` produced, so callers read it instead of re-running or wrapping the stages.

    ``columns`` are the final blend's inputs by name (``tfidf``, each member beside it, ``transformer``; with
    ``ensemble.stack`` the learned blend's output is the column ``stacked``), ``tfidf_members`` the scores of the
    TF-IDF ensemble's own members, ``fitted`` the fitted parts (``tokenizer``, ``tfidf``, each fixed-weight
    member by name). The vectorizer is left out on purpose: its n-gram keys are about as large as the test matrix,
    and keeping them through the ensemble fit would raise the run's peak memory; ``features`` keeps its sizes.
    """

    scores: np.ndarray
    """The final score of every test text (the blend of ``columns``): higher = more likely machine."""
    columns: dict[str, np.ndarray]
    blend: Blend
    tfidf_members: dict[str, np.ndarray]
    fitted: dict[str, Any]
    stages: StageLog
    n_train: int
    """Training essays after ``data.max_train_rows``, before augmentation."""
    features: dict[str, MatrixSize] = field(default_factory=dict)
    """Size of the TF-IDF matrices, ``train`` and ``test``."""


def clean_texts(config: Config, train_texts: list[str], test_texts: list[str]) -> tuple[list[str], list[str]]:
    normalizer = TextNormalizer.from_config(config.data)
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
    return TypoAugmenter.from_config(config.augment, config.seed).transform(train[["text", "label"]])


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
        vectorizer = NgramTfidfVectorizer.from_config(config.features)
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


# ---- members beside the TF-IDF ensemble ------------------------------------------------------------------
@dataclass(frozen=True)
class MemberInputs:
    """What a member may read: the cleaned texts, their BPE ids, the fitted tokenizer, the training prompts and
    the training files (corpora)."""

    train_texts: list[str]
    test_texts: list[str]
    train_ids: EncodedCorpus
    test_ids: EncodedCorpus
    tokenizer: BPETokenizer
    groups: np.ndarray | None
    corpora: np.ndarray | None
    causal_lm_scorer: Any = None
    """The run's one scorer of ``ensemble.causal_lm`` (:func:`causal_lm_scorer`), or ``None``."""


def style_member(config: Config, inputs: MemberInputs) -> Member:
    return Member("style", StyleClassifier.from_config(config.ensemble.style, config.seed), inputs.train_texts,
                  inputs.test_texts, config.ensemble.style.weight)


def lm_member(config: Config, inputs: MemberInputs) -> Member:
    ends = sentence_end_ids(inputs.tokenizer.tokenizer_.get_vocab())
    return Member("lm", LMStatsClassifier.from_config(config.ensemble.lm, config.seed), inputs.train_ids,
                  inputs.test_ids, config.ensemble.lm.weight, {"groups": inputs.groups, "sentence_ends": ends})


def embedding_member(config: Config, inputs: MemberInputs) -> Member:
    from daigt.transformer.embeddings import EmbeddingLogisticClassifier

    return Member("embedding", EmbeddingLogisticClassifier.from_config(config.ensemble.embedding),
                  inputs.train_texts, inputs.test_texts, config.ensemble.embedding.weight)


def causal_lm_member(config: Config, inputs: MemberInputs) -> Member | None:
    """Corpora, not prompts, group its training rows: its relative features are ranks within a corpus, as they are
    ranks within the whole test set when it scores.

    With ``ensemble.causal_lm.time_budget_hours`` set, a timed probe estimates its scoring time first, and a member
    that would not fit is skipped (``None``) with one warning: on Kaggle the scoring rerun cannot read the commit
    run's output, so it must decide itself rather than run into the 9-hour limit."""
    from daigt.transformer.causal_lm import causal_lm_estimator, check_time_budget  # torch: only when the member is on

    section = config.ensemble.causal_lm
    fit_params: dict[str, Any] = {"groups": inputs.corpora, "scorer": inputs.causal_lm_scorer}
    if section.time_budget_hours > 0:
        fits = config.ensemble.stack.n_folds + 1 if config.ensemble.stack.enabled else 1
        check = check_time_budget(section, inputs.test_texts, inputs.train_texts, fits, config.seed,
                                  inputs.causal_lm_scorer)
        if not check.fits:
            log.warning(check.message())
            return None
        log.info(check.message())
    return Member("causal_lm", causal_lm_estimator(section, config.seed), inputs.train_texts,
                  inputs.test_texts, section.weight, fit_params)


MEMBERS: dict[str, tuple[Callable[[Config], Any], Callable[[Config, MemberInputs], Member | None]]] = {
    "style": (lambda config: config.ensemble.style, style_member),
    "lm": (lambda config: config.ensemble.lm, lm_member),
    "embedding": (lambda config: config.ensemble.embedding, embedding_member),
    "causal_lm": (lambda config: config.ensemble.causal_lm, causal_lm_member),
}
"""Members beside the TF-IDF ensemble, in blend order: ``name -> (its config section, its factory)``. The
section's ``weight`` is the member's weight in the final blend; a weight-0 member is not built (unless the
learned blend uses it: ``ensemble.stack.lm``). A factory returning ``None`` skips its member in this run (the
causal-LM member over its time budget): the blend then has no column for it."""


def weight_table(config: Config) -> dict[str, float]:
    """The final blend's weights by column, in blend order, on one scale (``daigt.blend``): the TF-IDF ensemble
    (its members' total), every member of :data:`MEMBERS`, the transformer."""
    table = {"tfidf": sum(w for w in tfidf_weights(config.ensemble).values() if w > 0)}
    table.update({name: section(config).weight for name, (section, _) in MEMBERS.items()})
    table["transformer"] = config.transformer.weight
    return table


def extra_members(config: Config, inputs: MemberInputs) -> list[Member]:
    """The members of :data:`MEMBERS` this run uses (a factory may skip its member: see :data:`MEMBERS`)."""
    stack = config.ensemble.stack
    wanted = [name for name, (section, _) in MEMBERS.items()
              if section(config).weight > 0 or (name == "lm" and stack.enabled and stack.lm)]
    built = (MEMBERS[name][1](config, inputs) for name in wanted)
    return [member for member in built if member is not None]


# ---- the core -----------------------------------------------------------------------------------------------
def fit_predict(
    config: Config,
    train: pd.DataFrame,
    test_texts: Sequence[str],
    stages: StageLog | None = None,
    show_progress: bool = True,
) -> FitResult:
    """Fit every member on ``train`` (columns ``text``, ``label``; ``prompt_name`` optional), score ``test_texts``
    and blend the scores. ``data.max_train_rows`` is applied here, and only here."""
    stages = stages if stages is not None else StageLog()
    if config.data.max_train_rows and len(train) > config.data.max_train_rows:
        log.info("data.max_train_rows: training on a stratified sample of %d of %d essays",
                 config.data.max_train_rows, len(train))
        train = sample_rows(train, config.data.max_train_rows, seed=config.seed)
    n_train = len(train)
    with stages.stage("clean texts"):
        train = augmented_training_rows(config, train)
        train_texts, test_list = clean_texts(config, list(train["text"]), list(test_texts))
        labels = train["label"].to_numpy()
    tokenizer, train_ids, test_ids = encode_corpora(config, train_texts, test_list, stages, show_progress)
    _, X_train, X_test = tfidf_features(config, train_ids, test_ids, stages)
    features = {"train": MatrixSize.of(X_train), "test": MatrixSize.of(X_test)}
    groups = train["prompt_name"].to_numpy() if "prompt_name" in train.columns else None
    corpora = train["file"].to_numpy() if "file" in train.columns else None
    lm_scorer = causal_lm_scorer(config)
    members = extra_members(config, MemberInputs(train_texts, test_list, train_ids, test_ids, tokenizer, groups,
                                                 corpora, lm_scorer))
    lengths = (train_ids.lengths, test_ids.lengths)
    del train_ids, test_ids  # a language-model member keeps its own reference
    with stages.stage("fit ensemble"):
        ensemble = tfidf_ensemble(config.ensemble, config.seed).fit(X_train, labels)
    with stages.stage("predict"):
        tfidf_members = ensemble.member_scores(X_test)
        scores = ensemble.combine(tfidf_members)
    if config.pseudo_label.enabled:
        guide = pseudo_label_guide(config, test_list, lm_scorer, stages)
        with stages.stage("pseudo-label refit"):
            refit = pseudo_labelled_ensemble(config, X_train, labels, X_test, scores, guide)
            if refit is not None:
                ensemble, tfidf_members = refit, refit.member_scores(X_test)
                scores = ensemble.combine(tfidf_members)
    table = weight_table(config)
    columns: dict[str, np.ndarray] = {"tfidf": scores}
    fitted: dict[str, Any] = {"tokenizer": tokenizer, "tfidf": ensemble}
    if config.ensemble.stack.enabled:
        tfidf = Member("tfidf", tfidf_ensemble(config.ensemble, config.seed), X_train, X_test)
        del X_train, X_test
        with stages.stage("stacked blend"):
            columns = {"stacked": stacked_blend(config, [tfidf, *members], scores, labels, groups, corpora,
                                                (train_texts, test_list), lengths)}
        weights = {"stacked": sum(table[m.name] for m in [tfidf, *members])}
    else:
        del X_train, X_test
        if members:
            with stages.stage("text-level members"):
                for member in members:
                    log.info("fitting member %s", member.name)
                    fitted[member.name] = member.fit(labels)
                    columns[member.name] = fitted[member.name].predict_proba(member.test)[:, 1]
        weights = {name: table[name] for name in columns}
    transformer = transformer_scores(config, test_texts, stages)
    if transformer is not None:
        columns["transformer"], weights["transformer"] = transformer, table["transformer"]
    blend = Blend(weights, averaging=config.ensemble.averaging)
    return FitResult(blend.scores(columns), columns, blend, tfidf_members, fitted, stages, n_train, features)


def causal_lm_scorer(config: Config) -> Any:
    """One scorer of ``ensemble.causal_lm`` for every use of the LM in a run (the member, the pseudo-label guide),
    so its model loads once and no text is scored twice, with or without a ``cache_dir``; ``None`` when the run
    does not use the LM (torch is then never imported)."""
    guided = config.pseudo_label.enabled and config.pseudo_label.guide != "none"
    if config.ensemble.causal_lm.weight <= 0 and not guided:
        return None
    from daigt.transformer.causal_lm import CausalLMScorer  # torch: only when the LM is used

    return CausalLMScorer.from_config(config.ensemble.causal_lm)


def pseudo_label_guide(config: Config, test_texts: Sequence[str], scorer: Any, stages: StageLog) -> np.ndarray | None:
    """The causal LM's zero-shot scores of the test texts (from the run's ``scorer``) when ``pseudo_label.guide``
    asks for them, else ``None``.

    ``None`` too, with one warning, when ``ensemble.causal_lm.time_budget_hours`` is set and a timed probe says
    the scoring would not fit: the pseudo-labels then come from the ensemble alone, as without a guide."""
    if config.pseudo_label.guide == "none":
        return None
    from daigt.transformer.causal_lm import check_time_budget, zero_shot_scores  # torch: lazily

    section = config.ensemble.causal_lm
    with stages.stage("pseudo-label guide"):
        if section.time_budget_hours > 0:
            check = check_time_budget(section, test_texts, [], seed=config.seed, scorer=scorer)
            if not check.fits:
                log.warning("pseudo-label guide SKIPPED: %s; pseudo-labels come from the ensemble alone. Fix: raise "
                            "ensemble.causal_lm.time_budget_hours (0 = no limit), lower ensemble.causal_lm."
                            "max_length, or run on a GPU", check.summary())
                return None
            log.info("pseudo-label guide: %s", check.summary())
        return zero_shot_scores(scorer, test_texts)


def pseudo_labelled_ensemble(config: Config, X_train, labels: np.ndarray, X_test, scores: np.ndarray,
                             guide: np.ndarray | None = None) -> WeightedEnsemble | None:
    """The TF-IDF ensemble refit on the training rows plus the most confident test rows (their already-built
    features reused), only those the ``guide`` agrees with when there is one; ``None`` when no row is picked."""
    pl = config.pseudo_label
    if guide is None:
        human, machine = confident_rows(scores, pl.low_quantile, pl.high_quantile)
    else:
        human, machine = agreed_rows(scores, guide, pl.low_quantile, pl.high_quantile, pl.guide_quantile)
    if not len(human) and not len(machine):
        log.warning("pseudo-labelling skipped: no test essay is confidently scored%s",
                    "" if guide is None else " by both the ensemble and the guide")
        return None
    picked = np.sort(np.concatenate([human, machine]))  # test-file order, as measured
    log.info("pseudo-labelling: %d test essays join the training rows (%d human, %d machine%s)", len(picked),
             len(human), len(machine), "" if guide is None else ", agreed with the causal-LM guide")
    X = sp.vstack([X_train, X_test[picked]], format="csr")
    y = np.concatenate([labels, np.isin(picked, machine).astype(labels.dtype)])
    return tfidf_ensemble(config.ensemble, config.seed).fit(X, y)


def stacked_blend(config: Config, members: list[Member], tfidf_scores: np.ndarray, labels: np.ndarray,
                  groups: np.ndarray | None, corpora: np.ndarray | None, texts: tuple[list[str], list[str]],
                  lengths: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The learned blend; the TF-IDF column's test scores are the ensemble's (pseudo-label refit included)."""
    stack = config.ensemble.stack
    return stacked_scores(members, labels, stack_rows(config, labels, groups, corpora, *texts), *lengths,
                          test_scores={"tfidf": tfidf_scores}, meta=StackedBlend.from_config(stack, config.seed),
                          seed=config.seed)


def stack_rows(config: Config, labels: np.ndarray, groups: np.ndarray | None, corpora: np.ndarray | None,
               train_texts: Sequence[str], test_texts: Sequence[str]) -> StackRows:
    """The learned blend's folds, the rows it learns from and (``stack.similarity``) their word-bigram coverage:
    a held-out row's by the other folds' texts, a test text's by all training texts."""
    stack = config.ensemble.stack
    by = corpora if stack.folds == "corpus" else groups
    n_groups = 0 if by is None else len(np.unique(np.asarray(by).astype(str)))
    if n_groups < stack.n_folds:
        log.warning("stacking: %d %s groups among the training rows for %d folds; its folds are random, not "
                    "grouped", n_groups, stack.folds, stack.n_folds)
    folds = group_folds(len(labels), by, stack.n_folds, config.seed)
    strata = corpora if corpora is not None else np.zeros(len(labels), dtype=int)
    rows = stratified_sample(labels, strata, stack.sample_size, config.seed) if stack.sample_size else None
    similarity = None
    if stack.similarity:
        picked = np.arange(len(labels)) if rows is None else rows
        train_sets = word_bigram_sets(train_texts)
        train_sim = np.zeros(len(picked))
        for k in np.unique(folds[picked]):
            held = folds[picked] == k
            train_sim[held] = ngram_coverage(train_sets[picked[held]], train_sets[folds != k])
        similarity = (train_sim, ngram_coverage(word_bigram_sets(test_texts), train_sets))
    return StackRows(folds, rows, similarity, rank_within_folds=stack.folds == "corpus")


def transformer_scores(config: Config, test_texts: Sequence[str], stages: StageLog) -> np.ndarray | None:
    """A fine-tuned transformer's scores of the (raw) test texts, when ``transformer.model_dir`` is set, present
    and weighted; ``None`` otherwise. Pre-trained, not fitted here: the column joins the blend as it is."""
    model_dir = config.transformer.model_dir
    if not model_dir or config.transformer.weight <= 0:
        return None
    from daigt.transformer.checkpoints import find_model_dirs

    try:
        find_model_dirs(model_dir)
    except FileNotFoundError as exc:
        log.warning("skipping the transformer track: %s", exc)
        return None
    from daigt.transformer import predict_texts

    with stages.stage("transformer inference"):
        return predict_texts(model_dir, list(test_texts), batch_size=config.transformer.batch_size,
                             max_length=config.transformer.max_length)


def training_rows(config: Config, competition, train_files: Sequence[str | Path]) -> pd.DataFrame:
    """The competition's own train_essays plus every external file, de-duplicated across all of them (not yet
    capped by ``data.max_train_rows``: :func:`fit_predict` does that)."""
    parts = [competition_training_rows(competition)]
    if train_files:
        parts.append(read_training_files(list(train_files), dedupe=False, prompts=competition.prompts))
    train = pd.concat(parts, ignore_index=True)
    if config.data.dedupe:
        before = len(train)
        train = train.drop_duplicates("text", keep="first").reset_index(drop=True)
        if len(train) < before:
            log.info("dropped %d duplicate training texts across files", before - len(train))
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
            log.info("%d training essays (%d machine), %d test essays to score", len(train),
                     int(train["label"].sum()), len(test))
        fitted = fit_predict(config, train, list(test["text"]), stages, show_progress)
        del train
        scores, n_train = fitted.scores, fitted.n_train
        del fitted
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
