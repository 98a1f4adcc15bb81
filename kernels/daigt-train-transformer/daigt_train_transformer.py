"""DAIGT Kit: fine-tune a DeBERTa-v3 detector on Kaggle GPUs (internet off), prompt-grouped k-fold.

Installs the kit from the attached kit dataset with `pip --no-index --require-hashes` (every wheel checked
against its sha256 first), finds the attached training CSVs and the DeBERTa-v3 checkpoint directory, and runs `daigt train-transformer` for the folds in TRAIN_ARGS, on every
GPU of the session (`accelerate launch` with one process per GPU on a T4 x2 session). Checkpoints
(fold_<k>/), out-of-fold predictions (oof.csv) and fold scores (scores.json) go to /kaggle/working/transformer:
make a dataset from this kernel's output and set `transformer.model_dir` of the submission kernel to it.

Long runs: MAX_MINUTES stops training with its state saved before Kaggle's session limit. To continue, attach
this kernel's previous version as an input (kernel_sources) and set resume_kernel in kernel-settings.json to it: its output is copied
back and training resumes at the saved step; finished folds are skipped. Set DAIGT_KAGGLE_ROOT to run the
script on a local copy of the /kaggle tree.
"""

# %% Settings
# From kernel-settings.json beside this file. Kaggle receives the code file alone, so the code that
# `python build_dataset.py kernel --render` writes for Kaggle carries the values themselves in this region.
# <daigt:settings>
import json
from pathlib import Path

SETTINGS = json.loads(Path(__file__).with_name("kernel-settings.json").read_text(encoding="utf-8"))
# </daigt:settings>
KIT_DATASET = SETTINGS["kit_dataset"]
TRAIN_DATASETS = SETTINGS["train_datasets"]
MODEL_DATASET = SETTINGS["model_dataset"]  # a Hugging Face snapshot: config.json, weights, spm.model
RESUME_KERNEL = SETTINGS["resume_kernel"]  # e.g. "your-kaggle-username/daigt-train-transformer" (a kernel source)
MAX_MINUTES = SETTINGS["max_minutes"]  # training time in this session; the state is saved when it runs out
TRAIN_ARGS = SETTINGS["train_args"]  # options of `daigt train-transformer`

# %% Offline switches: set before anything imports the Hugging Face libraries
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# %% Helpers shared by the kit's kernels
# From src/daigt_kaggle/kernel_helpers.py; the code written for Kaggle carries its text in this region.
# <daigt:helpers>
try:
    from daigt_kaggle.kernel_helpers import (LOCK_FILE, checked_utf8, find_source, gpu_count, install_kit, kaggle_dir,
                                             read_lock, say, verify_wheels)
except ModuleNotFoundError:
    raise SystemExit("this is the kernel's source: run or push the kernel that `python build_dataset.py kernel "
                     "--render` writes (dist/kernels/), which carries its helpers and settings") from None
# </daigt:helpers>

# %% Training
import csv
import shutil
import subprocess
import sys
import time

OUT_DIR = kaggle_dir("working") / "transformer"


def training_files(refs):
    files = []
    for ref in refs:
        folder = find_source(ref, "*.csv")
        for path in sorted(folder.rglob("*.csv")):
            with open(checked_utf8(path), newline="", encoding="utf-8-sig") as handle:
                header = [column.strip() for column in next(csv.reader(handle), [])]
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
    previous = find_source(RESUME_KERNEL, "train_config.json", kind="notebooks")
    source = next(p.parent for p in sorted(previous.rglob("train_config.json")))
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    shutil.copytree(source, OUT_DIR)
    say(f"restored {source} -> {OUT_DIR}")
    return True


def train_command(model_dir, train, resume):
    args = ["train-transformer", "--model-dir", str(model_dir), "--train", *map(str, train), "--out-dir", str(OUT_DIR),
            "--max-minutes", str(MAX_MINUTES), *TRAIN_ARGS] + (["--resume"] if resume else [])
    gpus, _ = gpu_count()
    if gpus > 1:  # one process per GPU; DDP, fp16 and the gradient scaler are Accelerate's
        launcher = [shutil.which("accelerate")] if shutil.which("accelerate") else [sys.executable, "-m", "accelerate.commands.accelerate_cli"]
        return [*launcher, "launch", "--multi_gpu", "--num_processes", str(gpus), "--num_machines", "1",
                "--dynamo_backend", "no", "-m", "daigt", *args], gpus
    return [sys.executable, "-m", "daigt", *args], gpus


def main():
    start = time.perf_counter()
    kit_dir = find_source(KIT_DATASET, LOCK_FILE)
    _, lock = read_lock(kit_dir, KIT_DATASET)
    wheel_dirs = verify_wheels(kit_dir, lock, KIT_DATASET)  # every wheel against its sha256 in the lock
    install_kit(lock, wheel_dirs)
    train = training_files(TRAIN_DATASETS)
    model_dir = find_model_dir(MODEL_DATASET)
    resume = restore_previous_output()
    kaggle_dir("working").mkdir(parents=True, exist_ok=True)
    command, gpus = train_command(model_dir, train, resume)
    say(f"training files: {', '.join(map(str, train))}; encoder: {model_dir}; GPUs: {gpus}")
    say("$ " + " ".join(command))
    code = subprocess.call(command)
    if code == 3:
        say("stopped at MAX_MINUTES with the state saved: rerun with resume_kernel set (kernel-settings.json) to continue")
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
