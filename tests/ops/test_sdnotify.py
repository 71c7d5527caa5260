"""sd_notify over a real unix datagram socket, and the indexer process feeding systemd's watchdog
only while it makes progress."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.db import copy_sqlite
from tests.support.ops import BIN, C, chain_with, indexer_env, wait_for
from tests.support.snapshot import checkpoint_ledgers
from tests.support.stellar_rpc import running_rpc

from stellarstream.ops.pidfile import read_pid
from stellarstream.ops.sdnotify import Watchdog, notify


class NotifySocket:
    """What systemd listens on: a unix datagram socket (a path, or ``@name`` abstract)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.settimeout(0.2)

    def messages(self, wait: float = 0.0) -> list[str]:
        """Everything received so far (waiting up to ``wait`` seconds for the first one)."""
        got: list[str] = []
        deadline = time.monotonic() + wait
        while True:
            try:
                got.append(self.sock.recv(4096).decode())
            except TimeoutError:
                if got or time.monotonic() >= deadline:
                    return got

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifySocket]:
    # AF_UNIX paths are short (108 bytes): pytest's tmp_path may be too long.
    path = f"/tmp/ss-notify-{uuid.uuid4().hex[:12]}.sock"
    sock = NotifySocket(path)
    yield sock
    sock.close()
    Path(path).unlink(missing_ok=True)


def test_notify_sends_one_datagram(listener: NotifySocket) -> None:
    assert notify("READY=1\nSTATUS=indexing", listener.address)
    assert listener.messages(wait=2) == ["READY=1\nSTATUS=indexing"]


def test_abstract_namespace_socket() -> None:
    abstract = NotifySocket(f"@stellarstream-test-{uuid.uuid4().hex}")
    try:
        assert notify("WATCHDOG=1", abstract.address)
        assert abstract.messages(wait=2) == ["WATCHDOG=1"]
    finally:
        abstract.close()


def test_without_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    watchdog = Watchdog()
    assert not watchdog.enabled
    watchdog.progress()
    watchdog.stopping()
    # A socket nobody listens on is reported as not sent, never raised.
    assert notify("READY=1", str(tmp_path / "nobody.sock")) is False


def test_watchdog_sends_ready_once_then_throttled_pings(listener: NotifySocket) -> None:
    now = [0.0]
    watchdog = Watchdog(listener.address, min_interval=1.0, clock=lambda: now[0])
    watchdog.progress()
    watchdog.progress()  # within the interval: not sent
    now[0] = 1.5
    watchdog.progress("at ledger 7")
    watchdog.stopping()
    assert listener.messages(wait=2) == [
        "READY=1\nWATCHDOG=1",
        "WATCHDOG=1\nSTATUS=at ledger 7",
        "STOPPING=1",
    ]


def spawn_indexer(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child writes into it
    return subprocess.Popen(
        [str(BIN / "stellarstream"), "indexer"], env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def test_the_indexer_reports_ready_and_progress_and_writes_its_pid_file(
    tmp_path: Path, sqlite_template: Path, listener: NotifySocket
) -> None:
    database_url = copy_sqlite(sqlite_template, tmp_path)
    chain = chain_with(30)
    var = tmp_path / "var"
    with running_rpc(chain) as (url, _server):
        env = indexer_env(database_url, url, var, NOTIFY_SOCKET=listener.address)
        proc = spawn_indexer(env, tmp_path / "indexer.log")
        try:
            first = listener.messages(wait=30)
            assert first[0] == "READY=1\nWATCHDOG=1", first
            assert read_pid(var / "indexer.pid") == proc.pid
            wait_for(lambda: checkpoint_ledgers(database_url).get(C) == chain.latest_ledger)
            # Caught up and polling every 0.1 s: a ping at most once a second.
            time.sleep(2.2)
            pings = listener.messages(wait=1)
            assert 1 <= len(pings) <= 4 and set(pings) == {"WATCHDOG=1"}, pings
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    assert listener.messages(wait=2)[-1] == "STOPPING=1"
    assert not (var / "indexer.pid").exists()


def test_no_watchdog_ping_while_the_rpc_node_is_unreachable(
    tmp_path: Path, sqlite_template: Path, listener: NotifySocket
) -> None:
    database_url = copy_sqlite(sqlite_template, tmp_path)
    env = indexer_env(
        database_url,
        "http://127.0.0.1:9/",
        tmp_path / "var",
        NOTIFY_SOCKET=listener.address,
        STELLARSTREAM_RPC_MAX_RETRIES="0",
    )
    proc = spawn_indexer(env, tmp_path / "indexer.log")
    try:
        wait_for(
            lambda: '"source_unavailable"' in (tmp_path / "indexer.log").read_text(), timeout=30
        )
        assert listener.messages(wait=1.5) == []  # no READY=1, no WATCHDOG=1: no progress
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert listener.messages(wait=2) == ["STOPPING=1"]
