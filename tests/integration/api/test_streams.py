"""The streams read API on both databases, seeded through the real ingestion path."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history
from tests.support.clock import FakeClock
from tests.support.seed import ingest_events
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.config import Settings, load_settings

C = ce.V2_CONTRACT
V1 = ce.V1_CONTRACT
API = "/api/v1"
BIG = 2**64 + 99


@pytest.fixture
def chain_settings(tmp_path: object, database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",  # type: ignore[operator]
        database_url=database_url,
        contract_ids=f"{C},{V1}",
        yield_default_apy_bps=500,
    )


@pytest.fixture
def clock() -> FakeClock:
    # Stream times in the fixtures are small Unix seconds; "now" is chosen per test.
    return FakeClock(datetime.fromtimestamp(50_000, UTC))


@pytest.fixture
def api(chain_settings: Settings, clock: FakeClock) -> Iterator[httpx.Client]:
    with (
        serve(create_app(chain_settings, clock=clock)) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


def seed(settings: Settings, events: list[object], latest: int | None = None) -> None:
    ingest_events(settings.resolved_database_url, events, [C, V1], latest_ledger=latest)  # type: ignore[arg-type]


def sid(n: int, contract: str = C) -> str:
    return f"{contract}-{n}"


SENDER, RECEIVER, OTHER = ce.account(1), ce.account(2), ce.account(3)


def one_stream(
    n: int = 0,
    *,
    amount: int = 1000,
    start: int = 1000,
    end: int = 2000,
    ledger: int = 10,
    sender: str = SENDER,
    receiver: str = RECEIVER,
    memo: str | None = None,
) -> object:
    return ce.raw_event(
        *ce.create_v2(
            n, sender, receiver, ce.TOKEN, amount, start, start, end, max(0, start - 5), memo
        ),
        contract_id=C,
        ledger=ledger,
        tx_hash=ce.tx_hash_for(1000 + n),
    )


# --- one stream --------------------------------------------------------------------------


def test_stream_object_has_every_field_computed_at_request_time(
    api: httpx.Client, chain_settings: Settings, clock: FakeClock
) -> None:
    seed(
        chain_settings,
        [
            one_stream(amount=BIG, start=1000, end=3000),
            ce.raw_event(
                *ce.claim(0, RECEIVER, 10, 10, 1100),
                contract_id=C,
                ledger=11,
                tx_hash=ce.tx_hash_for(5),
            ),
        ],
    )
    clock.now = datetime.fromtimestamp(1500, UTC)
    body = api.get(f"{API}/streams/{sid(0)}").json()
    assert (
        body["id"] == sid(0)
        and body["contract"] == C
        and body["streamId"] == 0
        and body["version"] == 2
    )
    assert body["totalAmount"] == str(BIG) and body["withdrawnAmount"] == "10"
    assert body["streamedAmount"] == str(BIG * 500 // 2000)
    assert body["withdrawableAmount"] == str(BIG * 500 // 2000 - 10)
    assert body["refundableAmount"] == str(BIG - BIG * 500 // 2000)
    assert body["status"] == "ACTIVE" and body["asOf"] == 1500
    assert (body["startTime"], body["cliffTime"], body["endTime"]) == (1000, 1000, 3000)
    assert (
        body["createdLedger"] == 10
        and body["updatedLedger"] == 11
        and body["createdTx"] == ce.tx_hash_for(1000)
    )
    clock.now = datetime.fromtimestamp(3000, UTC)
    later = api.get(f"{API}/streams/{sid(0)}").json()
    assert (
        later["status"] == "COMPLETED"
        and later["withdrawableAmount"] == str(BIG - 10)
        and later["refundableAmount"] == "0"
    )


def test_not_started_stream_is_active_with_nothing_streamed(
    api: httpx.Client, chain_settings: Settings, clock: FakeClock
) -> None:
    seed(chain_settings, [one_stream(start=60_000, end=70_000)])
    body = api.get(f"{API}/streams/{sid(0)}").json()
    assert (body["status"], body["streamedAmount"], body["startTime"]) == ("ACTIVE", "0", 60_000)


def test_canceled_archived_and_paused_statuses(api: httpx.Client, chain_settings: Settings) -> None:
    seed(
        chain_settings,
        [
            one_stream(0),
            one_stream(1, ledger=11),
            one_stream(2, ledger=12),
            ce.raw_event(
                *ce.cancel(0, SENDER, 400, 500, 1500),
                contract_id=C,
                ledger=20,
                tx_hash=ce.tx_hash_for(20),
            ),
            ce.raw_event(
                *ce.archived(1, 1000, 1000, SENDER, 2500),
                contract_id=C,
                ledger=21,
                tx_hash=ce.tx_hash_for(21),
            ),
            ce.raw_event(
                *ce.v1_create(7, SENDER, RECEIVER, ce.TOKEN, 50, 100, 90_000, 90),
                contract_id=V1,
                ledger=22,
                tx_hash=ce.tx_hash_for(22),
            ),
            ce.raw_event(
                *ce.v1_pause(7, SENDER, 200), contract_id=V1, ledger=23, tx_hash=ce.tx_hash_for(23)
            ),
        ],
    )
    canceled = api.get(f"{API}/streams/{sid(0)}").json()
    assert canceled["status"] == "CANCELED" and canceled["canceledAt"] == 1500
    assert (
        canceled["cancelToReceiver"],
        canceled["cancelToSender"],
        canceled["withdrawableAmount"],
    ) == ("400", "500", "0")
    assert api.get(f"{API}/streams/{sid(1)}").json()["status"] == "ARCHIVED"
    assert api.get(f"{API}/streams/{sid(7, V1)}").json()["status"] == "PAUSED"
    assert api.get(f"{API}/streams/{sid(2)}").json()["status"] == "COMPLETED"


def test_contract_pause_pauses_its_v2_streams_until_unpause(
    api: httpx.Client, chain_settings: Settings
) -> None:
    seed(
        chain_settings,
        [
            one_stream(0, end=90_000),
            ce.raw_event(
                *ce.v2_pause(OTHER, 100), contract_id=C, ledger=30, tx_hash=ce.tx_hash_for(30)
            ),
        ],
    )
    assert api.get(f"{API}/streams/{sid(0)}").json()["status"] == "PAUSED"
    assert [
        s["id"] for s in api.get(f"{API}/streams", params={"status": "PAUSED"}).json()["data"]
    ] == [sid(0)]
    seed(
        chain_settings,
        [
            ce.raw_event(
                *ce.v2_unpause(OTHER, 200), contract_id=C, ledger=31, tx_hash=ce.tx_hash_for(31)
            )
        ],
    )
    assert api.get(f"{API}/streams/{sid(0)}").json()["status"] == "ACTIVE"


@pytest.mark.parametrize("bad", ["nope", f"{C}-x", "GABC-1", f"{C}-{2**64}", f"{C}--1"])
def test_bad_stream_ids_are_422(api: httpx.Client, bad: str) -> None:
    response = api.get(f"{API}/streams/{bad}")
    assert response.status_code == 422 and response.json()["error"]["field"] == "id"


def test_unknown_stream_is_404(api: httpx.Client) -> None:
    response = api.get(f"{API}/streams/{sid(12345)}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- lists ---------------------------------------------------------------------------------


def walk(api: httpx.Client, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        response = api.get(f"{API}/streams", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["data"]
        cursor = page["nextCursor"]
        if not cursor:
            return items


def test_filters_and_every_sort_paginate_completely(
    api: httpx.Client, chain_settings: Settings
) -> None:
    events = stream_history(25)
    seed(chain_settings, events)
    everything = walk(api, limit=200)
    assert len(everything) == 25
    for sort, key, reverse in [
        ("created_desc", "createdLedger", True),
        ("created_asc", "createdLedger", False),
        ("end_desc", "endTime", True),
        ("end_asc", "endTime", False),
        ("amount_desc", "totalAmount", True),
        ("amount_asc", "totalAmount", False),
    ]:
        items = walk(api, sort=sort, limit=4)
        values = [int(str(i[key])) for i in items]
        assert len(items) == 25 and len({i["id"] for i in items}) == 25
        assert values == sorted(values, reverse=reverse), sort
    sender = ce.account(2)
    by_sender = walk(api, sender=sender, limit=2)
    assert by_sender and all(i["sender"] == sender for i in by_sender)
    assert len(by_sender) == sum(1 for i in everything if i["sender"] == sender)
    receiver = str(everything[0]["receiver"])
    inbound = walk(api, address=receiver, direction="in")
    assert inbound and all(i["receiver"] == receiver for i in inbound)
    both = walk(api, address=sender)
    assert {i["id"] for i in both} == {
        i["id"] for i in everything if sender in (i["sender"], i["receiver"])
    }
    assert walk(api, token=ce.TOKEN, limit=200) == everything
    assert walk(api, contract=V1) == []
    canceled = walk(api, status="CANCELED")
    assert {i["id"] for i in canceled} == {sid(n) for n in range(25) if n % 3 == 1}


def test_pages_are_stable_under_concurrent_inserts(
    api: httpx.Client, chain_settings: Settings
) -> None:
    seed(chain_settings, [one_stream(n, ledger=10 + n) for n in range(6)])
    first = api.get(f"{API}/streams", params={"limit": 3}).json()
    seed(chain_settings, [one_stream(n, ledger=100 + n) for n in range(6, 9)])  # newer streams land
    second = api.get(f"{API}/streams", params={"limit": 3, "cursor": first["nextCursor"]}).json()
    ids = [s["id"] for s in first["data"] + second["data"]]
    assert ids == [sid(n) for n in (5, 4, 3, 2, 1, 0)]


def test_empty_list_and_last_page(api: httpx.Client, chain_settings: Settings) -> None:
    assert api.get(f"{API}/streams").json() == {"data": [], "nextCursor": None}
    seed(chain_settings, [one_stream(0)])
    page = api.get(f"{API}/streams", params={"limit": 1}).json()
    assert len(page["data"]) == 1 and page["nextCursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage!"},
        {"cursor": "WyJ4IiwgMV0"},
        {"cursor": "WzEsMiwzXQ"},
        {"limit": 0},
        {"limit": 201},
        {"sort": "random"},
        {"status": "LOST"},
        {"sender": "GNOPE"},
        {"token": ce.account(1)},
        {"direction": "sideways"},
    ],
)
def test_bad_list_parameters_are_4xx_in_the_error_shape(
    api: httpx.Client, params: dict[str, object]
) -> None:
    response = api.get(f"{API}/streams", params=params)
    assert response.status_code in (400, 422)
    assert set(response.json()["error"]) == {"code", "message", "field"}


# --- events and history --------------------------------------------------------------------


def test_events_in_chain_order_paginated_and_history(
    api: httpx.Client, chain_settings: Settings
) -> None:
    events = stream_history(3)
    seed(chain_settings, list(reversed(events)))  # arrival order reversed on purpose
    mine = api.get(f"{API}/streams/{sid(1)}/events", params={"limit": 2}).json()
    rest = api.get(
        f"{API}/streams/{sid(1)}/events", params={"limit": 2, "cursor": mine["nextCursor"]}
    ).json()
    types = [e["type"] for e in mine["data"] + rest["data"]]
    assert types == ["create_v2", "claim", "claim", "cancel"] and rest["nextCursor"] is None
    ledgers = [e["ledger"] for e in mine["data"] + rest["data"]]
    assert ledgers == sorted(ledgers)
    first = mine["data"][0]
    assert first["decoded"]["amount"] == str(10**12 + 1) and len(first["txHash"]) == 64
    history = api.get(f"{API}/streams/{sid(1)}/history").json()
    assert history["stream"]["id"] == sid(1) and [e["type"] for e in history["events"]] == types


# --- yield -----------------------------------------------------------------------------------


def test_yield_for_streams_without_yield_is_zeros(
    api: httpx.Client, chain_settings: Settings
) -> None:
    seed(chain_settings, [one_stream(0)])
    body = api.get(f"{API}/streams/{sid(0)}/yield").json()
    assert (
        body["yieldEnabled"] is False
        and body["accruedEstimate"] == "0"
        and body["estimate"] is True
    )
    projection = api.get(f"{API}/streams/{sid(0)}/yield/projection", params={"days": 30}).json()
    assert projection["projectedYieldEstimate"] == "0"


def test_yield_estimate_for_a_yield_enabled_stream(
    api: httpx.Client, chain_settings: Settings, clock: FakeClock
) -> None:
    from sqlalchemy import update

    from stellarstream.db.engine import make_engine
    from stellarstream.db.models import Stream

    total, year = 365 * 86400 * 10**7, 365 * 86400
    seed(chain_settings, [one_stream(0, amount=total, start=0, end=year)])
    engine = make_engine(chain_settings.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(update(Stream).values(yield_enabled=True, vault_address=ce.contract(60)))
    engine.dispose()
    clock.now = datetime.fromtimestamp(year // 2, UTC)
    body = api.get(f"{API}/streams/{sid(0)}/yield").json()
    # locked principal integral over the first half year: T*h - T*h^2/(2*year) = 3/8 * T * year
    expected = int(total * 3 / 8 * 500 / 10_000)  # exact here: all factors divide evenly
    assert (
        body["yieldEnabled"] and body["apyBps"] == 500 and body["accruedEstimate"] == str(expected)
    )
    assert body["principalLocked"] == str(total // 2) and "default rate" in body["rateSource"]
    projection = api.get(f"{API}/streams/{sid(0)}/yield/projection", params={"days": 365}).json()
    full = total // 2 * 500 // 10_000  # integral over the whole year is T*year/2
    assert projection["projectedTotalEstimate"] == str(full)
    assert int(projection["projectedYieldEstimate"]) == full - expected
    assert (
        api.get(f"{API}/streams/{sid(0)}/yield/projection", params={"days": 0}).status_code == 422
    )


# --- stats, search, export, sync --------------------------------------------------------------


def test_stats_are_exact_above_2_63(
    api: httpx.Client, chain_settings: Settings, clock: FakeClock
) -> None:
    seed(
        chain_settings,
        [
            one_stream(0, amount=BIG, end=90_000),
            one_stream(1, amount=BIG, ledger=11, end=90_000, sender=OTHER),
            one_stream(2, amount=7, ledger=12, end=2000),
            ce.raw_event(
                *ce.claim(0, RECEIVER, 5, 5, 1100),
                contract_id=C,
                ledger=13,
                tx_hash=ce.tx_hash_for(13),
            ),
            ce.raw_event(
                *ce.cancel(1, OTHER, 1, 2, 1500),
                contract_id=C,
                ledger=14,
                tx_hash=ce.tx_hash_for(14),
            ),
        ],
        latest=40,
    )
    body = api.get(f"{API}/stats").json()
    assert (body["total"], body["active"], body["completed"], body["canceled"]) == (3, 1, 1, 1)
    assert (body["uniqueSenders"], body["uniqueReceivers"]) == (2, 1)
    token = body["tokens"][0]
    assert token["totalVolume"] == str(2 * BIG + 7)
    assert token["valueLocked"] == str(BIG - 5 + 7)
    assert (body["indexerLatestLedger"], body["networkLatestLedger"], body["lagLedgers"]) == (
        14,
        40,
        26,
    )


def test_search_by_id_tx_address_prefix_and_token(
    api: httpx.Client, chain_settings: Settings
) -> None:
    seed(chain_settings, [one_stream(0), one_stream(1, ledger=11, receiver=OTHER)])

    def hits(q: str) -> list[tuple[str, str]]:
        data = api.get(f"{API}/search", params={"q": q}).json()["data"]
        return [(h["match"], h["stream"]["id"]) for h in data]

    assert hits(sid(1)) == [("id", sid(1))]
    assert hits(ce.tx_hash_for(1000)) == [("tx", sid(0))]
    assert hits(OTHER) == [("address", sid(1))]
    assert hits(OTHER[:8].lower()) == [("address_prefix", sid(1))]
    assert set(hits(ce.TOKEN)) == {("token", sid(0)), ("token", sid(1))}
    assert hits(SENDER)[0][0] == "address"
    assert api.get(f"{API}/search", params={"q": "GA"}).status_code == 422
    paged = api.get(f"{API}/search", params={"q": SENDER, "limit": 1}).json()
    second = api.get(
        f"{API}/search", params={"q": SENDER, "limit": 1, "cursor": paged["nextCursor"]}
    ).json()
    assert {paged["data"][0]["stream"]["id"], second["data"][0]["stream"]["id"]} == {sid(0), sid(1)}


def test_export_csv_has_base_and_token_units(api: httpx.Client, chain_settings: Settings) -> None:
    seed(
        chain_settings,
        [
            one_stream(0, amount=BIG),
            ce.raw_event(
                *ce.claim(0, RECEIVER, 12345678, 12345678, 1100),
                contract_id=C,
                ledger=11,
                tx_hash=ce.tx_hash_for(11),
            ),
        ],
    )
    response = api.get(f"{API}/streams/export.csv", params={"address": RECEIVER})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["event"] == "create_v2" and rows[0]["amount_base_units"] == str(BIG)
    assert rows[0]["amount_token_units"] == "1844674407370.9551715"  # (2**64+99) / 10**7, exact
    claim = [r for r in rows if r["event"] == "claim"]
    assert {r["field"]: r["amount_token_units"] for r in claim} == {
        "amount": "1.2345678",
        "withdrawn_total": "1.2345678",
    }
    assert all(r["direction"] == "in" for r in rows)
    assert api.get(f"{API}/streams/export.csv", params={"address": "bad"}).status_code == 422


def test_sync_status_reports_lag(api: httpx.Client, chain_settings: Settings) -> None:
    before = api.get(f"{API}/sync/status").json()["contracts"]
    assert {c["contract"] for c in before} == {C, V1} and all(
        c["lastIngestedLedger"] is None for c in before
    )
    seed(chain_settings, [one_stream(0, ledger=10)], latest=25)
    row = next(c for c in api.get(f"{API}/sync/status").json()["contracts"] if c["contract"] == C)
    assert (
        row["lastIngestedLedger"],
        row["networkLatestLedger"],
        row["lagLedgers"],
        row["lagSeconds"],
    ) == (10, 25, 15, 75)


def test_cors_is_off_by_default_and_configurable(
    api: httpx.Client, tmp_path: object, database_url: str
) -> None:
    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,idempotency-key",
    }
    assert (
        "access-control-allow-origin"
        not in api.options(f"{API}/streams", headers=preflight).headers
    )
    settings = load_settings(
        _env_file=None,
        var_dir=tmp_path / "v2",
        database_url=database_url,
        cors_origins="https://app.example",
    )  # type: ignore[operator]
    with serve(create_app(settings)) as url:
        response = httpx.options(f"{url}{API}/invoice-links", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://app.example"
        assert "PATCH" in response.headers["access-control-allow-methods"]
        assert "idempotency-key" in response.headers["access-control-allow-headers"].lower()


# --- live updates (SSE) -----------------------------------------------------------------------


def read_event(lines: Any, deadline: float) -> tuple[str, dict[str, Any]]:
    """The next ``event: stream`` message: (id, data)."""
    event_id, kind = "", ""
    for line in lines:
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind == "stream":
            return event_id, json.loads(line[6:])
        assert time.monotonic() < deadline, "no event in time"
    raise AssertionError("stream ended")


def test_sse_pushes_an_ingested_event_to_a_connected_client(
    chain_settings: Settings, clock: FakeClock
) -> None:
    seed(chain_settings, [one_stream(0, end=90_000)])
    fast = chain_settings.model_copy(update={"live_poll_seconds": 0.1})
    # Two API "workers" (separate apps) on one database: each learns of events from the DB.
    with (
        serve(create_app(fast, clock=clock)) as a,
        serve(create_app(fast, clock=clock)) as b,
        httpx.Client(timeout=10) as http,
        http.stream("GET", f"{a}{API}/streams/{sid(0)}/live") as one,
        http.stream("GET", f"{b}{API}/live", params={"address": RECEIVER}) as two,
    ):
        assert one.headers["content-type"].startswith("text/event-stream")
        lines_one, lines_two = one.iter_lines(), two.iter_lines()
        assert next(lines_one).startswith("retry:")
        assert next(lines_two).startswith("retry:")
        claim = ce.claim(0, RECEIVER, 77, 77, 1200)
        seed(
            chain_settings,
            [ce.raw_event(*claim, contract_id=C, ledger=50, tx_hash=ce.tx_hash_for(50))],
        )
        deadline = time.monotonic() + 10
        first_id, first = read_event(lines_one, deadline)
        _, second = read_event(lines_two, deadline)
    for message in (first, second):
        assert message["event"]["type"] == "claim" and message["event"]["ledger"] == 50
        assert message["stream"]["id"] == sid(0) and message["stream"]["withdrawnAmount"] == "77"
    assert first_id.isdigit()


def test_sse_resumes_after_last_event_id(chain_settings: Settings, clock: FakeClock) -> None:
    seed(chain_settings, [one_stream(0, end=90_000)])
    fast = chain_settings.model_copy(update={"live_poll_seconds": 0.1})
    with serve(create_app(fast, clock=clock)) as url, httpx.Client(timeout=10) as http:
        # Missed while disconnected: events after id 1 (the create) are replayed on reconnect.
        seed(
            chain_settings,
            [
                ce.raw_event(
                    *ce.claim(0, RECEIVER, 5, 5, 1200),
                    contract_id=C,
                    ledger=60,
                    tx_hash=ce.tx_hash_for(60),
                )
            ],
        )
        with http.stream(
            "GET", f"{url}{API}/streams/{sid(0)}/live", headers={"Last-Event-ID": "1"}
        ) as stream:
            _, message = read_event(stream.iter_lines(), time.monotonic() + 10)
    assert message["event"]["type"] == "claim"


def test_sse_rejects_bad_input(api: httpx.Client) -> None:
    assert api.get(f"{API}/live", params={"address": "nope"}).status_code == 422
    assert api.get(f"{API}/streams/bad/live").status_code == 422


def test_sync_status_lists_gaps_from_coverage(api: httpx.Client, chain_settings: Settings) -> None:
    from stellarstream.db import coverage
    from stellarstream.db.engine import make_engine, make_sessionmaker

    engine = make_engine(chain_settings.resolved_database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        coverage.record(session, [C], "datalake", 10, 20, datetime.now(UTC))
        coverage.record(session, [C], "rpc", 31, 40, datetime.now(UTC))
    engine.dispose()
    row = next(c for c in api.get(f"{API}/sync/status").json()["contracts"] if c["contract"] == C)
    assert row["gaps"] == [[21, 30]]


@pytest.mark.parametrize("cursor", ["garbage!", "WyJ4IiwgMV0", "WzEsMiwzXQ", "e30"])
def test_tampered_cursors_are_400(api: httpx.Client, cursor: str) -> None:
    for path, extra in ((f"{API}/streams", {}), (f"{API}/search", {"q": C})):
        response = api.get(path, params={"cursor": cursor, **extra})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"] == {
            "code": "bad_request",
            "message": "cursor is not valid: pass back a nextCursor as is",
            "field": "cursor",
        }


def test_export_csv_is_exact_for_the_largest_i128(
    api: httpx.Client, chain_settings: Settings
) -> None:
    top = 2**127 - 1
    seed(chain_settings, [one_stream(0, amount=top)])
    rows = list(
        csv.DictReader(
            io.StringIO(api.get(f"{API}/streams/export.csv", params={"address": RECEIVER}).text)
        )
    )
    assert rows[0]["amount_base_units"] == str(top)
    assert rows[0]["amount_token_units"] == "17014118346046923173168730371588.4105727"
