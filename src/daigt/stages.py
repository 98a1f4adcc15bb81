"""Per-stage wall time and peak memory, logged as each stage of a run ends."""

from __future__ import annotations

import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

log = logging.getLogger("daigt")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (what Kaggle's 30 GB limit is checked against)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def run_measured(command: Sequence[str], cap_s: float, sink: Callable[[bytes], None],
                 **popen) -> tuple[int | None, float, float]:
    """Run ``command`` (output lines to ``sink``, stderr merged); ``(exit code, wall seconds, peak RSS MiB)``.

    The peak is that of the child process itself (``wait4``), which a parent's own ``ru_maxrss`` cannot see.
    Past ``cap_s`` its whole process group is killed and the exit code is None: a rehearsal or dry-run must
    end with a measurement, not hang.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            **popen)
    pump = threading.Thread(target=lambda: [sink(line) for line in iter(proc.stdout.readline, b"")], daemon=True)
    pump.start()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            code: int | None = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - start > cap_s:
            os.killpg(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            code = None
            break
        time.sleep(0.1)
    proc.returncode = -signal.SIGKILL if code is None else code  # reaped above: Popen must not wait again
    pump.join(10)
    proc.stdout.close()
    return code, time.perf_counter() - start, usage.ru_maxrss / 1024


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
