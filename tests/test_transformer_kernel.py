"""kernels/daigt-train-transformer: valid for the Kaggle CLI, and its helpers work on a /kaggle-like tree."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "kernels" / "daigt-train-transformer"


@pytest.fixture(scope="module")
def kaggle_api():
    os.environ.setdefault("KAGGLE_API_TOKEN", "placeholder-for-offline-validation")
    return pytest.importorskip("kaggle").api


def test_kernel_metadata_passes_the_kaggle_cli_checks(kaggle_api, monkeypatch):
    from slugify import slugify

    meta = json.loads((FOLDER / "kernel-metadata.json").read_text())
    kaggle_api.validate_kernel_string(meta["id"])
    assert slugify(meta["title"]) == meta["id"].split("/")[1]
    assert meta["language"] in kaggle_api.valid_push_language_types and meta["kernel_type"] in kaggle_api.valid_push_kernel_types
    for source in meta["dataset_sources"]:
        kaggle_api.validate_dataset_string(source)
    assert meta["enable_gpu"] is True and meta["enable_internet"] is False
    assert (FOLDER / meta["code_file"]).is_file()
    monkeypatch.setenv("DAIGT_KAGGLE_ROOT", "/nonexistent")
    script = load_script(FOLDER / meta["code_file"])
    assert {script.KIT_DATASET, *script.TRAIN_DATASETS, script.MODEL_DATASET} == set(meta["dataset_sources"])


def load_script(path: Path):
    spec = importlib.util.spec_from_file_location("daigt_train_transformer_kernel", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """The kernel's source loaded as a module, its /kaggle root at tmp_path/kaggle for the whole test."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM"):
        monkeypatch.setenv(key, os.environ.get(key, "1"))  # the script sets them; restore after the test
    monkeypatch.setenv("DAIGT_KAGGLE_ROOT", str(tmp_path / "kaggle"))
    return load_script(FOLDER / "daigt_train_transformer.py")


def test_kernel_finds_inputs_and_builds_a_command_the_daigt_parser_accepts(kernel, tmp_path, monkeypatch):
    inp = tmp_path / "kaggle" / "input"
    data = inp / "daigt-v2-train-dataset"
    data.mkdir(parents=True)
    (data / "train_v2_drcat_02.csv").write_text("text,label,prompt_name,source,RDizzl3_seven\nhi,0,p,human,True\n")
    (data / "notes.csv").write_text("a,b\n1,2\n")
    model = inp / "deberta-v3-base" / "deberta-v3-base"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "pytorch_model.bin").write_bytes(b"\0")
    assert kernel.training_files(["thedrcat/daigt-v2-train-dataset"]) == [data / "train_v2_drcat_02.csv"]
    assert kernel.find_model_dir("you/deberta-v3-base") == model
    with pytest.raises(SystemExit, match="not found under"):
        kernel.find_model_dir("you/missing-model")

    from daigt.cli import build_parser

    monkeypatch.setattr(kernel, "gpu_count", lambda: (0, "torch.cuda"))
    command, gpus = kernel.train_command(model, [data / "train_v2_drcat_02.csv"], resume=True)
    assert gpus == 0 and command[1:3] == ["-m", "daigt"]
    args = build_parser().parse_args(command[3:])
    assert args.resume and args.model_dir == str(model) and args.n_folds == 5 and args.max_minutes == kernel.MAX_MINUTES
    monkeypatch.setattr(kernel, "gpu_count", lambda: (2, "torch.cuda"))
    command, gpus = kernel.train_command(model, [data / "train_v2_drcat_02.csv"], resume=False)
    assert "launch" in command and command[command.index("--num_processes") + 1] == "2"
    assert command[command.index("-m", command.index("launch")) + 1] == "daigt"


@pytest.mark.parametrize("mount", ["daigt-train-transformer", "notebooks/you/daigt-train-transformer"],
                         ids=["legacy", "current"])
def test_kernel_restores_a_previous_sessions_output_for_resume(kernel, tmp_path, monkeypatch, mount):
    previous = tmp_path / "kaggle" / "input" / mount / "transformer"
    (previous / "fold_0").mkdir(parents=True)
    (previous / "train_config.json").write_text("{}")
    (previous / "fold_0" / "daigt_transformer.json").write_text("{}")
    assert kernel.restore_previous_output() is False  # RESUME_KERNEL empty: a fresh run
    monkeypatch.setattr(kernel, "RESUME_KERNEL", "you/daigt-train-transformer")
    assert kernel.restore_previous_output() is True
    assert (kernel.OUT_DIR / "fold_0" / "daigt_transformer.json").is_file() and (kernel.OUT_DIR / "train_config.json").is_file()


def test_kernel_finds_training_files_in_the_current_layout_and_accepts_a_byte_order_mark(kernel, tmp_path):
    data = tmp_path / "kaggle" / "input" / "datasets" / "thedrcat" / "daigt-v2-train-dataset"
    data.mkdir(parents=True)
    (data / "train.csv").write_bytes("text,label,prompt_name\nhi,0,p\n".encode("utf-8-sig"))
    assert kernel.training_files(["thedrcat/daigt-v2-train-dataset"]) == [data / "train.csv"]
