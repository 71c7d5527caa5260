"""``--port`` reaches share links: without STELLARSTREAM_PUBLIC_URL the public URL is where the
API is bound (``api`` and ``up``), in share links and stellar.toml alike."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair
from tests.support.auth import sign_in

BIN = Path(sys.executable).parent
TOKEN = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(cwd: Path, *args: str, **settings: str) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update({f"STELLARSTREAM_{k.upper()}": v for k, v in settings.items()})
    port = args[args.index("--port") + 1]
    proc = subprocess.Popen(
        [str(BIN / "stellarstream"), *args],
        cwd=cwd,
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
                raise AssertionError(proc.stdout.read() if proc.stdout else "not ready")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def share_url(base: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        keypair = Keypair.random()
        headers = sign_in(client, keypair)
        created = client.post(
            "/api/v1/invoice-links",
            headers=headers,
            json={
                "receiver": keypair.public_key,
                "amount": "10",
                "duration": 60,
                "tokenAddress": TOKEN,
            },
        )
        assert created.status_code == 201, created.text
        toml = client.get("/.well-known/stellar.toml").text
        url = str(created.json()["shareUrl"])
        assert f'WEB_AUTH_ENDPOINT = "{url.split("/invoice/")[0]}/api/v1/auth"' in toml
        return url


@pytest.mark.parametrize("command", ["api", "up"])
def test_port_reaches_share_links(tmp_path: Path, database_url: str, command: str) -> None:
    port = free_port()
    with serving(tmp_path, command, "--port", str(port), database_url=database_url) as base:
        url = share_url(base)
    assert url.startswith(f"http://localhost:{port}/invoice/"), url


def test_an_explicit_public_url_wins(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    with serving(
        tmp_path,
        "api",
        "--port",
        str(port),
        database_url=database_url,
        public_url="https://pay.example.test",
    ) as base:
        url = share_url(base)
    assert url.startswith("https://pay.example.test/invoice/"), url
