"""The TypeScript SDK (``sdk-js/``, ``@stellarstream/nebula-sdk``): type-checked, built with
tsup, packed and installed into an empty project (Node ESM, CJS and a bundler), and its
``node --test`` suites run against the real API on SQLite and PostgreSQL with the fake Soroban
RPC node — the same cases as the Python SDK's tests (``sdk/tests``).

Each suite gets a fresh world (database, API, chain, RPC node) seeded as it needs; a control
server lets the TS tests ingest the fake chain into the backend and steer the RPC node.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stellar_sdk import Keypair

from stellarstream.api.app import create_app
from stellarstream.config import Settings, load_settings
from tests.sdk_js.harness import (
    CONTRACT,
    NOW,
    SDK_JS,
    Control,
    check,
    control_server,
    ensure_node_modules,
    node_test,
    one_stream,
    require_node,
    run,
    seed,
)
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.server import serve
from tests.support.soroban_rpc import running_soroban_rpc
from tests.support.stellar_rpc import Chain

# The first test also runs `npm ci` (a fresh clone) and the builds: more than the default 120 s.
pytestmark = pytest.mark.timeout(600)

BIG = 2**64 + 7
KEYPAIR = Keypair.from_raw_ed25519_seed(bytes([77]) * 32)


@pytest.fixture(scope="session")
def tools() -> tuple[str, str]:
    """``(node, npm)`` with ``node_modules`` installed from the lockfile."""
    node, npm = require_node()
    ensure_node_modules(npm)
    return node, npm


@pytest.fixture(scope="session")
def compiled(tools: tuple[str, str]) -> str:
    """The package built by tsup (``dist/``: the README example imports it by name), and the TS
    tests (with the sources they import) compiled to ``sdk-js/.test-build``."""
    node, npm = tools
    check(run([npm, "run", "build"]), "npm run build (tsup)")
    shutil.rmtree(SDK_JS / ".test-build", ignore_errors=True)
    tsc = str(SDK_JS / "node_modules" / "typescript" / "bin" / "tsc")
    check(run([node, tsc, "-p", "tsconfig.test.json"]), "tsc -p tsconfig.test.json")
    return node


SUITE_SETTINGS: dict[str, dict[str, Any]] = {
    # The token named by the operator (as sdk/tests/test_sdk_tokens.py): no RPC read needed.
    "tokens": {
        "rpc_url": "none",
        "token_symbols": f"{ce.TOKEN}:EURX",
        "token_decimals": f"{ce.TOKEN}:2",
    },
}


@pytest.fixture
def settings(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> Settings:
    callspec = getattr(request.node, "callspec", None)
    suite = callspec.params.get("suite") if callspec is not None else None
    return load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://pay.example.test",
        network="testnet",
        contract_ids=CONTRACT,
        yield_default_apy_bps=500,
        **SUITE_SETTINGS.get(suite, {}),
    )


@pytest.fixture
def world(settings: Settings, database_url: str) -> Iterator[dict[str, Any]]:
    """The real API, the fake Soroban RPC node and the control server; their URLs for TS."""
    chain = Chain(latest_ledger=1_000)
    clock = FakeClock(datetime.fromtimestamp(NOW, UTC))
    accounts = {KEYPAIR.public_key: 4_000_000_000, ce.account(2): 9, ce.account(5): 77}
    with (
        serve(create_app(settings, clock=clock)) as api_url,
        running_soroban_rpc(chain, contract_id=CONTRACT, accounts=accounts) as (rpc_url, rpc),
        control_server(Control(database_url, chain, rpc)) as control_url,
    ):
        yield {
            "apiUrl": api_url,
            "rpcUrl": rpc_url,
            "controlUrl": control_url,
            "contract": CONTRACT,
            "token": ce.TOKEN,
            "now": NOW,
            "closeTime": int(chain.close_time(1_000).timestamp()),
            "big": str(BIG),
        }


def _database(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _history(database_url: str) -> None:
    """Seven streams: one huge, one canceled, one with a claim (as ``sdk/tests/test_sdk_reads``)."""
    events = [one_stream(n, amount=BIG if n == 0 else 1_000_000 + n) for n in range(7)]
    events.append(
        ce.raw_event(
            *ce.claim(1, ce.account(2), 100, 100, 45_000),
            contract_id=CONTRACT,
            ledger=30,
            tx_hash=ce.tx_hash_for(31),
        )
    )
    events.append(
        ce.raw_event(
            *ce.cancel(2, ce.account(1), 500_000, 500_002, 50_000),
            contract_id=CONTRACT,
            ledger=31,
            tx_hash=ce.tx_hash_for(32),
        )
    )
    seed(database_url, events)


SUITES: dict[str, Any] = {
    "reads": _history,
    "errors": None,
    "contract": None,
    "openapi": lambda url: seed(url, [one_stream(0)]),
    "readme": lambda url: seed(url, [one_stream(0), one_stream(1)]),
    "facade": None,
    "exports": None,
    "tokens": lambda url: seed(url, [one_stream(0, amount=1_234_567)]),
    "wait": lambda url: seed(url, [one_stream(3, ledger=40)]),
}


@pytest.mark.parametrize("suite", list(SUITES))
def test_ts_suite(suite: str, compiled: str, world: dict[str, Any], database_url: str) -> None:
    seeder = SUITES[suite]
    if seeder is not None:
        seeder(database_url)
    result, output = node_test(compiled, [suite], world, database=_database(database_url))
    passed = re.search(r"^\S+ pass (\d+)$", result.stdout, re.M)
    failed = re.search(r"^\S+ fail (\d+)$", result.stdout, re.M)
    assert passed and failed and failed.group(1) == "0" and int(passed.group(1)) > 0, output
    print(result.stdout)  # node's report, shown with -s or -rP


def test_typecheck(tools: tuple[str, str]) -> None:
    """``tsc --noEmit``: the sources and the tests are type-clean (strict)."""
    node, _ = tools
    tsc = str(SDK_JS / "node_modules" / "typescript" / "bin" / "tsc")
    check(run([node, tsc, "--noEmit", "-p", "tsconfig.json"]), "tsc --noEmit")


def test_build_pack_and_install_into_an_empty_project(
    tools: tuple[str, str], compiled: str, tmp_path: Path
) -> None:
    """tsup builds ESM + CJS + .d.ts; ``npm pack``'s tarball installs into an empty project
    and imports from Node ESM, Node CJS, TypeScript and an esbuild bundle."""
    node, npm = tools
    for name in ("index.js", "index.cjs", "index.d.ts", "index.d.cts"):
        assert (SDK_JS / "dist" / name).is_file(), name
    packed = check(run([npm, "pack", "--json", "--pack-destination", str(tmp_path)]), "npm pack")
    info = json.loads(packed.split("--- stdout\n", 1)[1].split("\n--- stderr", 1)[0])
    files = {f["path"] for f in info[0]["files"]}
    assert {"package.json", "README.md", "dist/index.js", "dist/index.cjs"} <= files
    assert not any(f.startswith(("src/", "test/", "node_modules/")) for f in files), files
    tarball = tmp_path / info[0]["filename"]

    project = tmp_path / "app"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "app", "private": True}))
    check(
        run(
            [npm, "install", "--no-audit", "--no-fund", "--prefer-offline", str(tarball)],
            cwd=project,
            timeout=600,
        ),
        "npm install <tarball>",
    )
    probe = (
        "Nebula.initialize('http://127.0.0.1:9/api/v1');"
        "const c = Nebula.client();"
        "if (c.baseUrl !== 'http://127.0.0.1:9') throw new Error(c.baseUrl);"
        "if (!(new NotFoundError('x', {status: 404, headers: new Headers(), body: null})"
        " instanceof NebulaError)) throw new Error('errors');"
        "if (StreamStatus.ACTIVE !== 'ACTIVE') throw new Error('status');"
        "console.log('ok', typeof NebulaClient);"
    )
    names = "{ Nebula, NebulaClient, NebulaError, NotFoundError, StreamStatus }"
    (project / "cjs.cjs").write_text(
        f"const {names} = require('@stellarstream/nebula-sdk');\n{probe}\n"
    )
    (project / "esm.mjs").write_text(f"import {names} from '@stellarstream/nebula-sdk';\n{probe}\n")
    (project / "typed.ts").write_text(
        "import { Nebula, type Stream } from '@stellarstream/nebula-sdk';\n"
        "const s: Promise<Stream> = Nebula.getStream('x');\n"
        "const amount: bigint | undefined = undefined as unknown as Stream['totalAmount'];\n"
        "void s; void amount;\n"
    )
    for script in ("cjs.cjs", "esm.mjs"):
        out = check(run([node, script], cwd=project), f"node {script}")
        assert "ok function" in out, out
    tsc = str(SDK_JS / "node_modules" / "typescript" / "bin" / "tsc")
    check(
        run(
            [
                node,
                tsc,
                "--noEmit",
                "--strict",
                "--module",
                "nodenext",
                "--skipLibCheck",
                "typed.ts",
            ],
            cwd=project,
        ),
        "tsc on a consumer of the installed package",
    )
    # Bundlers: a browser bundle (what the payer page and the dashboard would ship; run here
    # with `self` defined, as a browser has it) and a Node CJS bundle.
    esbuild = str(SDK_JS / "node_modules" / ".bin" / "esbuild")
    bundles = {
        "browser.mjs": [
            "--platform=browser",
            "--format=esm",
            "--banner:js=globalThis.self ??= globalThis;",
        ],
        "node.cjs": ["--platform=node", "--format=cjs"],
    }
    for outfile, flags in bundles.items():
        check(
            run(
                [
                    esbuild,
                    "esm.mjs",
                    "--bundle",
                    *flags,
                    f"--outfile={outfile}",
                    "--log-level=warning",
                ],
                cwd=project,
            ),
            f"esbuild {outfile}",
        )
        out = check(run([node, outfile], cwd=project), f"node {outfile}")
        assert "ok function" in out, out
