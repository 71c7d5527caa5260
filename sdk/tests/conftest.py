"""Fixtures for the SDK's tests: the backend's own (a fresh database of each backend, the real
API served over HTTP) plus seeded streams, a fake Soroban RPC node and instant retries.

The root ``tests/conftest.py`` is not visible from here, so its fixtures are imported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # make the backend's ``tests`` package importable
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402
from stellar_sdk import Keypair  # noqa: E402
from tests.conftest import *  # noqa: E402, F403  (database_url, sqlite_template, postgres, ...)
from tests.support import contract_events as ce  # noqa: E402
from tests.support.clock import FakeClock  # noqa: E402
from tests.support.seed import ingest_events  # noqa: E402
from tests.support.server import serve  # noqa: E402
from tests.support.soroban_rpc import FakeSorobanRpc, running_soroban_rpc  # noqa: E402
from tests.support.stellar_rpc import Chain  # noqa: E402

from nebula_sdk import AsyncNebulaClient, NebulaClient  # noqa: E402
from stellarstream.api.app import create_app  # noqa: E402
from stellarstream.chain.types import RawEvent  # noqa: E402
from stellarstream.config import Settings, load_settings  # noqa: E402

CONTRACT = ce.V2_CONTRACT
NOW = 50_000
"""The API's clock in most tests (stream fixtures use small Unix times)."""


class SleepRecorder:
    """Stands in for ``time.sleep``/``asyncio.sleep``: records the delays, waits for none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:  # overrides the root fixture
    return load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://pay.example.test",
        network="testnet",
        contract_ids=CONTRACT,
        yield_default_apy_bps=500,
    )


@pytest.fixture
def clock() -> FakeClock:  # overrides the root fixture
    return FakeClock(datetime.fromtimestamp(NOW, UTC))


@pytest.fixture
def api_url(settings: Settings, clock: FakeClock) -> Iterator[str]:  # overrides the root fixture
    with serve(create_app(settings, clock=clock)) as url:
        yield url


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def keypair() -> Keypair:
    return Keypair.from_raw_ed25519_seed(bytes([77]) * 32)


@pytest.fixture
def chain() -> Chain:
    return Chain(latest_ledger=1_000)


@pytest.fixture
def node(chain: Chain, keypair: Keypair) -> Iterator[tuple[str, FakeSorobanRpc]]:
    accounts = {keypair.public_key: 4_000_000_000, ce.account(2): 9, ce.account(5): 77}
    with running_soroban_rpc(chain, contract_id=CONTRACT, accounts=accounts) as served:
        yield served


@pytest.fixture
def client(
    api_url: str, node: tuple[str, FakeSorobanRpc], sleeps: SleepRecorder
) -> Iterator[NebulaClient]:
    rpc_url, _ = node
    with NebulaClient(
        api_url, rpc_url=rpc_url, contract_id=CONTRACT, timeout=10, poll_interval=1.0
    ) as nebula:
        nebula._sleep = sleeps
        yield nebula


@pytest.fixture
def make_async(
    api_url: str, node: tuple[str, FakeSorobanRpc], sleeps: SleepRecorder
) -> Callable[..., AsyncNebulaClient]:
    """Build an async client inside the test's event loop (``async with make_async() as c``)."""
    rpc_url, _ = node

    def make(**options: Any) -> AsyncNebulaClient:
        nebula = AsyncNebulaClient(
            api_url, rpc_url=rpc_url, contract_id=CONTRACT, timeout=10, **options
        )
        nebula._sleep = sleeps.async_sleep
        return nebula

    return make


def seed(database_url: str, events: list[RawEvent]) -> None:
    """Ingest through the real pipeline (decode -> store -> project)."""
    ingest_events(database_url, events, [CONTRACT])


def one_stream(
    n: int,
    *,
    sender: str = ce.account(1),
    receiver: str = ce.account(2),
    amount: int = 1_000_000,
    start: int = 40_000,
    end: int = 60_000,
    ledger: int | None = None,
    memo: str | None = None,
) -> RawEvent:
    return ce.raw_event(
        *ce.create_v2(n, sender, receiver, ce.TOKEN, amount, start, start, end, start - 5, memo),
        contract_id=CONTRACT,
        ledger=ledger if ledger is not None else 10 + n,
        tx_hash=ce.tx_hash_for(5_000 + n),
    )


def ingest_chain(database_url: str, chain: Chain) -> None:
    """What the indexer would do: ingest the fake chain's events into the backend."""
    seed(database_url, chain.raw_events([CONTRACT]))
