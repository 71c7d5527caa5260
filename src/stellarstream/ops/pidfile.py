"""Pid files in ``var/``: how the health monitor finds the processes it watches (never by name)."""

from __future__ import annotations

import os
from pathlib import Path

import psutil  # type: ignore[import-untyped]

GUNICORN_PIDFILE = "gunicorn.pid"
INDEXER_PIDFILE = "indexer.pid"
CLOCK_SLACK_SECONDS = 2.0


def write_pidfile(path: Path, pid: int | None = None) -> None:
    """Write ``pid`` (this process by default) atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{pid or os.getpid()}\n")
    tmp.replace(path)


def remove_pidfile(path: Path, pid: int | None = None) -> None:
    """Remove ``path`` if it still names ``pid`` (a successor may have written its own)."""
    if read_pid(path) == (pid or os.getpid()):
        path.unlink(missing_ok=True)


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (FileNotFoundError, PermissionError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def process_from_pidfile(path: Path) -> psutil.Process | None:
    """The live process ``path`` names, or ``None`` (no file, no such process, or a stale file).

    A pid is reused once its process is gone: a process that started after the file was written
    is not the one that wrote it.
    """
    pid = read_pid(path)
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        written = path.stat().st_mtime
        if process.create_time() > written + CLOCK_SLACK_SECONDS:
            return None
    except (psutil.Error, FileNotFoundError):
        return None
    return process
