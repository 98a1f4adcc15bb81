"""Atomic file writes: a failed or interrupted run never leaves a half-written output behind.

``SIGINT`` raises ``KeyboardInterrupt`` and the CLI turns ``SIGTERM`` into ``SystemExit``, so the cleanup below
also runs when a run is interrupted (only ``SIGKILL`` can leave a temporary file behind).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Mapping


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic on POSIX, so readers see either the old file or the complete new one.
    """
    return write_all_atomic({Path(path): write})[0]


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_all_atomic(writers: Mapping[Path, Callable[[Path], None]]) -> list[Path]:
    """Write several files so that either all of them are new or all are as before.

    Every file is first written to a temporary file beside it; only when all of them are complete are they
    renamed into place. Should a rename fail (or a signal arrive) half-way, the files already replaced are
    restored from hard-link backups taken just before, so a submission never sits next to another run's config.
    """
    temps: dict[Path, Path] = {}
    backups: dict[Path, Path | None] = {}
    try:
        for path, write in writers.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            temps[path] = _temp_beside(path, ".tmp")
            write(temps[path])
            os.chmod(temps[path], 0o644)
        for path in temps:
            backups[path] = _backup(path)
        done: list[Path] = []
        try:
            for path, tmp in temps.items():
                os.replace(tmp, path)
                done.append(path)
        except BaseException:
            for path in done:
                backup = backups[path]
                if backup is None:
                    path.unlink(missing_ok=True)
                else:
                    os.replace(backup, path)
                    backups[path] = None
            raise
    finally:
        for leftover in [*temps.values(), *(b for b in backups.values() if b is not None)]:
            leftover.unlink(missing_ok=True)
    return list(writers)


def _temp_beside(path: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(name)


def _backup(path: Path) -> Path | None:
    if not path.exists():
        return None
    backup = _temp_beside(path, ".bak")
    backup.unlink()
    try:
        os.link(path, backup)
    except OSError:  # a file system without hard links
        shutil.copy2(path, backup)
    return backup
