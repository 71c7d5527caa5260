"""Logs: console lines for a person at a terminal, JSON lines otherwise (STELLARSTREAM_LOG_FORMAT
still wins), and none of Alembic's chatter ("setup plugin ...") on every command."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from stellarstream.ops.logging import resolve_format

BIN = Path(sys.executable).parent


def run(cwd: Path, args: list[str], *, tty: bool, **settings: str) -> str:
    """``stellarstream args`` with stdout and stderr on a terminal (a pty) or on a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update({f"STELLARSTREAM_{k.upper()}": v for k, v in settings.items()})
    env["TERM"] = "dumb"
    if not tty:
        result = subprocess.run(
            [str(BIN / "stellarstream"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout + result.stderr
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(BIN / "stellarstream"), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=60) == 0, b"".join(chunks)
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_a_terminal_gets_console_lines(tmp_path: Path, database_url: str) -> None:
    out = run(tmp_path, ["db", "upgrade"], tty=True, database_url=database_url)
    assert "database_at_head" in out
    assert not any(line.lstrip().startswith("{") for line in out.splitlines()), out
    assert "setup plugin" not in out


def test_a_pipe_gets_json_lines(tmp_path: Path, database_url: str) -> None:
    out = run(tmp_path, ["db", "upgrade"], tty=False, database_url=database_url)
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [e["event"] for e in events] == ["database_at_head"], out


def test_the_setting_wins(tmp_path: Path, database_url: str) -> None:
    out = run(tmp_path, ["db", "upgrade"], tty=True, database_url=database_url, log_format="json")
    (line,) = [x for x in out.splitlines() if x.strip()]
    assert json.loads(line)["event"] == "database_at_head"
    out = run(
        tmp_path, ["db", "upgrade"], tty=False, database_url=database_url, log_format="console"
    )
    assert "database_at_head" in out and not out.lstrip().startswith("{")


def test_a_first_migration_says_what_it_runs_and_no_more(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    out = run(tmp_path, ["db", "upgrade"], tty=False, database_url=url)
    events = [json.loads(line)["event"] for line in out.splitlines() if line.strip()]
    assert events[0].startswith("Running upgrade  -> 0001")
    assert events[-1] == "database_migrated"
    assert not [e for e in events if e.startswith(("setup plugin", "Context impl", "Will assume"))]
    current = run(tmp_path, ["db", "current"], tty=False, database_url=url)
    assert "setup plugin" not in current and current.startswith("current: ")


@pytest.mark.parametrize(
    ("fmt", "tty", "chosen"),
    [
        ("auto", True, "console"),
        ("auto", False, "json"),
        ("json", True, "json"),
        ("console", False, "console"),
    ],
)
def test_resolve_format(fmt: str, tty: bool, chosen: str) -> None:
    class Stream:
        def isatty(self) -> bool:
            return tty

    assert resolve_format(fmt, Stream()) == chosen  # type: ignore[arg-type]
