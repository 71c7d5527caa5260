"""The Stellar RPC client and RpcSource, over real HTTP against the local fake node."""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import contract_events as ce
from tests.support.stellar_rpc import (
    TESTNET_NATIVE_SAC,
    TESTNET_PASSPHRASE,
    Chain,
    FakeStellarRpc,
    recorded_chain,
    recorded_events_result,
    recorded_method_result,
    running_rpc,
)

from stellarstream.chain import rpc as rpc_module
from stellarstream.chain.decode import decode
from stellarstream.chain.event_ids import EventId, scanned_through
from stellarstream.chain.rpc import (
    MAX_LEDGERS_PER_REQUEST,
    RetryInfo,
    RpcClient,
    RpcSource,
    XdrFormat,
)
from stellarstream.chain.rpc_results import (
    EventsPage,
    Health,
    LatestLedger,
    NetworkInfo,
    parse_events_page,
    split_events_body,
)
from stellarstream.chain.source import Batch, EventSource
from stellarstream.chain.types import RawEvent
from stellarstream.config import Settings
from stellarstream.errors import (
    MalformedResponse,
    RangeUnavailable,
    RpcError,
    SourceError,
    SourceUnavailable,
)
from stellarstream.ingest.backfill.batching import joined
from stellarstream.retry import retry_after as parse_retry_after

OURS = ce.V2_CONTRACT
OTHER = ce.V1_CONTRACT
PROPS = settings(
    max_examples=40,
    database=None,
    deadline=None,
    # the node fixture is per test; each example resets its chain itself
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def node() -> Iterator[tuple[str, FakeStellarRpc]]:
    # One node per test: a request a timed-out test left in flight must not land in the next.
    with running_rpc(Chain()) as served:
        yield served


@pytest.fixture
def rpc(node: tuple[str, FakeStellarRpc]) -> tuple[str, FakeStellarRpc]:
    """The shared fake node, reset to a fresh empty chain (latest ledger 1000)."""
    node[1].reset(Chain())
    return node


class Recorder:
    """Collects the client's backoff sleeps and retry notices instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.retries: list[RetryInfo] = []


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(
    rpc: tuple[str, FakeStellarRpc], recorder: Recorder
) -> Iterator[Callable[..., RpcClient]]:
    clients: list[RpcClient] = []

    def make(**options: Any) -> RpcClient:
        settings_: dict[str, Any] = {
            "timeout": 0.3,
            "max_retries": 3,
            "backoff_initial": 0.01,
            "backoff_max": 30.0,
            "sleep": recorder.sleeps.append,
            "on_retry": recorder.retries.append,
        }
        settings_.update(options)
        client = RpcClient(rpc[0], **settings_)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., RpcClient]) -> RpcClient:
    return make_client()


def fill(chain: Chain, ledgers: list[int], *, contract_id: str = OURS, per_tx: int = 1) -> None:
    """Add a transaction with ``per_tx`` events at each ledger (the ledger's next tx index)."""
    for number, ledger in enumerate(ledgers):
        tx = 1 + max((e.tx_index for e in chain.events if e.ledger == ledger), default=0)
        for index in range(per_tx):
            chain.add_encoded(
                ce.claim(number, ce.account(1), index + 1, index + 1, 1_700_000_000 + ledger),
                contract_id=contract_id,
                ledger=ledger,
                tx_hash=ce.tx_hash_for(ledger * 1000 + tx),
                tx_index=tx,
                event_index=index,
            )


def drain(
    client: RpcClient, ids: list[str], start: int, limit: int, **params: Any
) -> list[EventsPage]:
    """Page with the cursor until a page reaches the latest ledger."""
    pages = [client.get_events(ids, start_ledger=start, limit=limit, **params)]
    while not (pages[-1].cursor_id.is_window_end and pages[-1].cursor_id.ledger >= 1000):
        pages.append(client.get_events(ids, cursor=pages[-1].cursor, limit=limit))
    return pages


# --- event ids ---


def test_event_id_of_a_recorded_event() -> None:
    eid = EventId.parse("0016010972359577600-0000000008")
    assert eid == EventId(ledger=3727845, tx_index=5, op_index=0, event_index=8)
    assert eid.toid == 16010972359577600
    assert str(eid) == "0016010972359577600-0000000008"


@given(
    st.integers(1, 2**31 - 1),
    st.integers(0, 0xFFFFF),
    st.integers(0, 0xFFF),
    st.integers(0, 0xFFFFFFFF),
)
def test_event_id_round_trips(ledger: int, tx: int, op: int, index: int) -> None:
    eid = EventId(ledger, tx, op, index)
    text = str(eid)
    assert len(text) == 30
    assert text == f"{ledger << 32 | tx << 12 | op:019d}-{index:010d}"
    assert EventId.parse(text) == eid


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1-2-3",
        "0000000000000000000-0000000001",
        "0016010972359577600-99999999999",
        " 1-1",
    ],
)
def test_bad_event_ids_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        EventId.parse(text)


def test_scanned_through_never_claims_a_ledger_a_full_page_may_continue() -> None:
    assert EventId.window_end(77).is_window_end
    assert scanned_through(EventId.window_end(77)) == 77
    assert scanned_through(EventId(77, 3, 0, 2)) == 76
    # CAP-67 "after all transactions" fee events sit at tx index 0xFFFFF, op 0: not a window end
    assert scanned_through(EventId(77, 0xFFFFF, 0, 0)) == 76
    assert scanned_through(EventId(77, 4, 0xFFF, 0)) == 76


# --- getEvents paging ---


def test_cursor_paging_returns_every_event_exactly_once_in_order(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    ledgers = [3, 3, 5, 8, 8, 8, 13, 21, 34, 34, 55, 89, 144, 233, 377, 610, 987]
    fill(server.chain, ledgers, per_tx=3)
    fill(server.chain, [4, 8, 600], contract_id=OTHER)
    pages = drain(client, [OURS], 1, 4)
    got = [event for page in pages for event in page.events]
    assert got == server.chain.raw_events([OURS])
    assert len(got) == 3 * len(ledgers)
    assert all(len(page.events) == 4 for page in pages[:-1])
    for method, params in server.calls:
        assert method == "getEvents"
        cursor = params["pagination"].get("cursor")
        assert (cursor is None) == ("startLedger" in params)
        assert cursor is None or "endLedger" not in params


def test_get_events_sends_contract_filters_in_chunks_of_five(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    ids = [ce.contract(n) for n in range(1, 13)]
    fill(server.chain, [10, 20], contract_id=ids[11])
    page = client.get_events(ids, start_ledger=5, end_ledger_exclusive=16, limit=10)
    assert [e.ledger for e in page.events] == [10]  # endLedger is exclusive ...
    assert page.cursor_id == EventId.window_end(15)  # ... and the window ends before it
    (_, params) = server.calls[-1]
    assert params["startLedger"] == 5 and params["endLedger"] == 16
    assert [f["contractIds"] for f in params["filters"]] == [ids[0:5], ids[5:10], ids[10:12]]
    assert all(f["type"] == "contract" for f in params["filters"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_ledger": 1, "limit": 0},
        {"start_ledger": 1, "limit": 10_001},
        {"start_ledger": 1, "cursor": "0000004294967296-0000000000"},
        {"end_ledger_exclusive": 5, "cursor": "0000004294967296-0000000000"},
        {},
        {"start_ledger": 0},
        {"start_ledger": 10, "end_ledger_exclusive": 10},
        {"cursor": "not-a-cursor"},
    ],
)
def test_get_events_rejects_bad_arguments_before_asking(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        client.get_events([OURS], **kwargs)
    assert rpc[1].requests["getEvents"] == 0


@pytest.mark.parametrize(
    "ids", [[], [ce.contract(n) for n in range(26)], [ce.account(1)], ce.V2_CONTRACT]
)
def test_get_events_rejects_bad_contract_ids(client: RpcClient, ids: Any) -> None:
    with pytest.raises(ValueError):
        client.get_events(ids, start_ledger=1)


def test_start_outside_retention_raises_range_unavailable_without_retrying(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, recorder: Recorder
) -> None:
    _, server = rpc
    server.chain.oldest_ledger, server.chain.latest_ledger = 500, 1000
    with pytest.raises(RangeUnavailable) as caught:
        client.get_events([OURS], start_ledger=499)
    assert (caught.value.oldest_ledger, caught.value.latest_ledger) == (500, 1000)
    assert "500-1000" in caught.value.message and rpc[0] in caught.value.message
    assert server.requests["getEvents"] == 1 and recorder.sleeps == []
    with pytest.raises(RangeUnavailable):
        list(RpcSource(client).batches([OURS], 12))


# --- retries ---


def test_retry_after_seconds_is_honoured(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, recorder: Recorder
) -> None:
    _, server = rpc
    fill(server.chain, [10, 20])
    server.faults.push("429", retry_after=7)
    page = client.get_events([OURS], start_ledger=1)
    assert recorder.sleeps == [7.0]
    assert [e.ledger for e in page.events] == [10, 20]
    assert server.requests["getEvents"] == 2
    assert recorder.retries == [RetryInfo(1, 7.0, "getEvents: HTTP 429 Too Many Requests")]


def test_retry_after_http_date_and_cap(
    rpc: tuple[str, FakeStellarRpc], make_client: Callable[..., RpcClient], recorder: Recorder
) -> None:
    _, server = rpc
    client = make_client(backoff_max=5.0)
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=4), usegmt=True)
    server.faults.push("503", retry_after=later)
    server.faults.push("429", retry_after=3600)
    health = client.get_health()
    assert health.latest_ledger == 1000
    assert 2.0 <= recorder.sleeps[0] <= 4.0
    assert recorder.sleeps[1] == 5.0  # capped at backoff_max


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("503", "HTTP 503"),
        ("500", "HTTP 500"),
        ("timeout", "timed out"),
        ("malformed", "not JSON"),
        ("reset", "connection failed"),
        ("rpc_error", "JSON-RPC error -32603"),
    ],
)
def test_transient_faults_are_retried_and_the_result_is_unchanged(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, recorder: Recorder, fault: str, reason: str
) -> None:
    _, server = rpc
    fill(server.chain, [10, 10, 20, 30], per_tx=2)
    expected = client.get_events([OURS], start_ledger=5, limit=3)
    server.faults.push(fault, delay=1.0)
    assert client.get_events([OURS], start_ledger=5, limit=3) == expected
    assert server.requests["getEvents"] == 3
    assert len(recorder.retries) == 1 and reason in recorder.retries[0].reason
    assert recorder.retries[0].attempt == 1
    assert recorder.sleeps == [recorder.retries[0].delay]
    assert 0.0 <= recorder.sleeps[0] <= 0.01  # full jitter under backoff_initial


def test_exhausted_retries_raise_source_unavailable_naming_the_url(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, recorder: Recorder
) -> None:
    url, server = rpc
    server.faults.push("503", times=10)
    with pytest.raises(SourceUnavailable) as caught:
        client.get_latest_ledger()
    assert url in caught.value.message and "HTTP 503" in caught.value.message
    assert server.requests["getLatestLedger"] == 4  # 1 + max_retries
    assert [r.attempt for r in recorder.retries] == [1, 2, 3]
    for step, delay in enumerate(recorder.sleeps):
        assert 0.0 <= delay <= 0.01 * 2**step  # exponential ceiling, full jitter


def test_unreachable_node_raises_source_unavailable(recorder: Recorder) -> None:
    with running_rpc(Chain()) as (url, _):
        pass  # the port is free again: nothing listens
    with (
        RpcClient(url, max_retries=2, sleep=recorder.sleeps.append) as client,
        pytest.raises(SourceUnavailable) as caught,
    ):
        client.get_health()
    assert url in caught.value.message and "connection failed" in caught.value.message
    assert len(recorder.sleeps) == 2


def test_persistently_malformed_answers_raise_malformed_response(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    rpc[1].faults.push("malformed", times=10)
    with pytest.raises(MalformedResponse) as caught:
        client.get_network()
    assert rpc[0] in caught.value.message and rpc[1].requests["getNetwork"] == 4


def test_other_json_rpc_errors_are_not_retried(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient, recorder: Recorder
) -> None:
    rpc[1].faults.push("rpc_error", code=-32602, message="filter 1 invalid: contract ID 1 invalid")
    with pytest.raises(RpcError) as caught:
        client.get_events([OURS], start_ledger=1)
    assert caught.value.rpc_code == -32602
    assert "contract ID 1 invalid" in caught.value.message
    assert rpc[1].requests["getEvents"] == 1 and recorder.sleeps == []


# --- parsing ---


def test_recorded_events_parse_from_the_fake_node(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    url, server = rpc
    server.reset(recorded_chain())
    # the fake node serialises the recorded events exactly as the real node did
    raw = httpx.post(
        url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getEvents",
            "params": {"startLedger": 3727845, "filters": [{"contractIds": [TESTNET_NATIVE_SAC]}]},
        },
    ).json()["result"]
    recorded = [recorded_events_result(n) for n in ("TwoNativeTransferEvents", "AnyTwoEvents")]
    assert raw["events"] == recorded[0]["events"] + recorded[1]["events"]

    page = client.get_events([TESTNET_NATIVE_SAC], start_ledger=3727845, limit=10)
    first, second, fee1, fee2 = page.events
    tx = "a5c9247b77eb04c0d857934a2e988c408167976c8acbdf3d8acf64c44deb3beb"
    assert (first.ledger, first.tx_hash, first.tx_index, first.op_index) == (3727845, tx, 5, 0)
    assert (first.event_index, second.event_index) == (1, 8)
    assert first.ledger_closed_at == datetime(2026, 7, 21, 18, 1, 10, tzinfo=UTC)
    assert first.topic_xdr == tuple(recorded[0]["events"][0]["topic"])
    assert second.value_xdr == "AAAACgAAAAAAAAAAAAAAAAKJZY8="
    assert (fee1.ledger, fee1.tx_index, fee1.in_successful_call) == (3729796, 0, False)
    assert fee2.in_successful_call and fee2.event_index == 1
    assert page.latest_ledger == 3730843 and page.oldest_ledger == 3609884
    assert page.latest_ledger_close_time == datetime.fromtimestamp(1784671886, UTC)
    assert page.cursor_id == EventId.window_end(3730843)


@pytest.mark.parametrize("name", ["TwoNativeTransferEvents", "AnyTwoEvents"])
def test_recorded_results_parse_verbatim(name: str) -> None:
    result = recorded_events_result(name)

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": body["id"], "result": result})

    with RpcClient("http://node.test/", transport=httpx.MockTransport(answer)) as client:
        page = client.get_events([TESTNET_NATIVE_SAC], start_ledger=199616, limit=2)
    assert page.cursor == result["cursor"] == result["events"][-1]["id"]  # a full page
    assert [str(EventId(e.ledger, e.tx_index, e.op_index, e.event_index)) for e in page.events] == [
        e["id"] for e in result["events"]
    ]
    assert [e.tx_hash for e in page.events] == [e["txHash"] for e in result["events"]]
    assert page.oldest_ledger == result["oldestLedger"] and page.returned == 2


def test_events_of_other_contracts_and_types_are_dropped(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    server.apply_filters = False  # a node that returns the native asset's fee events anyway
    fill(server.chain, [10, 30])
    fee = recorded_events_result("AnyTwoEvents")["events"][0]
    server.chain.add(
        [fee["topic"][0]],
        fee["value"],
        contract_id=TESTNET_NATIVE_SAC,
        ledger=20,
        tx_hash=ce.tx_hash_for(9),
        tx_index=0,
    )
    server.chain.add(
        [fee["topic"][0]],
        fee["value"],
        contract_id=OURS,
        ledger=25,
        tx_hash=ce.tx_hash_for(8),
        event_type="system",
    )
    page = client.get_events([OURS], start_ledger=1)
    assert [e.ledger for e in page.events] == [10, 30]
    assert page.returned == 4


def test_missing_in_successful_contract_call_means_true(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    server.omit_in_successful = True
    fill(server.chain, [10])
    (event,) = client.get_events([OURS], start_ledger=1).events
    assert event.in_successful_call is True
    assert server.event_json(server.chain.events[0]).get("inSuccessfulContractCall") is None


def _broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    result = recorded_events_result()
    change(result["events"][1])
    return result


@pytest.mark.parametrize(
    ("result", "field"),
    [
        (_broken(lambda e: e.pop("txHash")), "result.events[1].txHash"),
        (_broken(lambda e: e.update(id="16010972359577600")), "result.events[1].id"),
        (_broken(lambda e: e.update(transactionIndex=4)), "result.events[1].transactionIndex"),
        (_broken(lambda e: e.update(ledger=3727846)), "result.events[1].ledger"),
        (
            _broken(lambda e: e.update(ledgerClosedAt="yesterday")),
            "result.events[1].ledgerClosedAt",
        ),
        (_broken(lambda e: e.update(topic="AAAA")), "result.events[1].topic"),
        (_broken(lambda e: e.pop("value")), "result.events[1].value"),
        ({"events": [], "latestLedger": 5}, "result.cursor"),
        ({"cursor": "0000004294967296-0000000000", "latestLedger": 5}, "result.events"),
    ],
)
def test_malformed_events_raise_malformed_response_naming_the_field(
    rpc: tuple[str, FakeStellarRpc],
    make_client: Callable[..., RpcClient],
    result: dict[str, Any],
    field: str,
) -> None:
    _, server = rpc
    server.results["getEvents"] = result
    with pytest.raises(MalformedResponse) as caught:
        make_client(max_retries=1).get_events([TESTNET_NATIVE_SAC], start_ledger=3727845)
    assert field in caught.value.message
    assert server.requests["getEvents"] == 2  # retried once, then given up


def test_recorded_health_latest_ledger_and_network_parse(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    for method in ("getHealth", "getLatestLedger", "getNetwork"):
        server.results[method] = recorded_method_result(method)
    assert client.get_health() == Health("healthy", 3730763, 3609804, 120960)
    assert client.get_latest_ledger() == LatestLedger(
        3730795, 27, "0a00a9cf845f7af7cff09c66f8ae6480e9971e6e2c7fa4afd8d6266ee13c987b"
    )
    assert client.get_network() == NetworkInfo(
        TESTNET_PASSPHRASE, 20, "https://friendbot-testnet.stellar.org/"
    )
    server.results["getNetwork"] = recorded_method_result("getNetwork", 1)
    assert client.get_network().passphrase == "Test SDF Future Network ; October 2022"


def test_the_fake_nodes_own_answers_parse(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    server.chain.oldest_ledger = 40
    server.chain.advance(5)
    assert client.get_health() == Health("healthy", 1005, 40, 120960)
    assert client.get_latest_ledger().sequence == 1005
    assert client.get_network().passphrase == TESTNET_PASSPHRASE


# --- RpcSource ---


def test_rpc_source_is_an_event_source(client: RpcClient) -> None:
    source: EventSource = RpcSource(client)
    assert source.name == "rpc"
    with pytest.raises(ValueError):
        RpcSource(client, limit=0)


def test_windows_wider_than_10000_ledgers_are_walked_one_window_at_a_time(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    server.chain.latest_ledger = 35_000
    fill(server.chain, [5, 10_000, 10_001, 29_998, 29_999, 34_000])
    batches = list(RpcSource(client, limit=100).batches([OURS], 1))
    got = [e for b in batches for e in b.events]
    assert got == server.chain.raw_events([OURS], xdr_format="json")
    assert all(end - first <= MAX_LEDGERS_PER_REQUEST for first, end in server.scans)
    assert server.scans == [(1, 10_001), (10_000, 20_000), (19_999, 29_999), (29_998, 35_001)]
    assert [b.covered_to for b in batches] == [10_000, 19_999, 29_998, 35_000]
    assert batches[-1].cursor == str(EventId.window_end(35_000))


def test_a_full_page_covers_only_up_to_the_ledger_before_its_last_event(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    fill(server.chain, [1000], per_tx=3)  # the latest ledger
    first, second = list(RpcSource(client, limit=2).batches([OURS], 990))
    assert len(first.events) == 2 and first.covered_to == 999
    assert len(second.events) == 1 and second.covered_to == 1000
    assert (first.latest_ledger, first.source) == (1000, "rpc")


def test_batches_stop_at_end_ledger_and_resume_without_gap_or_duplicate(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    fill(server.chain, [10, 20, 20, 21, 22, 900])
    source = RpcSource(client, limit=1)
    head = list(source.batches([OURS], 1, end_ledger=20))
    assert [e.ledger for b in head for e in b.events] == [10, 20, 20]
    assert head[-1].covered_to == 20
    assert head[-1].cursor == str(EventId.window_end(20))
    tail = list(source.batches([OURS], 21, end_ledger=None, cursor=head[-1].cursor))
    assert [e.ledger for b in tail for e in b.events] == [21, 22, 900]
    assert tail[-1].covered_to == 1000


def test_live_mode_stops_at_the_latest_ledger_and_picks_up_new_ledgers(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    fill(server.chain, [990, 1000, 1003])  # 1003 has not closed yet
    source = RpcSource(client)
    (batch,) = list(source.batches([OURS], 900))
    assert [e.ledger for e in batch.events] == [990, 1000] and batch.covered_to == 1000
    (idle,) = list(source.batches([OURS], 1001, cursor=batch.cursor))
    assert idle.events == [] and idle.covered_to == 1000
    server.chain.advance(5)
    (later,) = list(source.batches([OURS], 1001, cursor=idle.cursor))
    assert [e.ledger for e in later.events] == [1003] and later.covered_to == 1005


def test_a_start_past_the_latest_ledger_is_nothing_yet(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    (batch,) = list(RpcSource(client).batches([OURS], 1001))
    assert batch == Batch([], 1000, None, 1000, "rpc")


def test_end_ledger_beyond_the_latest_ledger_stops_at_the_latest(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    fill(rpc[1].chain, [999])
    batches = list(RpcSource(client).batches([OURS], 1, end_ledger=5_000))
    assert batches[-1].covered_to == 1000 and len(batches) == 1
    with pytest.raises(ValueError):
        list(RpcSource(client).batches([OURS], 10, end_ledger=9))


def test_a_node_that_makes_no_progress_is_an_error(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    rpc[1].ledger_scan_limit = 1  # a cursor request then rescans its own ledger forever
    with pytest.raises(SourceError, match="no progress"):
        list(RpcSource(client).batches([OURS], 1))
    assert rpc[1].requests["getEvents"] == 2


def test_recorded_events_through_rpc_source(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    rpc[1].reset(recorded_chain())
    batches = list(RpcSource(client, limit=3).batches([TESTNET_NATIVE_SAC], 3_720_000))
    assert [e.event_index for b in batches for e in b.events] == [1, 8, 0, 1]
    assert [b.covered_to for b in batches] == [3729795, 3730843]


chains = st.lists(
    st.tuples(st.integers(1, 60), st.integers(1, 3), st.sampled_from([OURS, OTHER])),
    max_size=40,
)


def _build(server: FakeStellarRpc, spec: list[tuple[int, int, str]], scan_limit: int) -> Chain:
    chain = Chain(latest_ledger=60, oldest_ledger=1)
    tx_counter: dict[int, int] = {}
    for ledger, events, contract_id in spec:
        tx_counter[ledger] = tx = tx_counter.get(ledger, 0) + 1
        for index in range(events):
            chain.add_encoded(
                ce.claim(ledger, ce.account(2), 1, 1, ledger),
                contract_id=contract_id,
                ledger=ledger,
                tx_hash=ce.tx_hash_for(ledger * 100 + tx),
                tx_index=tx,
                event_index=index,
            )
    server.reset(chain)
    server.ledger_scan_limit = scan_limit
    return chain


@PROPS
@given(
    spec=chains,
    limit=st.integers(1, 5),
    scan_limit=st.integers(2, 25),
    start=st.integers(1, 60),
    span=st.none() | st.integers(0, 70),
)
def test_covered_to_never_over_claims(
    node: tuple[str, FakeStellarRpc],
    spec: list[tuple[int, int, str]],
    limit: int,
    scan_limit: int,
    start: int,
    span: int | None,
) -> None:
    url, server = node
    chain = _build(server, spec, scan_limit)
    end = None if span is None else start + span
    seen: list[RawEvent] = []
    covered = start - 1
    with RpcClient(url, max_retries=0) as client:
        for batch in RpcSource(client, limit=limit).batches([OURS], start, end):
            seen.extend(batch.events)
            assert covered <= batch.covered_to <= min(end or 60, 60)
            covered = batch.covered_to
            assert [e for e in seen if e.ledger <= covered] == chain.raw_events(
                [OURS], start, covered, xdr_format="json"
            )
    assert covered == min(end or 60, 60)
    assert seen == chain.raw_events([OURS], start, end, xdr_format="json")


@PROPS
@given(
    spec=chains,
    limit=st.integers(1, 5),
    scan_limit=st.integers(2, 25),
    cut=st.integers(1, 50),
    end=st.none() | st.integers(1, 70),
)
def test_resuming_from_any_batch_has_no_gap_or_duplicate(
    node: tuple[str, FakeStellarRpc],
    spec: list[tuple[int, int, str]],
    limit: int,
    scan_limit: int,
    cut: int,
    end: int | None,
) -> None:
    """Stop after ``cut`` batches of a sync to ``end`` (or at its end), then resume from the last
    batch's checkpoint (covered_to + 1, cursor) with no end: every event exactly once."""
    url, server = node
    chain = _build(server, spec, scan_limit)
    with RpcClient(url, max_retries=0) as client:
        source = RpcSource(client, limit=limit)
        head: list[RawEvent] = []
        for number, batch in enumerate(source.batches([OURS], 1, end), 1):
            head.extend(batch.events)
            last = batch
            if number == cut:
                break
        resumed = source.batches([OURS], last.covered_to + 1, None, cursor=last.cursor)
        tail = [e for b in resumed for e in b.events]
    assert head + tail == chain.raw_events([OURS], xdr_format="json")


def test_xdr_json_pages_carry_the_same_events_as_base64_ones(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    fill(server.chain, [3, 3, 5, 8], per_tx=2)
    as_xdr = client.get_events([OURS], start_ledger=1, limit=100)
    as_json = client.get_events([OURS], start_ledger=1, limit=100, xdr_format="json")
    assert server.calls[-1][1]["xdrFormat"] == "json" and "xdrFormat" not in server.calls[-2][1]
    assert as_json.events == [ce.as_json(raw) for raw in as_xdr.events]
    assert all(e.value_json and not e.value_xdr and not e.topic_xdr for e in as_json.events)
    assert [decode(e) for e in as_json.events] == [decode(e) for e in as_xdr.events]
    with pytest.raises(ValueError, match="xdr_format"):
        client.get_events([OURS], start_ledger=1, xdr_format="yaml")  # type: ignore[arg-type]


@pytest.mark.parametrize("xdr_format", ["json", "base64"])
@pytest.mark.parametrize("limit", [3, 10_000])  # 3: a page ends past end_ledger
def test_pages_and_batches_carry_each_events_decoding(
    rpc: tuple[str, FakeStellarRpc],
    client: RpcClient,
    monkeypatch: pytest.MonkeyPatch,
    xdr_format: XdrFormat,
    limit: int,
) -> None:
    _, server = rpc
    fill(server.chain, [3, 3, 5, 8, 30], per_tx=2)
    page = client.get_events([OURS], start_ledger=1, limit=limit, xdr_format=xdr_format)
    assert page.events and page.decoded == [decode(e) for e in page.events]
    # The whole-body parser (a body split_events_body leaves to it) decodes the same way.
    monkeypatch.setattr(rpc_module, "split_events_body", lambda _content, _wanted: None)
    whole = client.get_events([OURS], start_ledger=1, limit=limit, xdr_format=xdr_format)
    assert whole == page
    # Batches keep each event's decoding beside it, also those cut at end_ledger.
    source = RpcSource(client, limit=limit, xdr_format=xdr_format)
    batches = list(source.batches([OURS], 1, end_ledger=8))
    events = [e for b in batches for e in b.events]
    assert [e.ledger for e in events] == [3, 3, 3, 3, 5, 5, 8, 8]
    assert [d for b in batches for d in b.decoded or ()] == [decode(e) for e in events]


def test_split_events_body_reports_a_malformed_event_only_of_a_result() -> None:
    bad = {**_event_item(0, {"u32": 1}), "txHash": "nope"}
    error = {"code": 1, "message": "x"}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "error": error, "result": {"events": [bad]}})
    assert split_events_body(body.encode(), frozenset([OURS])) is None  # not a result


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.update(valueJson=5), "valueJson"),
        (lambda e: e.update(topicJson="claim"), "topicJson"),
    ],
)
def test_malformed_xdr_json_events_name_the_field(
    rpc: tuple[str, FakeStellarRpc],
    make_client: Callable[..., RpcClient],
    mutate: Callable[[dict[str, Any]], None],
    field: str,
) -> None:
    _, server = rpc
    fill(server.chain, [3])
    page = server.answer(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getEvents",
            "params": {
                "startLedger": 1,
                "filters": [{"type": "contract", "contractIds": [OURS]}],
                "pagination": {"limit": 10},
                "xdrFormat": "json",
            },
        }
    )["result"]
    mutate(page["events"][0])
    server.results["getEvents"] = page
    with pytest.raises(MalformedResponse) as caught:
        make_client(max_retries=0).get_events([OURS], start_ledger=1, xdr_format="json")
    assert f"result.events[0].{field}" in caught.value.message


# --- getEvents bodies parsed one event at a time ---


def _event_item(number: int, value: Any) -> dict[str, Any]:
    return {
        "type": "contract",
        "ledger": 10 + number,
        "ledgerClosedAt": "2026-01-01T00:00:00Z",
        "contractId": OURS,
        "id": str(EventId(10 + number, 1, 0, 0)),
        "inSuccessfulContractCall": True,
        "txHash": ce.tx_hash_for(number + 1),
        "topicJson": [{"symbol": "claim"}, {"u64": str(number)}],
        "valueJson": value,
    }


def _body(items: list[Any], **extra: Any) -> bytes:
    result = {"events": items, "cursor": str(EventId.window_end(99)), "latestLedger": 99, **extra}
    return json.dumps({"jsonrpc": "2.0", "id": 7, "result": result}, separators=(",", ":")).encode()


# Values whose text holds the cut marks: nested objects that start with a "type" key, strings
# with '},{"type":' and '}]' in them, arrays of objects closing an event.
_TRICKY = [
    {"map": [{"key": {"symbol": "a"}, "val": {"i128": "-5"}}]},
    {"type": "nested", "vec": [{"type": 1}, {"type": 2}]},
    {"string": 'x},{"type":"contract"}]'},
    {"vec": [{"vec": [{"u32": 1}]}, {"type": {"type": []}}]},
    {"string": '\\"},{"type":'},
]


@pytest.mark.parametrize("values", [[], _TRICKY[:1], _TRICKY, list(reversed(_TRICKY))])
def test_split_events_body_gives_what_the_whole_body_parse_gives(values: list[Any]) -> None:
    items = [_event_item(n, v) for n, v in enumerate(values)]
    items.append(_event_item(len(values), _TRICKY[1]))
    body = _body(items, oldestLedger=3, oldestLedgerCloseTime="1784671886")
    page = split_events_body(body, frozenset([OURS]))
    assert page is not None
    assert page == parse_events_page(json.loads(body)["result"], frozenset([OURS]))
    assert [e.value_json for e in page.events] == [
        json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in [*values, _TRICKY[1]]
    ]


@given(
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from(["type", "vec", "key", "x"]), inner, max_size=3)
            ),
            max_leaves=10,
        ).map(lambda v: {"type": v}),
        max_size=6,
    )
)
@settings(max_examples=200, database=None, deadline=None)
def test_split_events_body_matches_the_whole_body_parse_on_any_values(
    values: list[dict[str, Any]],
) -> None:
    body = _body([_event_item(n, v) for n, v in enumerate(values)])
    page = split_events_body(body, frozenset([OURS]))
    assert page == parse_events_page(json.loads(body)["result"], frozenset([OURS]))


@pytest.mark.parametrize(
    "body",
    [
        # "type" not first
        _body([{k: v for k, v in reversed(_event_item(n, 1).items())} for n in range(2)]),
        b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"limit must not exceed 5"}}',
        b'{"jsonrpc":"2.0","id":1,"result":{"events":[{"type":"contract"}',  # cut short
        b'{"jsonrpc":"2.0","id":1,"result":{"x":{"events":[]},"cursor":"1"}}',  # not result's
    ],
)
def test_split_events_body_leaves_other_bodies_to_the_whole_body_parser(body: bytes) -> None:
    assert split_events_body(body, frozenset([OURS])) is None


def test_split_events_body_reads_a_body_with_spaces() -> None:
    items = [_event_item(n, _TRICKY[n]) for n in range(3)]
    compact = _body(items)
    spaced = json.dumps(json.loads(compact), indent=1).encode()
    assert b"}, {" not in spaced and b"},\n" in spaced  # one item per line
    page = split_events_body(spaced, frozenset([OURS]))
    assert page is not None and page == split_events_body(compact, frozenset([OURS]))
    assert len(page.events) == 3


def test_split_events_body_names_a_malformed_events_field() -> None:
    items = [_event_item(0, {"u32": 1}), {**_event_item(1, {"u32": 1}), "txHash": "nope"}]
    with pytest.raises(MalformedResponse, match=r"result\.events\[1\]\.txHash"):
        split_events_body(_body(items), frozenset([OURS]))


def test_a_large_page_is_one_request_and_parses_in_parts(
    rpc: tuple[str, FakeStellarRpc],
    make_client: Callable[..., RpcClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, server = rpc
    fill(server.chain, [5 + i // 40 for i in range(4_000)])
    whole: list[int] = []
    original = rpc_module.parse_events_page

    def counted(*args: Any) -> EventsPage:
        whole.append(1)
        return original(*args)

    monkeypatch.setattr(rpc_module, "parse_events_page", counted)
    source = RpcSource(make_client(timeout=30), limit=10_000)
    events = [e for b in source.batches([OURS], 1, 999) for e in b.events]
    assert events == server.chain.raw_events([OURS], xdr_format="json")
    assert server.requests["getEvents"] == 1
    assert not whole  # the page went through split_events_body


def test_a_backfill_at_the_default_page_size_makes_few_requests(
    rpc: tuple[str, FakeStellarRpc], make_client: Callable[..., RpcClient]
) -> None:
    """The sync's default page: requests stay within ceil(events / 10,000) + ceil(ledgers /
    10,000) (a node pages by at most 10,000 events and scans at most 10,000 ledgers a request)."""
    _, server = rpc
    server.chain.latest_ledger = 25_000
    for i in range(12_000):  # three transactions a ledger from ledger 5, then two sparse ones
        ledger = 5 + i // 3
        server.chain.add_encoded(
            ce.claim(i, ce.account(1), 1, 1, 1_700_000_000 + ledger),
            contract_id=OURS,
            ledger=ledger,
            tx_hash=ce.tx_hash_for(i + 1),
            tx_index=1 + i % 3,
            event_index=0,
        )
    fill(server.chain, [19_000, 24_000])
    events, ledgers = 12_002, 24_996  # ledgers 5-25,000
    default = Settings.model_fields["sync_page_limit"].default
    source = RpcSource(make_client(timeout=30), limit=default)
    got = [e for b in source.batches([OURS], 5, 25_000) for e in b.events]
    assert got == server.chain.raw_events([OURS], xdr_format="json")
    assert server.requests["getEvents"] <= -(-events // 10_000) + -(-ledgers // 10_000) == 5
    assert {call[1]["pagination"]["limit"] for call in server.calls} == {10_000}


def test_a_page_cut_into_transactions_frees_each_part_once_it_is_let_go(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    fill(server.chain, list(range(5, 35)))  # 30 events, one page
    batches = joined(RpcSource(client, limit=100).batches([OURS], 1, 40), max_events=10)
    first = next(batches)
    alive: weakref.WeakSet[RawEvent] = weakref.WeakSet(first.events)
    del first  # stored
    second = next(batches)  # the rest of the same page: no new request
    assert server.requests["getEvents"] == 1
    assert len(alive) == 0  # neither the source nor the join kept the page's first part
    assert len(second.events) == 10


def test_rpc_source_takes_the_nodes_lower_page_limit(
    rpc: tuple[str, FakeStellarRpc], client: RpcClient
) -> None:
    _, server = rpc
    server.max_limit = 3
    fill(server.chain, [4, 5, 6, 7, 8, 9, 10])
    source = RpcSource(client, limit=10_000)
    events = [e for b in source.batches([OURS], 1, 20) for e in b.events]
    assert [e.ledger for e in events] == [4, 5, 6, 7, 8, 9, 10]
    assert source.limit == 3
    assert [call[1]["pagination"]["limit"] for call in server.calls] == [10_000, 3, 3, 3]
