"""DAIGT Kit: fine-tune a DeBERTa-v3 detector on Kaggle GPUs (internet off), prompt-grouped k-fold.

Installs the kit from the attached kit dataset with `pip --no-index`, finds the attached training CSVs and the
DeBERTa-v3 checkpoint directory, and runs `daigt train-transformer` for the folds in TRAIN_ARGS, on every
GPU of the session (`accelerate launch` with one process per GPU on a T4 x2 session). Checkpoints
(fold_<k>/), out-of-fold predictions (oof.csv) and fold scores (scores.json) go to /kaggle/working/transformer:
make a dataset from this kernel's output and set `transformer.model_dir` of the submission kernel to it.

Long runs: MAX_MINUTES stops training with its state saved before Kaggle's session limit. To continue, attach
this kernel's previous version as an input (kernel_sources) and set RESUME_KERNEL to it: its output is copied
back and training resumes at the saved step; finished folds are skipped. Set DAIGT_KAGGLE_ROOT to run the
script on a local copy of the /kaggle tree.
"""

# %% Settings
KIT_DATASET = "your-kaggle-username/daigt-kit"
TRAIN_DATASETS = ["thedrcat/daigt-v2-train-dataset"]
MODEL_DATASET = "your-kaggle-username/deberta-v3-base"  # a Hugging Face snapshot: config.json, weights, spm.model
RESUME_KERNEL = ""  # e.g. "your-kaggle-username/daigt-train-transformer" (attached as a kernel source)
MAX_MINUTES = 10 * 60  # training time in this session; the state is saved when it runs out
TRAIN_ARGS = [
    "--n-folds", "5", "--folds", "0", "1", "2", "3", "4",
    "--head", "mean", "--max-length", "512", "--epochs", "1",
    "--batch-size", "8", "--grad-accum", "2", "--eval-batch-size", "32",
    "--lr-encoder", "2e-5", "--lr-head", "1e-3", "--scheduler", "cosine", "--warmup-ratio", "0.1",
    "--eval-every", "500", "--precision", "auto",
]

# %% Offline switches: set before anything imports the Hugging Face libraries
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import csv
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(os.environ.get("DAIGT_KAGGLE_ROOT", "/kaggle"))
INPUT = ROOT / "input"
WORKING = ROOT / "working"
OUT_DIR = WORKING / "transformer"
LOCK_FILE = "daigt-kit.lock"


def say(message):
    print(f"[daigt-train-transformer] {message}", flush=True)


def find_source(ref, marker):
    """The folder of an attached input: /kaggle/input/<slug>, or deeper on newer mounts."""
    slug = ref.split("/")[-1]
    candidates = [INPUT / slug] + [p for depth in range(1, 5) for p in sorted(INPUT.glob("/".join(["*"] * depth)))
                                   if p.name == slug]
    for path in candidates:
        if path.is_dir() and any(path.rglob(marker)):
            return path
    raise SystemExit(f"input {ref!r} not found under {INPUT} (a folder {slug!r} containing {marker}); attach it "
                     "to the kernel (dataset_sources / kernel_sources in kernel-metadata.json, or 'Add Input')")


def install_kit():
    """pip install the kit offline from the kit dataset's wheels; torch/transformers/accelerate come with the image."""
    kit_dir = find_source(KIT_DATASET, LOCK_FILE)
    lock = json.loads(sorted(kit_dir.rglob(LOCK_FILE))[0].read_text(encoding="utf-8"))
    wheel_dirs = sorted({p.parent for p in kit_dir.rglob("*.whl")})
    links = [arg for folder in wheel_dirs for arg in ("--find-links", str(folder))]
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", "--no-input",
               "--progress-bar", "off", *links, *lock.get("install", ["daigt-kit"])]
    say("$ " + " ".join(command))
    proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(proc.stdout[-4000:], flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"offline install failed (pip exit {proc.returncode}); see pip's output above")


def training_files(refs):
    files = []
    for ref in refs:
        folder = find_source(ref, "*.csv")
        for path in sorted(folder.rglob("*.csv")):
            with open(path, newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
            if {"text", "label", "prompt_name"} <= set(header):
                files.append(path)
    if not files:
        raise SystemExit(f"no CSV with text,label,prompt_name columns in {refs}; prompt-grouped folds need prompt_name")
    return files


def find_model_dir(ref):
    """The directory holding the encoder's config.json (and weights) inside the attached model dataset."""
    root = find_source(ref, "config.json")
    for config in sorted(root.rglob("config.json"), key=lambda p: len(p.parts)):
        folder = config.parent
        has_weights = any(folder.glob("*.safetensors")) or any(folder.glob("*.bin"))
        if has_weights and not (folder / "daigt_transformer.json").exists():
            return folder
    raise SystemExit(f"{root}: no folder with config.json and model weights; attach a Hugging Face checkpoint "
                     "snapshot (config.json, model.safetensors or pytorch_model.bin, tokenizer files)")


def restore_previous_output():
    """Copy the previous session's output back, so `--resume` continues it."""
    if not RESUME_KERNEL:
        return False
    previous = find_source(RESUME_KERNEL, "train_config.json")
    source = next(p.parent for p in sorted(previous.rglob("train_config.json")))
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    shutil.copytree(source, OUT_DIR)
    say(f"restored {source} -> {OUT_DIR}")
    return True


def gpu_count():
    code = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() or 0)


def train_command(model_dir, train, resume):
    args = ["train-transformer", "--model-dir", str(model_dir), "--train", *map(str, train), "--out-dir", str(OUT_DIR),
            "--max-minutes", str(MAX_MINUTES), *TRAIN_ARGS] + (["--resume"] if resume else [])
    gpus = gpu_count()
    if gpus > 1:  # one process per GPU; DDP, fp16 and the gradient scaler are Accelerate's
        launcher = [shutil.which("accelerate")] if shutil.which("accelerate") else [sys.executable, "-m", "accelerate.commands.accelerate_cli"]
        return [*launcher, "launch", "--multi_gpu", "--num_processes", str(gpus), "--num_machines", "1",
                "--dynamo_backend", "no", "-m", "daigt", *args], gpus
    return [sys.executable, "-m", "daigt", *args], gpus


def main():
    start = time.perf_counter()
    install_kit()
    train = training_files(TRAIN_DATASETS)
    model_dir = find_model_dir(MODEL_DATASET)
    resume = restore_previous_output()
    WORKING.mkdir(parents=True, exist_ok=True)
    command, gpus = train_command(model_dir, train, resume)
    say(f"training files: {', '.join(map(str, train))}; encoder: {model_dir}; GPUs: {gpus}")
    say("$ " + " ".join(command))
    code = subprocess.call(command)
    if code == 3:
        say("stopped at MAX_MINUTES with the state saved: rerun with RESUME_KERNEL set to continue")
    elif code != 0:
        raise SystemExit(f"daigt train-transformer failed (exit {code}); its traceback is above")
    scores = OUT_DIR / "scores.json"
    if scores.is_file():
        say("scores: " + scores.read_text(encoding="utf-8"))
    say(f"done in {(time.perf_counter() - start) / 60:.1f} min; checkpoints in {OUT_DIR}")
    return 0


# %% Run
if __name__ == "__main__":
    raise SystemExit(main())
