"""bench/gpu_check.py on the CPU: the rows that need no GPU really run and pass, the CUDA-only rows say skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

REPO = Path(__file__).resolve().parents[1]
CPU_ROWS = {"train fp32", "best-AUC checkpoint selection", "inference split, 2 replicas on 1 device",
            "2 processes via accelerate launch"}
CUDA_ROWS = {"train fp16 AMP + grad scaler", "train bf16 AMP", "inference split across GPUs", "fp16 inference",
             "frozen-encoder embeddings fp16", "causal LM scoring fp16/bf16", "peak GPU memory"}


def test_gpu_check_runs_its_cpu_rows_and_writes_a_pass_fail_table(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--device", "cpu", "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    status = {row["check"]: row["status"] for row in result["rows"]}
    detail = {row["check"]: row["detail"] for row in result["rows"]}
    assert set(status) == CPU_ROWS | CUDA_ROWS and result["passed"] is True
    assert {name: status[name] for name in CPU_ROWS} == dict.fromkeys(CPU_ROWS, "pass")
    assert {name: status[name] for name in CUDA_ROWS} == dict.fromkeys(CUDA_ROWS, "skipped (--device cpu)")
    assert detail["train fp32"].startswith("8 steps, loss ")
    assert "fp32: step " in detail["best-AUC checkpoint selection"] and "reload diff 0.0e+00" in detail["best-AUC checkpoint selection"]
    assert "gathered once each" in detail["2 processes via accelerate launch"]
    table = out.with_suffix(".md").read_text()
    assert "| check | device | status | s | detail |" in table and "| train fp32 | cpu | pass |" in done.stdout
    assert all(f"| {name} |" in table for name in status)
