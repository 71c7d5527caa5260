"""The seed's usage example, translated line by line, runs against the real API and the real
indexer (following the test suite's Soroban RPC node); the seed's names work across the SDK."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from stellar_sdk import Keypair
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.soroban_rpc import FakeSorobanRpc

from conftest import CONTRACT, SleepRecorder, one_stream, seed
from nebula_sdk import (
    AsyncNebulaClient,
    CreateStreamParams,
    Nebula,
    NebulaClient,
    NotIndexedError,
    SearchHit,
    Stream,
)
from stellarstream.chain.rpc import RpcClient, RpcSource
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.ingest.live.indexer import Indexer, StopSignal

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SENDER = Keypair.from_raw_ed25519_seed(bytes([77]) * 32)  # the node fixture's funded account
RECEIVER = Keypair.from_raw_ed25519_seed(bytes([2]) * 32)


class _NoLock:
    def acquire(self, wait: Any = None) -> bool:
        return True

    def healthy(self) -> bool:
        return True

    def release(self) -> None:
        pass


@pytest.fixture
def indexer(database_url: str, node: tuple[str, FakeSorobanRpc]) -> Iterator[None]:
    """The real live indexer following the test node, in a thread, for the test's duration."""
    rpc_url, _ = node
    client = RpcClient(rpc_url, timeout=2, max_retries=2, backoff_initial=0.01, backoff_max=0.05)
    engine = make_engine(database_url)
    stop = StopSignal()
    running = Indexer(
        sessions=make_sessionmaker(engine),
        source=RpcSource(client, limit=100),
        contract_ids=[CONTRACT],
        latest_ledger=lambda: client.get_latest_ledger().sequence,
        clock=FakeClock(),
        stop=stop,
        lock=_NoLock(),
        start_ledger=1,
        poll_interval=0.05,
    )
    thread = threading.Thread(target=running.run, name="indexer", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.event.set()
        thread.join(10)
        client.close()
        engine.dispose()
    assert not thread.is_alive()


@pytest.fixture(autouse=True)
def fresh_facade(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    Nebula.close()
    initialize = Nebula.initialize

    def quick(base_url: str, **options: Any) -> NebulaClient:  # poll the test node briskly
        return initialize(base_url, poll_interval=0.05, **options)

    monkeypatch.setattr(Nebula, "initialize", quick)
    yield
    Nebula.close()


def test_the_seed_example_runs_line_by_line(
    api_url: str,
    node: tuple[str, FakeSorobanRpc],
    indexer: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rpc_url, rpc = node
    match = re.search(r"<!-- seed:start -->\n```python\n(.*?)```\n<!-- seed:end -->", README, re.S)
    assert match, "README lost the seed's example"
    for name, value in {
        "NEBULA_BASE_URL": api_url,
        "NEBULA_RPC_URL": rpc_url,
        "NEBULA_CONTRACT_ID": CONTRACT,
        "NEBULA_TOKEN": ce.TOKEN,
        "SENDER_SECRET": SENDER.secret,
        "RECEIVER_SECRET": RECEIVER.secret,
    }.items():
        monkeypatch.setenv(name, value)
    exec(compile(match.group(1), "README.md", "exec"), {"__name__": "__seed__"})

    out = capsys.readouterr().out
    stream_id = f"{CONTRACT}-0"
    assert f"created: {stream_id} ACTIVE 1000000000\n" in out
    assert f"sent by me: ['{stream_id}']\n" in out
    assert "withdrawn: " in out
    assert "now: CANCELED\n" in out
    assert "history: ['create_v2', 'claim', 'cancel']\n" in out
    assert "events: ['create_v2', 'claim', 'cancel']\n" in out
    assert re.search(r"^yield estimate: \d+$", out, re.M)
    assert "30 days: 30\n" in out
    assert "streams in all: 1\n" in out
    assert f"search: [('address', '{stream_id}')]\n" in out
    # What the example sent is what the chain ran: amount and token under the contract's names.
    created = rpc.streams[0]
    assert (created.total, created.token, created.receiver) == (
        1_000_000_000,
        ce.TOKEN,
        RECEIVER.public_key,
    )


def test_seed_names_and_contract_names_are_one_field() -> None:
    seed_form = CreateStreamParams.model_validate(
        {"receiver": RECEIVER.public_key, "amount": 5, "token_address": ce.TOKEN, "duration": 60}
    )
    contract_form = CreateStreamParams(
        receiver=RECEIVER.public_key, total_amount=5, token=ce.TOKEN, duration=60
    )
    assert seed_form == contract_form
    assert (seed_form.amount, seed_form.token_address) == (5, ce.TOKEN)
    same = CreateStreamParams.model_validate(
        {"receiver": RECEIVER.public_key, "amount": 5, "total_amount": 5, "token": ce.TOKEN}
        | {"duration": 60}
    )
    assert same.total_amount == 5
    with pytest.raises(ValidationError, match="give amount or total_amount, not both"):
        CreateStreamParams.model_validate(
            {"receiver": RECEIVER.public_key, "amount": 5, "total_amount": 6}
            | {"token": ce.TOKEN, "duration": 60}
        )
    with pytest.raises(ValidationError, match="token"):  # a seed name gets the same checks
        CreateStreamParams.model_validate(
            {"receiver": RECEIVER.public_key, "amount": 5, "token_address": SENDER.public_key}
            | {"duration": 60}
        )


def test_keywords_over_params_are_validated_under_either_name(
    client: NebulaClient, node: tuple[str, FakeSorobanRpc]
) -> None:
    base = CreateStreamParams(
        receiver=RECEIVER.public_key, total_amount=5, token=ce.TOKEN, duration=60
    )
    prepared = client.streams.create(base, amount=9, sender=SENDER.public_key)
    _, rpc = node
    assert prepared.xdr and rpc.simulated  # built and simulated with the override
    with pytest.raises(ValidationError, match="greater than 0"):
        client.streams.create(base, amount=0, sender=SENDER.public_key)


def test_get_streams_takes_every_filter_of_the_api(api_url: str, database_url: str) -> None:
    seed(
        database_url,
        [
            one_stream(0, sender=ce.account(1), receiver=ce.account(2)),
            one_stream(1, sender=ce.account(2), receiver=ce.account(3)),
            one_stream(2, sender=ce.account(1), receiver=ce.account(3)),
        ],
    )
    Nebula.initialize(api_url)

    def ids(**filters: Any) -> list[int]:
        return sorted(s.stream_id for s in Nebula.get_streams(**filters))

    assert ids(sender=ce.account(1)) == [0, 2]
    assert ids(receiver=ce.account(3)) == [1, 2]
    assert ids(sender=ce.account(1), receiver=ce.account(3)) == [2]
    assert ids(address=ce.account(2)) == [0, 1]
    assert ids(address=ce.account(2), direction="out") == [1]
    assert ids(contract=CONTRACT, token=ce.TOKEN, status="ACTIVE") == [0, 1, 2]
    assert [s.stream_id for s in Nebula.get_streams(sort="created_asc", limit=1)] == [0, 1, 2]


def test_search_hits_are_streams_with_how_they_matched(api_url: str, database_url: str) -> None:
    seed(database_url, [one_stream(4)])
    Nebula.initialize(api_url)
    [hit] = list(Nebula.search_streams(f"{CONTRACT}-4"))
    assert isinstance(hit, SearchHit) and isinstance(hit, Stream)
    assert (hit.match, hit.id, hit.stream_id, hit.total_amount) == ("id", f"{CONTRACT}-4", 4, 10**6)
    assert (hit.amount, hit.token_address) == (hit.total_amount, hit.token) == (10**6, ce.TOKEN)
    assert type(hit.stream) is Stream and hit.stream.id == hit.id
    assert "match" not in hit.stream.model_dump()


def test_wait_for_names_the_stream_and_the_ledger_when_the_indexer_is_behind(
    api_url: str, database_url: str
) -> None:
    seed(database_url, [one_stream(3, ledger=40)])
    client = Nebula.initialize(api_url)
    client._sleep = lambda _seconds: None
    assert Nebula.wait_for_stream(f"{CONTRACT}-3", ledger=40).stream_id == 3
    with pytest.raises(NotIndexedError, match=rf"stream {CONTRACT}-3 .* at ledger 41 or later"):
        Nebula.wait_for_stream(f"{CONTRACT}-3", ledger=41, timeout=0.2)
    with pytest.raises(NotIndexedError, match=rf"stream {CONTRACT}-9 not shown"):
        Nebula.wait_for_stream(f"{CONTRACT}-9", timeout=0.2)


def test_the_async_twin_waits_the_same_way(
    make_async: Callable[..., AsyncNebulaClient], database_url: str, sleeps: SleepRecorder
) -> None:
    seed(database_url, [one_stream(6, ledger=50)])

    async def main() -> None:
        async with make_async(poll_interval=0.25) as client:
            assert (await client.streams.wait_for(f"{CONTRACT}-6", ledger=50)).stream_id == 6
            assert sleeps.delays == []  # shown at once: no wait
            with pytest.raises(NotIndexedError, match="at ledger 51 or later"):
                await client.streams.wait_for(f"{CONTRACT}-6", ledger=51, timeout=0.1)
            assert sleeps.delays and set(sleeps.delays) == {0.25}  # polled at poll_interval

    asyncio.run(main())
