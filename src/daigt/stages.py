"""Per-stage wall time and peak memory, logged as each stage of a run ends."""

from __future__ import annotations

import logging
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

log = logging.getLogger("daigt")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (what Kaggle's 30 GB limit is checked against)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


@dataclass
class StageLog:
    """Records ``(stage, seconds, peak_rss_mb)`` rows; a run returns it so callers and reports can use it."""

    rows: list[tuple[str, float, float]] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        log.info("%s ...", name)
        yield
        seconds = time.perf_counter() - start
        peak = peak_rss_mb()
        self.rows.append((name, seconds, peak))
        log.info("%s done in %.2fs (peak RSS %.0f MiB)", name, seconds, peak)

    def as_dicts(self) -> list[dict[str, float | str]]:
        return [{"stage": n, "seconds": round(s, 4), "peak_rss_mb": round(p, 1)} for n, s, p in self.rows]
