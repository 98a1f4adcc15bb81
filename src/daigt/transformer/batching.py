"""Token ids, dynamic padding and batch order, shared by training, inference and the frozen embedder.

Essays vary from 50 to 1,500 tokens. Padding every batch to ``max_length`` wastes most of the compute on short
essays, so texts are tokenized once without padding, batches are padded to their own longest essay, and
batches are formed from essays of similar length (sorted for inference, length-grouped for training).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int, chunk: int = 1024) -> list[np.ndarray]:
    """Token ids per text (special tokens added, truncated to ``max_length``), in the input order."""
    ids: list[np.ndarray] = []
    for start in range(0, len(texts), chunk):
        part = [str(t) for t in texts[start:start + chunk]]
        encoded = tokenizer(part, truncation=True, max_length=max_length, add_special_tokens=True,
                            return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        ids.extend(np.asarray(seq, dtype=np.int64) for seq in encoded)
    return ids


def pad_batch(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``input_ids`` and ``attention_mask`` padded on the right to the longest sequence of this batch."""
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        input_ids[row, : len(seq)] = torch.from_numpy(seq)
        mask[row, : len(seq)] = 1
    return input_ids, mask


class EncodedDataset(Dataset):
    """Rows of (token ids, label, row number); the row number lets gathered predictions find their essay."""

    def __init__(self, ids: Sequence[np.ndarray], labels: np.ndarray | None = None, rows: np.ndarray | None = None) -> None:
        self.ids = list(ids)
        self.labels = np.zeros(len(self.ids), dtype=np.float32) if labels is None else np.asarray(labels, dtype=np.float32)
        self.rows = np.arange(len(self.ids)) if rows is None else np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[np.ndarray, float, int]:
        return self.ids[i], float(self.labels[i]), int(self.rows[i])

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.ids), dtype=np.int64, count=len(self.ids))


class PadCollator:
    """DataLoader ``collate_fn``: dynamic padding to the batch's longest essay."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[np.ndarray, float, int]]) -> dict[str, torch.Tensor]:
        input_ids, mask = pad_batch([it[0] for it in items], self.pad_id)
        return {
            "input_ids": input_ids,
            "attention_mask": mask,
            "labels": torch.tensor([it[1] for it in items], dtype=torch.float32),
            "rows": torch.tensor([it[2] for it in items], dtype=torch.long),
        }


class EpochSampler(Sampler[int]):
    """A seeded order per epoch; with ``group_by_length`` consecutive ``batch_size`` runs hold similar lengths.

    The order depends only on ``(seed, epoch)``, so a resumed run replays exactly the batches an
    uninterrupted run would see. Length grouping sorts shuffled windows of 50 batches by length, cuts them
    into batches and shuffles the batches; only the very last batch may be short, and it stays last, so the
    DataLoader's batch boundaries coincide with the groups.
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int, group_by_length: bool = True) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order().tolist())

    def order(self) -> np.ndarray:
        rng = np.random.default_rng([self.seed, self.epoch])
        perm = rng.permutation(len(self.lengths))
        if not self.group_by_length or len(perm) <= self.batch_size:
            return perm
        window = self.batch_size * 50
        chunks = [perm[i:i + window] for i in range(0, len(perm), window)]
        ordered = np.concatenate([c[np.argsort(-self.lengths[c], kind="stable")] for c in chunks])
        batches = [ordered[i:i + self.batch_size] for i in range(0, len(ordered), self.batch_size)]
        tail = [batches.pop()] if len(batches[-1]) < self.batch_size else []
        batches = [batches[i] for i in rng.permutation(len(batches))] + tail
        return np.concatenate(batches)


def sorted_batches(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length, longest first (inference order)."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def resolve_devices(device: str | Sequence[str] = "auto") -> list[torch.device]:
    """``auto``/``cuda``: every visible GPU (else CPU); ``cpu``; ``cuda:1``; or a list of such names."""
    if not isinstance(device, str):
        return [torch.device(d) for d in device]
    if device in ("auto", "cuda"):
        if torch.cuda.is_available():
            return [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
        if device == "cuda":
            raise RuntimeError("device='cuda' requested but torch sees no GPU; use device='auto' or 'cpu'")
        return [torch.device("cpu")]
    return [torch.device(device)]


def run_on_devices(
    replicas: Sequence[torch.nn.Module],
    devices: Sequence[torch.device],
    ids: Sequence[np.ndarray],
    pad_id: int,
    batch_size: int,
    forward: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    out_shape: tuple[int, ...] = (),
    amp: bool = True,
    progress: bool = False,
    desc: str = "predict",
) -> np.ndarray:
    """Run ``forward`` over length-sorted, dynamically padded batches, split across devices.

    Batch ``k`` goes to device ``k % n_devices`` (sorted batches alternate, so each device gets a similar
    mix of long and short ones); one thread per device drives its own model replica, and CUDA kernels run
    without the GIL, so two T4s work in parallel. On GPU, fp16 autocast halves time and memory.
    Returns float32 rows in the input order.
    """
    lengths = np.fromiter((len(s) for s in ids), dtype=np.int64, count=len(ids))
    out = np.zeros((len(ids), *out_shape), dtype=np.float32)
    if len(ids) == 0:
        return out
    batches = sorted_batches(lengths, batch_size)
    bar = _progress_bar(len(batches), progress, desc)

    def work(slot: int) -> None:
        device, model = devices[slot], replicas[slot]
        use_amp = amp and device.type == "cuda"
        for batch in batches[slot::len(devices)]:
            input_ids, mask = pad_batch([ids[i] for i in batch], pad_id)
            with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
                result = forward(model, input_ids.to(device, non_blocking=True), mask.to(device, non_blocking=True))
            out[batch] = result.float().cpu().numpy()
            if bar is not None:
                bar.update(1)

    try:
        if len(devices) == 1:
            work(0)
        else:
            with ThreadPoolExecutor(max_workers=len(devices)) as pool:
                for future in [pool.submit(work, slot) for slot in range(len(devices))]:
                    future.result()
    finally:
        if bar is not None:
            bar.close()
    return out


def replicate(model: torch.nn.Module, devices: Sequence[torch.device]) -> list[torch.nn.Module]:
    """One eval-mode copy of ``model`` per device (the first device gets ``model`` itself)."""
    import copy

    replicas = []
    for i, device in enumerate(devices):
        replica = model if i == 0 else copy.deepcopy(model)
        replicas.append(replica.to(device).eval())
    return replicas


def _progress_bar(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="batch", leave=False, mininterval=1.0)


def steps_per_epoch(n_batches: int, grad_accum: int) -> int:
    return math.ceil(n_batches / grad_accum)
