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
    # Its files went to a temporary folder, not the working directory.
    assert not list(tmp_path.glob("*.json")), sorted(p.name for p in tmp_path.iterdir())


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


def test_the_configuration_table_is_one_table_with_every_setting() -> None:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable |"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    rows = "\n".join(table)
    # Nothing in the section looks like a row outside the table (a prose line cutting it).
    assert [line for line in lines[start + len(table) :] if line.startswith("|")] == []
    from stellarstream.config import Settings

    documented = set(re.findall(r"STELLARSTREAM_([A-Z0-9_]+)", rows))
    documented |= {m for m in re.findall(r"`_([A-Z0-9_]+)`", rows)}
    for name in ("DATABASE_URL", "PUBLIC_URL", "LOG_LEVEL", "LOG_FORMAT", "CONTRACT_IDS"):
        assert name in documented, name
    for name in documented:
        assert (
            name.lower() in Settings.model_fields
            or name in {"RETRY_MAX_SECONDS"}
            or any(field.endswith(name.lower()) for field in Settings.model_fields)
        ), f"README documents STELLARSTREAM_{name}, which is no setting"


def test_the_commands_table_lists_every_command() -> None:
    import typer

    from stellarstream.cli import app

    section = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names.append(name)
        names.extend(f"{name} {sub}" for sub in subcommands or {})
    for name in names:
        assert f"`stellarstream {name}" in section, f"stellarstream {name} is not in the table"


def test_the_readme_points_to_deploy_and_operations() -> None:
    for target in ("deploy/", "docs/OPERATIONS.md"):
        assert f"]({target})" in README
        assert (ROOT / target).exists()


def test_the_sdk_readme_builds_into_its_own_dist_and_says_how_to_install_before_a_release() -> None:
    sdk = (ROOT / "sdk" / "README.md").read_text()
    section = sdk.split("## Build and publish", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands[0] == "cd sdk"
    assert commands[1] == "uv build --out-dir dist"  # a bare `uv build` writes ../dist
    assert commands[2] == "uvx twine check dist/*"
    assert "pip install ./sdk" in section
    assert "pip install sdk/dist/stellarstream_nebula_sdk-" in section
