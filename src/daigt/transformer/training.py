"""Prompt-grouped k-fold fine-tuning, run by HF Accelerate (one process on CPU / one GPU, or ``accelerate launch``
over several GPUs: DDP, mixed precision, gradient accumulation and resumable state are Accelerate's).

Output directory layout::

    train_config.json        the run's ``train_transformer`` config section (``--resume`` refuses a different one)
    folds.csv                row, prompt_name, label, fold
    fold_<k>/                best checkpoint of fold k (highest validation AUC) + its oof.csv
    fold_<k>.log.jsonl       one JSON line per log / validation event
    oof.csv, scores.json     out-of-fold predictions and fold scores of the finished folds
    _state/fold_<k>/         resume state (optimizer, scheduler, scaler, RNG, step); removed when a fold ends
"""

from __future__ import annotations

import gc
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn
from torch.utils.data import DataLoader

from daigt.config import TrainTransformerConfig
from daigt.folds import prompt_folds
from daigt.io import write_atomic, write_text_atomic
from daigt.transformer.batching import EncodedDataset, EpochSampler, PadCollator, encode_texts, steps_per_epoch
from daigt.transformer.checkpoints import STATE_DIR, TRAIN_CONFIG, BestCheckpoint, CheckpointError, is_model_dir, \
    load_train_config, resume_differences, save_train_config
from daigt.transformer.inference import model_max_length, probabilities
from daigt.transformer.modeling import DetectorModel, load_tokenizer

log = logging.getLogger(__name__)

SCHEDULER_NAMES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}


# ---- results -------------------------------------------------------------------------------------------


@dataclass
class TrainerState:
    """Progress of one fold, saved with the Accelerate state so ``--resume`` continues at the same batch."""

    fold: int
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_auc: float | None = None
    best_step: int = -1
    finished: bool = False
    train_seconds: float = 0.0
    train_samples: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def save(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> TrainerState:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class RunBudget:
    """What one invocation may still spend (``stop_after_steps``, ``max_minutes``), shared by all its folds."""

    def __init__(self, config: TrainTransformerConfig) -> None:
        self.steps_left = config.stop_after_steps or None
        self.deadline = time.monotonic() + 60.0 * config.max_minutes if config.max_minutes else None

    def take_step(self) -> None:
        if self.steps_left is not None:
            self.steps_left -= 1

    def exhausted(self) -> bool:
        return (self.steps_left is not None and self.steps_left <= 0) or (
            self.deadline is not None and time.monotonic() >= self.deadline)


@dataclass
class FoldResult:
    fold: int
    finished: bool
    best_auc: float | None
    best_step: int
    steps: int
    n_train: int
    n_valid: int
    valid_prompts: list[str]
    train_essays_per_s: float
    valid_essays_per_s: float
    train_seconds: float
    checkpoint: str


@dataclass
class TrainingResult:
    out_dir: Path
    folds: list[FoldResult]
    oof: pd.DataFrame
    finished: bool

    @property
    def mean_auc(self) -> float:
        scores = [f.best_auc for f in self.folds if f.finished and f.best_auc is not None]
        return float(np.mean(scores)) if scores else float("nan")


# ---- entry points --------------------------------------------------------------------------------------


def train_folds(config: TrainTransformerConfig, frame: pd.DataFrame, out_dir: str | Path, resume: bool = False) -> TrainingResult:
    """Train the folds ``config.fold_ids()`` on ``frame`` (text,label,prompt_name), keeping each fold's best AUC.

    Under ``accelerate launch`` every process runs this; only the main process writes the shared files.
    """
    from accelerate import PartialState

    process = PartialState(cpu=config.device == "cpu")
    out_dir = Path(out_dir)
    folds = training_folds(config, frame)
    _check_out_dir(config, out_dir, frame, folds, resume)
    process.wait_for_everyone()
    if process.is_main_process:
        _write_run_files(config, out_dir, frame, folds)
    process.wait_for_everyone()
    done = _read_scores(out_dir).get("folds", {})
    results: list[FoldResult] = []
    finished = True
    budget = RunBudget(config)
    for fold in config.fold_ids():
        if resume and done.get(str(fold), {}).get("finished"):
            log.info("fold %d already finished (AUC %.4f): skipped", fold, done[str(fold)]["best_auc"])
            results.append(FoldResult(**done[str(fold)]))
            continue
        if budget.exhausted():
            finished = False
            log.info("time or step budget spent before fold %d; continue with --resume", fold)
            break
        result = train_fold(config, frame, folds, fold, out_dir, resume=resume, budget=budget)
        results.append(result)
        if not result.finished:
            finished = False
            log.info("fold %d stopped at step %d; continue with --resume", fold, result.steps)
            break
        if process.is_main_process:
            _write_scores(out_dir, config, result)
        process.wait_for_everyone()
    oof = _collect_oof(out_dir, _finished_folds(out_dir))
    return TrainingResult(out_dir, results, oof, finished)


def training_folds(config: TrainTransformerConfig, frame: pd.DataFrame) -> np.ndarray:
    """Validation fold per row: the prompt-grouped folds of ``daigt cv`` (same data and seed, same rows), each
    holding both labels so its AUC is defined."""
    return prompt_folds(frame["prompt_name"].to_numpy(), config.n_folds, config.seed, labels=frame["label"].to_numpy())


def train_fold(
    config: TrainTransformerConfig, frame: pd.DataFrame, folds: np.ndarray, fold: int, out_dir: str | Path, resume: bool = False,
    budget: RunBudget | None = None,
) -> FoldResult:
    """Fine-tune on every fold but ``fold``, validate on ``fold``; returns when done or when the budget is spent."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_scheduler

    _quiet_accelerate_logs()
    budget = budget if budget is not None else RunBudget(config)
    out_dir = Path(out_dir)
    fold_dir, state_dir = out_dir / f"fold_{fold}", out_dir / STATE_DIR / f"fold_{fold}"
    accelerator = Accelerator(
        mixed_precision=resolve_precision(config), gradient_accumulation_steps=config.grad_accum,
        cpu=config.device == "cpu", step_scheduler_with_optimizer=True,
    )
    main = accelerator.is_main_process
    set_seed(config.seed + fold)
    tokenizer = load_tokenizer(config.model_dir)
    model = initial_model(config)
    if config.gradient_checkpointing:
        model.enable_gradient_checkpointing()
    length = min(config.max_length, model_max_length(model, tokenizer))

    texts, labels = frame["text"].tolist(), frame["label"].to_numpy().astype(np.float32)
    train_rows, valid_rows = np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)
    train_ds = EncodedDataset(encode_texts(tokenizer, [texts[i] for i in train_rows], length), labels[train_rows], train_rows)
    valid_ids = encode_texts(tokenizer, [texts[i] for i in valid_rows], length)
    by_length = np.argsort(-np.fromiter((len(s) for s in valid_ids), dtype=np.int64, count=len(valid_ids)), kind="stable")
    valid_ds = EncodedDataset([valid_ids[i] for i in by_length], labels[valid_rows][by_length], valid_rows[by_length])
    collate = PadCollator(tokenizer.pad_token_id)
    sampler = EpochSampler(train_ds.lengths(), config.batch_size, seed=config.seed + fold, group_by_length=config.group_by_length)
    train_dl = DataLoader(train_ds, batch_size=config.batch_size, sampler=sampler, collate_fn=collate,
                          generator=torch.Generator().manual_seed(config.seed))
    valid_dl = DataLoader(valid_ds, batch_size=config.eval_batch_size, shuffle=False, collate_fn=collate,
                          generator=torch.Generator().manual_seed(config.seed))

    optimizer = torch.optim.AdamW(param_groups(model, config.lr_encoder, config.lr_head, config.weight_decay),
                                  lr=config.lr_encoder, eps=config.adam_eps)
    n_steps = steps_per_epoch(len(train_dl), config.grad_accum) * config.epochs
    scheduler = get_scheduler(SCHEDULER_NAMES[config.scheduler], optimizer,
                              num_warmup_steps=int(round(config.warmup_ratio * n_steps)), num_training_steps=n_steps)
    model, optimizer, train_dl, valid_dl, scheduler = accelerator.prepare(model, optimizer, train_dl, valid_dl, scheduler)
    local_steps = steps_per_epoch(len(train_dl), config.grad_accum) * config.epochs

    state = TrainerState(fold=fold)
    state_file = state_dir / "trainer_state.json"
    if resume and state_file.is_file():
        accelerator.load_state(str(state_dir / "accelerate"))
        state = TrainerState.load(state_file)
        log.info("fold %d: resumed at step %d (epoch %d, batch %d, best AUC %s)", fold, state.step, state.epoch,
                 state.batch_in_epoch, state.best_auc)
    best = BestCheckpoint(state.best_auc, state.best_step)
    valid_prompts = sorted(frame["prompt_name"].iloc[valid_rows].astype(str).unique())
    if main:
        log.info("fold %d: %d train / %d valid essays, valid prompts %s; %d optimizer steps, max_length %d, precision %s, %d process(es)",
                 fold, len(train_rows), len(valid_rows), valid_prompts, local_steps, length,
                 accelerator.mixed_precision, accelerator.num_processes)
    history_file = out_dir / f"fold_{fold}.log.jsonl"

    def record(event: dict[str, Any]) -> None:
        state.history.append(event)
        if main:
            with history_file.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(event) + "\n")

    def validate() -> None:
        started = time.perf_counter()
        probs, val_loss = predict_fold(model, valid_dl, accelerator, frame_rows=valid_rows)
        auc = float(roc_auc_score(labels[valid_rows], probs)) if len(set(labels[valid_rows])) > 1 else float("nan")
        seconds = time.perf_counter() - started
        improved = best.update(auc, state.step)
        state.best_auc, state.best_step = best.score, best.step
        record({"event": "validate", "fold": fold, "step": state.step, "epoch": round(epoch_progress(), 4), "auc": auc,
                "valid_loss": val_loss, "best_auc": best.score, "best_step": best.step,
                "valid_essays_per_s": len(valid_rows) / max(seconds, 1e-9)})
        if main:
            log.info("fold %d step %d: valid AUC %.4f loss %.4f (best %.4f @ step %d)%s", fold, state.step, auc, val_loss,
                     best.score if best.score is not None else float("nan"), best.step, " *" if improved else "")
        if improved and main:
            save_best(accelerator.unwrap_model(model), tokenizer, config, fold_dir, frame, valid_rows, probs,
                      {"fold": fold, "best_auc": auc, "best_step": state.step, "max_length": length,
                       "n_train": int(len(train_rows)), "n_valid": int(len(valid_rows)), "valid_prompts": valid_prompts})
        accelerator.wait_for_everyone()

    def epoch_progress() -> float:
        return state.epoch + state.batch_in_epoch / max(len(train_dl), 1)

    def save_state() -> None:
        if not config.save_state:
            return
        accelerator.save_state(str(state_dir / "accelerate"))
        if main:
            state.save(state_file)
        accelerator.wait_for_everyone()

    bar = _progress(local_steps, state.step, f"fold {fold}", config.progress and main)
    window_loss, window_batches, window_samples, window_seconds = 0.0, 0, 0, 0.0
    stopped = False
    model.train()
    while state.epoch < config.epochs and not stopped:
        sampler.set_epoch(state.epoch)
        if hasattr(train_dl, "set_epoch"):  # Accelerate re-sets the sampler's epoch from its own counter on every pass
            train_dl.set_epoch(state.epoch)
        loader = accelerator.skip_first_batches(train_dl, state.batch_in_epoch) if state.batch_in_epoch else train_dl
        tick = time.perf_counter()
        for batch in loader:
            with accelerator.accumulate(model):
                logits = model(batch["input_ids"], batch["attention_mask"])
                loss = F.binary_cross_entropy_with_logits(logits.float(), batch["labels"])
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
            state.batch_in_epoch += 1
            window_loss += float(loss.detach())
            window_batches += 1
            window_samples += len(batch["labels"]) * accelerator.num_processes
            if not accelerator.sync_gradients:
                continue
            now = time.perf_counter()
            window_seconds += now - tick
            state.step += 1
            budget.take_step()
            end_of_epoch = state.batch_in_epoch >= len(train_dl)
            if end_of_epoch:
                state.epoch, state.batch_in_epoch = state.epoch + 1, 0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{window_loss / max(window_batches, 1):.4f}", refresh=False)
            if state.step % config.log_every == 0 or end_of_epoch:
                state.train_seconds += window_seconds
                state.train_samples += window_samples
                lrs = {g.get("name", str(i)): g["lr"] for i, g in enumerate(optimizer.param_groups)}
                event = {"event": "train", "fold": fold, "step": state.step, "epoch": round(epoch_progress(), 4),
                         "loss": window_loss / max(window_batches, 1),
                         "lr_encoder": lrs.get("encoder_decay", lrs.get("encoder_no_decay")),
                         "lr_head": lrs.get("head_decay", lrs.get("head_no_decay")),
                         "essays_per_s": window_samples / max(window_seconds, 1e-9)}
                record(event)
                if main:
                    log.info("fold %d step %d/%d epoch %.2f: loss %.4f lr %.2e/%.2e %.1f essays/s", fold, state.step,
                             local_steps, event["epoch"], event["loss"], event["lr_encoder"] or 0.0, event["lr_head"] or 0.0,
                             event["essays_per_s"])
                window_loss, window_batches, window_samples, window_seconds = 0.0, 0, 0, 0.0
            validated = end_of_epoch or (config.eval_every > 0 and state.step % config.eval_every == 0)
            if validated:
                validate()
                model.train()
            more_to_do = state.epoch < config.epochs
            out_of_budget = _on_any_process(accelerator, budget.exhausted())
            if more_to_do and (validated or out_of_budget):
                state.train_seconds += window_seconds
                state.train_samples += window_samples
                window_samples, window_seconds = 0, 0.0
                save_state()
            if more_to_do and out_of_budget:
                stopped = True
                break
            tick = time.perf_counter()
        if stopped and hasattr(loader, "end"):
            loader.end()  # the loop left the loader mid-epoch: unregister it from Accelerate's gradient state
    if bar is not None:
        bar.close()

    state.finished = not stopped
    if state.finished and main:
        if config.keep_state:
            state.save(state_file)
        elif state_dir.exists():
            shutil.rmtree(state_dir, ignore_errors=True)
            if not any(state_dir.parent.iterdir()):
                state_dir.parent.rmdir()
    last_valid = [h for h in state.history if h.get("event") == "validate"]
    result = FoldResult(
        fold=fold, finished=state.finished, best_auc=state.best_auc, best_step=state.best_step, steps=state.step,
        n_train=int(len(train_rows)), n_valid=int(len(valid_rows)), valid_prompts=valid_prompts,
        train_essays_per_s=state.train_samples / max(state.train_seconds, 1e-9),
        valid_essays_per_s=float(last_valid[-1]["valid_essays_per_s"]) if last_valid else float("nan"),
        train_seconds=state.train_seconds, checkpoint=str(fold_dir),
    )
    accelerator.wait_for_everyone()
    del model, optimizer, scheduler, train_dl, valid_dl
    accelerator.free_memory()
    gc.collect()
    return result


# ---- pieces ---------------------------------------------------------------------------------------------


def initial_model(config: TrainTransformerConfig) -> DetectorModel:
    """The model to fine-tune: a pretrained encoder with a new head, or one of this track's checkpoints."""
    if is_model_dir(config.model_dir):
        model = DetectorModel.from_pretrained(config.model_dir)
        if model.head_type != config.head:
            raise CheckpointError(f"{config.model_dir}: checkpoint has head {model.head_type!r} but --head {config.head!r}")
        if model.head_type == "mean":
            model.dropout.p = config.head_dropout
        return model.train()
    return DetectorModel.from_backbone(config.model_dir, head=config.head, head_dropout=config.head_dropout)


def param_groups(model: nn.Module, lr_encoder: float, lr_head: float, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: encoder vs head learning rate; no weight decay on biases and LayerNorm parameters."""
    no_decay: set[str] = set()
    for module_name, module in model.named_modules():
        if isinstance(module, nn.LayerNorm) or "layernorm" in type(module).__name__.lower():
            no_decay.update(f"{module_name}.{p}" if module_name else p for p, _ in module.named_parameters(recurse=False))
    groups: dict[str, list[nn.Parameter]] = {"encoder_decay": [], "encoder_no_decay": [], "head_decay": [], "head_no_decay": []}
    is_encoder = getattr(model, "is_encoder_parameter", lambda name: not name.startswith("head."))
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = "encoder" if is_encoder(name) else "head"
        decay = not (name.endswith("bias") or name in no_decay or param.ndim < 2)
        groups[f"{part}_{'decay' if decay else 'no_decay'}"].append(param)
    return [
        {"params": params, "name": name, "lr": lr_encoder if name.startswith("encoder") else lr_head,
         "weight_decay": weight_decay if name.endswith("_decay") and not name.endswith("no_decay") else 0.0}
        for name, params in groups.items() if params
    ]


def resolve_precision(config: TrainTransformerConfig) -> str:
    """Accelerate's ``mixed_precision``: full precision on CPU; bf16 needs compute capability 8 (not T4/P100)."""
    if config.device == "cpu" or not torch.cuda.is_available() or config.precision == "fp32":
        if config.precision in ("fp16", "bf16") and not torch.cuda.is_available():
            log.warning("precision=%s needs a GPU; training in fp32 on the CPU", config.precision)
        return "no"
    if config.precision == "auto":
        return "bf16" if torch.cuda.get_device_capability()[0] >= 8 else "fp16"
    return config.precision


def predict_fold(model: nn.Module, loader: DataLoader, accelerator: Any, frame_rows: np.ndarray) -> tuple[np.ndarray, float]:
    """Probabilities for ``frame_rows`` (in that order) and the mean BCE loss, gathered from every process."""
    was_training = model.training
    model.eval()
    logits_parts, rows_parts, label_parts = [], [], []
    with torch.no_grad():
        for batch in loader:
            logits = model(batch["input_ids"], batch["attention_mask"]).float()
            logits, rows, labels = accelerator.gather_for_metrics((logits, batch["rows"], batch["labels"]))
            logits_parts.append(logits.cpu())
            rows_parts.append(rows.cpu())
            label_parts.append(labels.cpu())
    model.train(was_training)
    logits = torch.cat(logits_parts)
    labels = torch.cat(label_parts)
    loss = float(F.binary_cross_entropy_with_logits(logits, labels))
    by_row = dict(zip(torch.cat(rows_parts).tolist(), probabilities(logits.numpy()).tolist()))
    missing = [int(r) for r in frame_rows if int(r) not in by_row]
    if missing:
        raise RuntimeError(f"validation lost {len(missing)} essays (first row {missing[0]}); gather_for_metrics mismatch")
    return np.array([by_row[int(r)] for r in frame_rows], dtype=np.float64), loss


def save_best(
    model: DetectorModel, tokenizer: Any, config: TrainTransformerConfig, fold_dir: Path, frame: pd.DataFrame,
    valid_rows: np.ndarray, probs: np.ndarray, metadata: dict[str, Any],
) -> None:
    model.save_pretrained(fold_dir, tokenizer=tokenizer, train_config=config, metadata=metadata)
    oof = pd.DataFrame({
        "row": valid_rows, "fold": metadata["fold"], "prompt_name": frame["prompt_name"].iloc[valid_rows].to_numpy(),
        "source": frame["source"].iloc[valid_rows].to_numpy() if "source" in frame else "",
        "label": frame["label"].iloc[valid_rows].to_numpy().astype(int), "prob": probs,
    })
    write_atomic(fold_dir / "oof.csv", lambda tmp: oof.to_csv(tmp, index=False))


def _check_out_dir(config: TrainTransformerConfig, out_dir: Path, frame: pd.DataFrame, folds: np.ndarray, resume: bool) -> None:
    """Refuse to mix runs: a new run needs an empty directory, a resumed one the same settings and data."""
    saved = out_dir / TRAIN_CONFIG
    if not resume:
        if out_dir.exists() and any(out_dir.iterdir()):
            raise CheckpointError(f"{out_dir}: output directory is not empty; pass --resume to continue it or choose a new --out-dir")
        return
    if saved.is_file():
        changed = resume_differences(load_train_config(saved), config)
        if changed:
            raise CheckpointError(
                f"{saved}: --resume with different settings {changed}; rerun with the saved values or a new --out-dir"
            )
    path = out_dir / "folds.csv"
    if path.is_file():
        previous = pd.read_csv(path, dtype={"prompt_name": str}, keep_default_na=False)
        same = len(previous) == len(frame) and np.array_equal(previous["fold"].to_numpy(), folds) and np.array_equal(
            previous["prompt_name"].astype(str).to_numpy(), frame["prompt_name"].astype(str).to_numpy())
        if not same:
            raise CheckpointError(f"{path}: the training data or folds differ from the interrupted run; resume with the same files")


def _write_run_files(config: TrainTransformerConfig, out_dir: Path, frame: pd.DataFrame, folds: np.ndarray) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    save_train_config(config, out_dir / TRAIN_CONFIG)
    table = pd.DataFrame({"row": np.arange(len(frame)), "prompt_name": frame["prompt_name"].to_numpy(),
                          "label": frame["label"].to_numpy().astype(int), "fold": folds})
    write_atomic(out_dir / "folds.csv", lambda tmp: table.to_csv(tmp, index=False))


def _finished_folds(out_dir: Path) -> list[int]:
    return sorted(int(k) for k, v in _read_scores(out_dir).get("folds", {}).items() if v.get("finished"))


def _read_scores(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "scores.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_scores(out_dir: Path, config: TrainTransformerConfig, result: FoldResult) -> None:
    scores = _read_scores(out_dir)
    folds = scores.get("folds", {})
    folds[str(result.fold)] = asdict(result)
    finished = sorted(int(k) for k, v in folds.items() if v.get("finished") and v.get("best_auc") is not None)
    oof = _collect_oof(out_dir, finished)
    oof_auc = float(roc_auc_score(oof["label"], oof["prob"])) if len(oof) and oof["label"].nunique() == 2 else None
    payload = {
        "n_folds": config.n_folds, "folds": folds, "finished_folds": finished,
        "mean_fold_auc": float(np.mean([folds[str(k)]["best_auc"] for k in finished])) if finished else None,
        "oof_auc": oof_auc, "complete": len(finished) == config.n_folds,
    }
    write_text_atomic(out_dir / "scores.json", json.dumps(payload, indent=2, sort_keys=True) + "\n")
    write_atomic(out_dir / "oof.csv", lambda tmp: oof.to_csv(tmp, index=False))


def _collect_oof(out_dir: Path, folds: Sequence[int]) -> pd.DataFrame:
    parts = [pd.read_csv(out_dir / f"fold_{k}" / "oof.csv", dtype={"prompt_name": str, "source": str}, keep_default_na=False)
             for k in folds if (out_dir / f"fold_{k}" / "oof.csv").is_file()]
    if not parts:
        return pd.DataFrame(columns=["row", "fold", "prompt_name", "source", "label", "prob"])
    return pd.concat(parts, ignore_index=True).sort_values("row").reset_index(drop=True)


def _on_any_process(accelerator: Any, flag: bool) -> bool:
    """Processes must stop together (a clock-based budget can run out on one process a step earlier)."""
    if accelerator.num_processes == 1:
        return bool(flag)
    value = torch.tensor([1.0 if flag else 0.0], device=accelerator.device)
    return bool(accelerator.reduce(value, reduction="sum").item() > 0)


def _quiet_accelerate_logs() -> None:
    """Accelerate logs every file of every state save at INFO; keep it to warnings unless a user chose a level."""
    logger = logging.getLogger("accelerate")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", mininterval=2.0)


def load_training_frame(paths: Sequence[str | Path], config: TrainTransformerConfig) -> pd.DataFrame:
    from daigt.transformer.inputs import load_labelled

    return load_labelled(paths, strip_anonymisation=config.strip_anonymisation, max_rows=config.max_train_rows, seed=config.seed)
