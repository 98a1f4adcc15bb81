"""One self-contained HTML page per evaluation: plots, tables, config and timings, no external assets.

A single file with base64-embedded PNGs can be attached to an issue, opened offline, or kept next to the
saved result without a web server. matplotlib is imported only inside these functions (extra ``report``),
so ``import daigt`` never needs it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from daigt.config import Config
    from daigt.evaluation import EvalResult

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1100px;color:#222}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.bad{color:#b00020;font-weight:600}.muted{color:#777}
img{max-width:100%;border:1px solid #eee}pre{background:#f8f8f8;padding:8px;font-size:.8em;overflow-x:auto}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}.kpi{display:flex;gap:24px;flex-wrap:wrap}
.kpi div{background:#f4f6fa;padding:8px 14px;border-radius:6px}.kpi b{display:block;font-size:1.4em}
"""


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return '<img alt="plot" src="data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode("ascii") + '">'


def _plt() -> Any:
    from daigt.extras import import_extra

    import_extra("matplotlib", "report", "the HTML report").use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _roc_plot(predictions: pd.DataFrame, max_curves: int = 12) -> str:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    groups = [(n, p) for n, p in predictions.groupby("fold", sort=False) if p["label"].nunique() == 2]
    for name, part in groups[:max_curves]:
        fpr, tpr, _ = roc_curve(part["label"], part["score"])
        ax.plot(fpr, tpr, lw=1.2, label=f"{str(name)[:28]} ({roc_auc_score(part['label'], part['score']):.3f})")
    if predictions["label"].nunique() == 2:
        fpr, tpr, _ = roc_curve(predictions["label"], predictions["score"])
        ax.plot(fpr, tpr, "k--", lw=1.5, label=f"pooled ({roc_auc_score(predictions['label'], predictions['score']):.3f})")
    ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8)
    ax.set(xlabel="false positive rate (humans flagged)", ylabel="true positive rate", title="ROC per held-out group")
    ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def _histogram_plot(predictions: pd.DataFrame) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 5))
    bins = np.linspace(predictions["score"].min(), predictions["score"].max() + 1e-9, 41)
    for label, name, color in ((0, "human", "#1f77b4"), (1, "machine", "#d62728")):
        scores = predictions.loc[predictions["label"] == label, "score"]
        ax.hist(scores, bins=bins, alpha=0.55, color=color, label=f"{name} (n={len(scores)})")
    ax.set(xlabel="score (P(machine))", ylabel="essays", title="Score distribution")
    ax.legend()
    return _png(fig)


def _bar_plot(table: pd.DataFrame, key: str, title: str) -> str:
    plt = _plt()
    rows = table.dropna(subset=["auc"]).copy()
    labels = rows[key].astype(str).str.slice(0, 40)
    if "fold" in rows and rows["fold"].astype(str).ne(rows[key].astype(str)).any() and rows["fold"].nunique() > 1:
        labels = rows["fold"].astype(str).str.slice(0, 18) + " | " + labels
    rows = rows.assign(_label=labels.to_numpy()).sort_values("auc")
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.28 * len(rows) + 1)))
    colors = ["#d62728" if v < 0.9 else "#ff7f0e" if v < 0.98 else "#2ca02c" for v in rows["auc"]]
    ax.barh(rows["_label"], rows["auc"], color=colors)
    low = min(0.5, float(rows["auc"].min()) - 0.02) if len(rows) else 0.5
    ax.set_xlim(max(0.0, low), 1.0)
    for y, v in enumerate(rows["auc"]):
        ax.text(v, y, f" {v:.3f}", va="center", fontsize=7)
    ax.set(xlabel="ROC AUC", title=title)
    ax.tick_params(axis="y", labelsize=7)
    return _png(fig)


def _calibration_plot(predictions: pd.DataFrame, bins: int = 10) -> str:
    plt = _plt()
    scores = predictions["score"].to_numpy(dtype=np.float64)
    labels = predictions["label"].to_numpy()
    fig, ax = plt.subplots(figsize=(6, 5))
    if scores.min() >= 0 and scores.max() <= 1:
        edges = np.linspace(0, 1, bins + 1)
        which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
        xs, ys, ns = [], [], []
        for b in range(bins):
            mask = which == b
            if mask.any():
                xs.append(scores[mask].mean())
                ys.append(labels[mask].mean())
                ns.append(int(mask.sum()))
        ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8)
        ax.plot(xs, ys, "o-", color="#9467bd")
        for x, y, n in zip(xs, ys, ns):
            ax.annotate(str(n), (x, y), fontsize=6, textcoords="offset points", xytext=(3, -9))
        ax.set(xlabel="mean score in bin", ylabel="share machine", title="Calibration (pooled; labels = essays per bin)")
    else:
        ax.text(0.5, 0.5, "scores are not probabilities (rank blend):\nno calibration curve", ha="center")
        ax.set_axis_off()
    return _png(fig)


def _table_html(frame: pd.DataFrame, floats: int = 4, highlight_below: float | None = None) -> str:
    if frame is None or len(frame) == 0:
        return '<p class="muted">(none)</p>'
    head = "".join(
        f'<th class="{"l" if frame[c].dtype == object or str(frame[c].dtype).startswith("str") else ""}">'
        f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = row[column]
            if isinstance(value, (float, np.floating)):
                text = "" if np.isnan(value) else f"{value:.{floats}f}"
                bad = highlight_below is not None and column == "auc" and not np.isnan(value) and value < highlight_below
                cells.append(f'<td class="{"bad" if bad else ""}">{text}</td>')
            elif isinstance(value, (int, np.integer)):
                cells.append(f"<td>{int(value)}</td>")
            else:
                cells.append(f'<td class="l">{html.escape(str(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kpis(summary: dict[str, Any]) -> str:
    items = [
        ("pooled AUC", summary.get("pooled_auc")),
        ("mean fold AUC", summary.get("mean_fold_auc")),
        ("min fold AUC", summary.get("min_fold_auc")),
        ("TPR @ 1% FPR", summary.get("tpr_at_1pct_fpr")),
        ("TPR @ 5% FPR", summary.get("tpr_at_5pct_fpr")),
    ]
    cells = []
    for name, value in items:
        shown = "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"
        cells.append(f"<div>{html.escape(name)}<b>{shown}</b></div>")
    return f'<div class="kpi">{"".join(cells)}</div>'


def _config_text(config: Any) -> str:
    if config is None:
        return ""
    if hasattr(config, "to_toml"):
        return config.to_toml()
    try:
        from daigt.config import Config

        return Config.from_dict(dict(config)).to_toml()
    except Exception:  # an older or foreign config dict: show it as JSON rather than fail the report
        return json.dumps(config, indent=2, default=str)


def render_report(
    result: EvalResult,
    config: Config | dict[str, Any] | None = None,
    timings: Sequence[dict[str, Any]] | None = None,
    title: str | None = None,
) -> str:
    """The report's HTML as a string (see ``write_report``)."""
    predictions = result.predictions
    config = config if config is not None else result.config
    timings = list(timings) if timings is not None else list(result.timings)
    title = title or f"DAIGT evaluation: {result.protocol}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="muted">{result.summary.get("n_folds", len(result.folds))} held-out groups, '
        f'{len(predictions)} scored essays, model {html.escape(str(result.summary.get("model", "?")))}'
        f'{", simulated test noise " + html.escape(json.dumps(result.summary["test_noise"])) if result.summary.get("test_noise") else ""}.</p>',
        _kpis(result.summary),
    ]
    if result.skipped:
        parts.append("<p><b>Skipped:</b> " + "; ".join(html.escape(s) for s in result.skipped) + "</p>")
    parts += ["<h2>ROC and scores</h2>", '<div class="grid">', _roc_plot(predictions), _histogram_plot(predictions), "</div>"]
    parts += ["<h2>Per held-out group</h2>", _table_html(result.folds, highlight_below=0.9)]
    parts += ["<h2>Per prompt</h2>"]
    parts += [_bar_plot(result.prompts, "prompt_name", "AUC per prompt") if len(result.prompts) else ""]
    parts += [_table_html(result.prompts, highlight_below=0.9)]
    parts += ['<h2>Per generator</h2><p class="muted">Each generator\'s essays against all human essays of the same fold.</p>']
    parts += [_bar_plot(result.sources, "source", "AUC per generator") if len(result.sources) else ""]
    parts += [_table_html(result.sources, highlight_below=0.9)]
    lengths = result.lengths
    if len(lengths):
        parts += ['<h2>Per length</h2><p class="muted">AUC by text length in words: pooled over all held-out '
                  'rows (fold "all"), then inside each fold. Short texts carry little n-gram evidence.</p>']
        parts += [_table_html(lengths, highlight_below=0.9)]
    parts += ["<h2>Calibration</h2>", _calibration_plot(predictions)]
    if timings:
        parts += ["<h2>Timings</h2>", _table_html(pd.DataFrame(timings), floats=2)]
    text = _config_text(config)
    if text:
        parts += ["<h2>Configuration</h2>", f"<pre>{html.escape(text)}</pre>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    result: EvalResult,
    path: str | Path,
    config: Config | dict[str, Any] | None = None,
    timings: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write the self-contained HTML report atomically; ``config``/``timings`` default to the result's own."""
    from daigt.io import write_text_atomic

    return write_text_atomic(Path(path), render_report(result, config, timings))
