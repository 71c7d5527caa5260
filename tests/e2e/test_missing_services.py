"""A run without PostgreSQL (or Redis, Chromium, npm) says so in its last lines, one per
service; with CI set the same run fails instead."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.missing_services import summary_lines

ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = "tests/e2e/test_cli_errors.py::test_db_current_reads_a_real_database"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_pytest(ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    port = free_port()
    env["STELLARSTREAM_TEST_POSTGRES_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{port}/t"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ONE_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_run_without_postgresql_ends_saying_what_was_skipped() -> None:
    result = run_pytest(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("1 PostgreSQL test skipped: nothing listens on 127.0.0.1:"), last
    assert "STELLARSTREAM_TEST_POSTGRES_URL" in last


def test_on_ci_a_missing_postgresql_fails_the_run() -> None:
    result = run_pytest(ci=True)
    assert result.returncode == 1, result.stdout
    assert "CI needs it: a missing PostgreSQL is a failure" in result.stdout
    assert "PostgreSQL test skipped" not in result.stdout


class Skipped:
    """A skipped test's report, as pytest makes it (longrepr: file, line, reason)."""

    skipped = True

    def __init__(self, reason: str) -> None:
        self.longrepr = ("x.py", 1, f"Skipped: {reason}")


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        (
            "Redis not reachable at redis://127.0.0.1:6379/0: Error 111 connecting to "
            "127.0.0.1:6379. Connection refused.",
            "2 Redis tests skipped: nothing listens on 127.0.0.1:6379; start it",
        ),
        (
            "browser tests skipped: no chromium executable (Debian: apt-get install chromium)",
            "2 browser (Chromium) tests skipped: browser tests skipped: no chromium",
        ),
        (
            "npm/node not installed: the web bundle check is skipped",
            "2 Node.js/npm tests skipped: npm/node not installed",
        ),
    ],
)
def test_each_service_gets_its_line(reason: str, line: str) -> None:
    lines = summary_lines([Skipped(reason), Skipped(reason), Skipped("something else")])  # type: ignore[list-item]
    assert len(lines) == 1 and lines[0].startswith(line), lines
