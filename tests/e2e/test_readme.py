"""The README works: its first command serves the API, and its curl walk-through runs as written."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_readme_starts_with_the_two_commands() -> None:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    # scripts/uv: uv on PATH, else a private copy (PEP 668 Pythons refuse `pip install uv`).
    assert blocks[0].strip() == "python3 scripts/uv run stellarstream up"
    assert blocks[1].strip() == "bash scripts/test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1].strip() in ci


@pytest.fixture
def running_service(tmp_path: Path) -> Iterator[str]:
    """``stellarstream up`` as a user runs it: its own process, SQLite default, a fresh var/."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(STELLARSTREAM_PORT=str(port), STELLARSTREAM_LOG_FORMAT="json")
    proc = subprocess.Popen(
        [str(BIN / "stellarstream"), "up"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"stellarstream up did not become ready:\n{output}")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("stellarstream up did not stop on Ctrl-C within 10 s") from None
    assert proc.returncode == 0, "Ctrl-C should stop the service cleanly"
    assert (tmp_path / "var" / "stellarstream.db").exists()
    assert (tmp_path / "var" / "jwt_secret").stat().st_mode & 0o077 == 0


def test_walkthrough_runs_against_stellarstream_up(running_service: str, tmp_path: Path) -> None:
    match = re.search(
        r"<!-- walkthrough:start -->\n```bash\n(.*?)```\n<!-- walkthrough:end -->", README, re.S
    )
    assert match, "README lost its walk-through block"
    env = {**os.environ, "BASE": running_service, "PATH": f"{BIN}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", match.group(1)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # PUBLIC_URL is not set: share links name the port `up` is bound to (STELLARSTREAM_PORT).
    port = running_service.rsplit(":", 1)[1]
    assert re.search(rf"share: http://localhost:{port}/invoice/[0-9A-Za-z]{{22}}\n", out), out
    assert '"amount":"10000000000"' in out and '"duration":2592000' in out
    assert "status: COMPLETED" in out
    assert "links: ['COMPLETED']" in out
    assert "delete draft: 204" in out


def test_up_runs_the_indexer_beside_the_api(tmp_path: Path) -> None:
    """With a contract configured, ``up`` indexes it while the API serves what was indexed."""
    from tests.support import contract_events as ce
    from tests.support.stellar_rpc import Chain, running_rpc

    chain = Chain(latest_ledger=40)
    chain.add_encoded(
        ce.create_v2(0, ce.account(1), ce.account(2), ce.TOKEN, 2**70, 1, 1, 2, 1),
        contract_id=ce.V2_CONTRACT,
        ledger=30,
        tx_hash=ce.tx_hash_for(1),
    )
    port = free_port()
    with running_rpc(chain) as (rpc_url, _server):
        env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
        env.update(
            STELLARSTREAM_PORT=str(port),
            STELLARSTREAM_RPC_URL=rpc_url,
            STELLARSTREAM_CONTRACT_IDS=ce.V2_CONTRACT,
            STELLARSTREAM_START_LEDGER="1",
            STELLARSTREAM_POLL_INTERVAL_SECONDS="0.2",
        )
        proc = subprocess.Popen(
            [str(BIN / "stellarstream"), "up"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/api/v1/streams/{ce.V2_CONTRACT}-0"
            deadline = time.monotonic() + 30
            while True:
                try:
                    response = httpx.get(url)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "stream never served"
                time.sleep(0.2)
            assert response.json()["totalAmount"] == str(2**70)
        finally:
            proc.send_signal(signal.SIGINT)
            output, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, output
    assert '"indexer_stopped"' in output
