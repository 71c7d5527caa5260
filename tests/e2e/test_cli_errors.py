"""A newcomer's mistakes get one line they can act on, never a traceback: the real console
script, in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from tests.support.db import PostgresDatabases

from stellarstream.db import migrate

BIN = Path(sys.executable).parent


def stellarstream(
    cwd: Path, *args: str, timeout: float = 60, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update({f"STELLARSTREAM_{k.upper()}": v for k, v in settings.items()})
    return subprocess.run(
        [str(BIN / "stellarstream"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_one_configuration_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("configuration error STELLARSTREAM_DATABASE_URL: "), line
    for word in words:
        assert word in line, line
    return line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "not a database URL"),
        ("postgres//user:hunter2@db/x", "not a database URL"),
        ("mysql://user:hunter2@db/x", "'mysql' databases are not supported"),
        ("postgresql+nosuchdriver://user:hunter2@db/x", "unknown driver"),
    ],
)
@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["api"]])
def test_a_malformed_database_url_is_one_line(
    tmp_path: Path, url: str, says: str, command: list[str]
) -> None:
    result = stellarstream(tmp_path, *command, database_url=url)
    line = assert_one_configuration_line(result, says, "sqlite:///path/to/file.db")
    assert "hunter2" not in line  # the URL may hold a password: never repeated


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["sync", "status"]])
def test_an_unreachable_postgresql_is_one_line(tmp_path: Path, command: list[str]) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{port}/stellarstream"
    result = stellarstream(tmp_path, *command, database_url=url)
    line = assert_one_configuration_line(
        result, "cannot connect to PostgreSQL", f"port {port}", "Connection refused"
    )
    assert "hunter2" not in line


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_one_line(
    tmp_path: Path, postgres: PostgresDatabases
) -> None:
    """(The SQLite case: test_db_current_creates_nothing_for_a_missing_sqlite_file.)"""
    name = f"missing_{uuid.uuid4().hex[:12]}"
    url = postgres.url_for(name)  # a server that answers, a database it does not have
    for command in (["db", "current"], ["db", "upgrade"], ["api"]):
        result = stellarstream(tmp_path, *command, database_url=url)
        assert_one_configuration_line(result, f'database "{name}" does not exist')


def test_db_current_creates_nothing_for_a_missing_sqlite_file(tmp_path: Path) -> None:
    result = stellarstream(tmp_path, "db", "current", database_url="sqlite:///nope/dir/x.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"current: None  head: {migrate.HEAD}\n"
    assert "no SQLite database at nope/dir/x.db yet" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no folder, no file, no var/ with secrets

    # The default URL (var/stellarstream.db) likewise.
    assert stellarstream(tmp_path, "db", "current").returncode == 0
    assert list(tmp_path.iterdir()) == []

    # Commands that read it say it is missing (and create nothing either).
    for command in (["sync", "status"], ["db", "recount"]):
        result = stellarstream(tmp_path, *command, database_url="sqlite:///nope/dir/x.db")
        assert_one_configuration_line(result, "no SQLite database at nope/dir/x.db")
        assert list(tmp_path.iterdir()) == []


def test_an_sqlite_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    result = stellarstream(tmp_path, "db", "upgrade", database_url="sqlite:///afile/x.db")
    assert_one_configuration_line(result, "cannot create the SQLite file's folder")


def test_db_current_reads_a_real_database(tmp_path: Path, database_url: str) -> None:
    result = stellarstream(tmp_path, "db", "current", database_url=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"current: {migrate.HEAD}  head: {migrate.HEAD}\n"


CONTRACT = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "10", "--to", "5"], "--to (5) is before --from (10)"),
        (["--from", "0", "--to", "5"], "--from must be a positive ledger, got 0"),
        (["--to", "5"], "--from and --to are required"),
        (["--from", "1", "--to", "5", "--source", "datalake"], "--source datalake is not"),
    ],
)
def test_sync_usage_errors_exit_2_before_touching_the_network(
    tmp_path: Path, database_url: str, args: list[str], says: str
) -> None:
    """The RPC and Horizon URLs point where nothing listens: a command that asked them would
    retry for seconds (and log rpc_retry) before answering."""
    dead = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = stellarstream(
        tmp_path,
        "sync",
        *args,
        database_url=database_url,
        contract_ids=CONTRACT,
        rpc_url=dead,
        horizon_url=dead,
        rpc_max_retries="5",
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "rpc_retry" not in result.stderr and "Traceback" not in result.stderr
    assert elapsed < 8, f"took {elapsed:.1f}s: the network was tried first"
