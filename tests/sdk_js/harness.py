"""What the TypeScript SDK's tests run against: the real API on a database of each backend, the
fake Soroban RPC node, and a small control server through which a ``node --test`` file drives
the Python side (ingest the chain into the backend, queue RPC answers, read what was submitted).

The TS tests get every address in one environment variable, ``NEBULA_TEST`` (JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support import contract_events as ce
from tests.support.seed import ingest_events
from tests.support.soroban_rpc import FakeSorobanRpc, contract_error
from tests.support.stellar_rpc import Chain

ROOT = Path(__file__).resolve().parents[2]
SDK_JS = ROOT / "sdk-js"
CONTRACT = ce.V2_CONTRACT
NOW = 50_000
"""The API's clock (stream fixtures use small Unix times), as in the Python SDK's tests."""
NODE_TIMEOUT = 240


def require_node() -> tuple[str, str]:
    """``(node, npm)``; skip without them (fail on CI, which must run these tests)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        reason = f"{missing} not installed: the TypeScript SDK's tests need Node.js and npm"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI must run them: install nodejs and npm)")
        pytest.skip(reason)
    return node, npm


def run(
    args: list[str], *, cwd: Path = SDK_JS, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check(result: subprocess.CompletedProcess[str], what: str) -> str:
    """``result``'s output; fail the test with all of it when it did not exit 0."""
    output = f"$ {' '.join(result.args)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"{what} failed (rc {result.returncode}):\n{output}"
    return output


def ensure_node_modules(npm: str) -> None:
    """``npm ci`` (the committed lockfile) unless ``node_modules`` matches it already."""
    lock = SDK_JS / "package-lock.json"
    installed = SDK_JS / "node_modules" / ".package-lock.json"
    stamp = SDK_JS / "node_modules" / ".nebula-lock"
    if installed.exists() and stamp.exists() and stamp.read_text() == lock.read_text():
        return
    check(run([npm, "ci", "--no-audit", "--no-fund"], timeout=600), "npm ci")
    stamp.write_text(lock.read_text())


def seed(database_url: str, events: list[Any]) -> None:
    """Ingest through the real pipeline (decode -> store -> project)."""
    ingest_events(database_url, events, [CONTRACT])


def one_stream(
    n: int,
    *,
    amount: int = 1_000_000,
    start: int = 40_000,
    end: int = 60_000,
    ledger: int | None = None,
) -> Any:
    sender, receiver = ce.account(1), ce.account(2)
    return ce.raw_event(
        *ce.create_v2(n, sender, receiver, ce.TOKEN, amount, start, start, end, start - 5, None),
        contract_id=CONTRACT,
        ledger=ledger if ledger is not None else 10 + n,
        tx_hash=ce.tx_hash_for(5_000 + n),
    )


class Control:
    """The control server's actions on the fake node and the backend."""

    def __init__(self, database_url: str, chain: Chain, node: FakeSorobanRpc) -> None:
        self.database_url = database_url
        self.chain = chain
        self.node = node
        self.lock = threading.Lock()

    def handle(self, action: str, body: dict[str, Any]) -> Any:
        node = self.node
        with self.lock:
            if action == "ingest":
                seed(self.database_url, self.chain.raw_events([CONTRACT]))
                return {"ok": True}
            if action == "seed-stream":
                seed(self.database_url, [one_stream(int(body["n"]), ledger=int(body["ledger"]))])
                return {"ok": True}
            if action == "seed-claim":  # the receiver withdraws 10 from stream n in `ledger`
                n, ledger = int(body["n"]), int(body["ledger"])
                claim = ce.claim(n, ce.account(2), 10, 10, 45_000)
                tx = ce.tx_hash_for(7_000 + ledger)
                seed(
                    self.database_url,
                    [ce.raw_event(*claim, contract_id=CONTRACT, ledger=ledger, tx_hash=tx)],
                )
                return {"ok": True}
            if action == "submitted":
                return {"xdrs": [str(e.to_xdr()) for e in node.submitted]}
            if action == "simulation-error":
                node.simulation_errors.append(contract_error(int(body["number"])))
                return {"ok": True}
            if action == "fail-next":
                node.fail_next = True
                return {"ok": True}
            if action == "send-status":
                node.send_statuses.append(str(body["status"]))
                return {"ok": True}
            if action == "pending-polls":
                node.pending_polls = int(body["n"])
                return {"ok": True}
            if action == "calls":
                return {"calls": json.loads(json.dumps(node.calls, default=str))}
            if action == "send":
                return node._send({"transaction": body["xdr"]})
        raise KeyError(action)


@contextmanager
def control_server(control: Control) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            try:
                self._answer(200, control.handle(self.path.strip("/"), body))
            except KeyError as exc:
                self._answer(404, {"error": f"no action {exc}"})
            except Exception as exc:  # shown to the TS test that asked
                self._answer(500, {"error": repr(exc)})

        do_GET = _dispatch
        do_POST = _dispatch

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def node_test(
    node: str, files: list[str], environment: dict[str, Any], *, database: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run compiled TS test files with node's test runner; ``environment`` as ``NEBULA_TEST``."""
    paths = [str(SDK_JS / ".test-build" / "test" / f"{name}.test.js") for name in files]
    env = {"NEBULA_TEST": json.dumps({**environment, "database": database})}
    result = run([node, "--test", "--test-reporter=spec", *paths], env=env, timeout=NODE_TIMEOUT)
    return result, check(result, f"node --test {' '.join(files)} ({database})")
