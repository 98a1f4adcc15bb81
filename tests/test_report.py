"""The HTML report is one self-contained file with embedded PNG plots, and n-gram helpers pick the extremes."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from daigt.config import Config
from daigt.evaluation import EvalResult
from daigt.report import render_report, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_predictions(seed: int = 0) -> pd.DataFrame:
    """Held-out scores of three folds (real arrays, not a model): machine rows score higher on average."""
    rng = np.random.default_rng(seed)
    rows = []
    for fold in ("Car-free cities", "Distance learning", "Summer projects"):
        for i in range(60):
            label = int(i % 3 != 0)
            source = "human" if label == 0 else ("gpt-4" if i % 2 else "flan-t5 <xxl>")
            score = float(np.clip(rng.normal(0.35 + 0.35 * label, 0.18), 0, 1))
            rows.append({"fold": fold, "row": i, "label": label, "prompt_name": fold, "source": source,
                         "file": "outfox_essays.csv", "score": score})
    return pd.DataFrame(rows)


def result(tmp_path=None) -> EvalResult:
    timings = [{"fold": f, "n_train": 100, "n_test": 60, "seconds": 1.5} for f in ("Car-free cities", "Distance learning", "Summer projects")]
    res = EvalResult.from_predictions("lopo", fake_predictions(), timings, config=Config().to_dict())
    res.summary["model"] = "pipeline"
    return res


@pytest.fixture(autouse=True)
def needs_matplotlib():
    pytest.importorskip("matplotlib")


def test_report_is_self_contained_html_with_embedded_pngs(tmp_path):
    path = write_report(result(), tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)  # nothing loaded from elsewhere
    assert "http://" not in text and "https://" not in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) >= 5  # ROC, histogram, prompt bars, source bars, calibration
    for payload in images:
        assert base64.b64decode(payload).startswith(PNG_MAGIC)
    for heading in ("ROC", "Per prompt", "Per generator", "Calibration", "Timings", "Configuration"):
        assert heading in text
    assert "<script" not in text
    assert "flan-t5 &lt;xxl&gt;" in text
    assert "vocab_size = 30522" in text  # the run's config


def test_report_roundtrips_through_a_saved_result(tmp_path):
    saved = result().save(tmp_path / "res")
    html = render_report(EvalResult.load(saved))
    assert html.count("data:image/png;base64,") >= 5
    assert "Summer projects" in html


def test_report_handles_rank_scores_and_one_fold(tmp_path):
    preds = fake_predictions()
    preds = preds[preds["fold"] == "Car-free cities"].assign(score=lambda d: d["score"] * 5 - 2)  # not probabilities
    res = EvalResult.from_predictions("attack", preds)
    html = render_report(res)
    assert "no calibration curve" not in html  # the message is drawn into the PNG, not the HTML
    assert html.count("data:image/png;base64,") >= 4


def test_importing_daigt_does_not_import_matplotlib():
    code = "import sys, daigt, daigt.evaluation, daigt.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
