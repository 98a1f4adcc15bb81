"""Threads for the stages whose inner loops release the GIL (numpy sorts, pandas hash lookups)."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from typing import Any, Callable, Iterable, Iterator


def ensure_tokenizers_parallelism() -> str:
    """Set ``TOKENIZERS_PARALLELISM`` explicitly (keeping a user's choice).

    Left unset, ``tokenizers`` silently turns its thread pool off after a fork (joblib, DataLoader workers)
    and warns; set explicitly, encoding stays parallel in this process and nothing deadlocks in children,
    which never encode. Lives here, with no heavy import, so that ``daigt`` can set it before any command runs;
    :mod:`daigt.tokenizer` re-exports it.
    """
    return os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def available_cores() -> int:
    """Cores this process may run on: a container's CPU set can be smaller than ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def thread_count(n_jobs: int | None) -> int:
    """scikit-learn's convention: ``None`` is 1 thread, ``-1`` all cores, a positive number that many."""
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer, -1 (all cores) or None (1), got {n_jobs!r}")
    return available_cores() if n_jobs == -1 else int(n_jobs)


def ordered_map(fn: Callable[[Any], Any], items: Iterable[Any], threads: int) -> Iterator[Any]:
    """``map(fn, items)`` on ``threads`` threads, results in input order, at most ``threads + 1`` in flight.

    The bound keeps peak memory at a few items' worth, whatever the number of items.
    """
    if threads <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
