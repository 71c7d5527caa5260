"""Webhooks on both databases: endpoints over HTTP, the outbox written with each change, and
the worker (in process) delivering signed events to a local receiver, with retries and leases."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook, WebhookVerificationError
from stellar_sdk import Keypair
from tests.support import contract_events as ce
from tests.support.auth import sign_in
from tests.support.clock import FakeClock
from tests.support.factories import invoice_body
from tests.support.invoice_flow import CONTRACT, create_link, ingest, payment, withdrawal
from tests.support.payer_flow import make_settings as payer_settings
from tests.support.payer_flow import pay, payer_state
from tests.support.raw_db import raw_contents
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, running_soroban_rpc
from tests.support.webhook_receiver import Receiver, running_receiver

from stellarstream.api.app import create_app
from stellarstream.chain.source import Batch
from stellarstream.clock import utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink, TokenMetadata, WebhookDelivery
from stellarstream.ingest.record import ingest_batch
from stellarstream.secretbox import SecretBox, new_key
from stellarstream.webhooks.worker import WebhookWorker, WorkerConfig

HOOKS = "/api/v1/webhooks"
LINKS = "/api/v1/invoice-links"
KEY = new_key()  # the API and the workers of these tests share it (as one installation does)
BOX = SecretBox(KEY)


def make_settings(
    tmp_path: Path, database_url: str, *, allow_local: bool = True, rpc_url: str = "none"
) -> Settings:
    return payer_settings(
        tmp_path,
        database_url,
        rpc_url,
        webhooks_allow_http_localhost=allow_local,
        secrets_key=KEY,
    )


@pytest.fixture
def rpc() -> Iterator[tuple[str, FakeSorobanRpc]]:
    """A fake RPC the payer's transactions are prepared on and sent to."""
    with running_soroban_rpc(state=payer_state()) as served:
        yield served


@pytest.fixture
def http(
    tmp_path: Path, database_url: str, clock: FakeClock, rpc: tuple[str, FakeSorobanRpc]
) -> Iterator[httpx.Client]:
    app = create_app(make_settings(tmp_path, database_url, rpc_url=rpc[0]), clock=clock)
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client


@pytest.fixture
def issuer() -> Keypair:
    return Keypair.random()


@pytest.fixture
def auth(http: httpx.Client, issuer: Keypair) -> dict[str, str]:
    return sign_in(http, issuer)


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    with running_receiver() as served:
        yield served


@pytest.fixture
def sessions(database_url: str) -> Iterator[object]:
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


FAST = WorkerConfig(
    timeout=5.0,
    retry_initial=0.05,
    retry_max=0.2,
    retry_window=3600.0,
    poll=0.02,
    lease=30.0,
    batch=10,
    concurrency=4,
    sweep_every=0.0,
)


def worker_for(
    sessions: object, clock: Callable[[], datetime], config: WorkerConfig = FAST, **kw: object
) -> WebhookWorker:
    return WebhookWorker(sessions, config, BOX, clock=clock, **kw)  # type: ignore[arg-type]


def ahead(clock: FakeClock) -> Callable[[], datetime]:
    """The later of the real time and ``clock`` (ingestion stamps rows with the real time)."""
    return lambda: max(utc_now(), clock())


def drain(worker: WebhookWorker, until: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError("deliveries did not finish")
        if not worker.run_once():
            time.sleep(0.02)


def register(
    http: httpx.Client, auth: dict[str, str], url: str, **extra: object
) -> dict[str, object]:
    response = http.post(HOOKS, json={"url": url, **extra}, headers=auth)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def post_link(http: httpx.Client, auth: dict[str, str], **fields: object) -> httpx.Response:
    """Create an invoice link over HTTP (``invoice_body`` with ``fields``): ``invoice.created``
    is queued for the issuer's endpoints that want it."""
    return http.post(LINKS, json=invoice_body(**fields), headers=auth)


def queue_one(http: httpx.Client, auth: dict[str, str], url: str) -> dict[str, object]:
    """Register an endpoint at ``url`` and create a link: one delivery queued for it. Returns
    the endpoint as registered (with its secret)."""
    created = register(http, auth, url)
    post_link(http, auth)
    return created


def deliveries(database_url: str) -> list[WebhookDelivery]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    finally:
        engine.dispose()


def queued_at(database_url: str) -> datetime:
    """When the one delivery queued so far was created (a fake clock set there: it is due)."""
    (row,) = deliveries(database_url)
    return row.created_at


def retry_until_final(
    worker: WebhookWorker, clock: FakeClock, database_url: str
) -> tuple[WebhookDelivery, list[float]]:
    """Attempt the one queued delivery, moving ``clock`` to each retry, until it is no longer
    PENDING: the final row and the delays (seconds) the worker scheduled between attempts."""
    delays = []
    while True:
        assert worker.run_once() == 1
        (row,) = deliveries(database_url)
        if row.status != "PENDING":
            return row, delays
        delays.append((row.next_attempt_at - clock()).total_seconds())
        clock.now = row.next_attempt_at  # due now: the next pass claims it


def readme_handler() -> Callable[[str, bytes, dict[str, str]], object]:
    """The receiver example of the README's Webhooks section, as written."""
    text = (Path(__file__).parents[3] / "README.md").read_text()
    section = text[text.index("\n## Webhooks\n") : text.index("\n## Walk-through")]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Webhooks section lost its Python example"
    namespace: dict[str, object] = {}
    exec(match.group(1), namespace)
    return namespace["handle"]  # type: ignore[return-value]


def verified(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """What an integrator does: the Standard Webhooks library (``pip install standardwebhooks``),
    none of our code."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


# --- endpoints -------------------------------------------------------------------------------


def test_register_list_get_delete_with_the_secret_shown_once(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    created = register(http, auth, "https://hooks.example.com/stellarstream", description="books")
    assert str(created["secret"]).startswith("whsec_") and len(str(created["secret"])) > 40
    assert created["eventTypes"] is None and created["description"] == "books"
    listed = http.get(HOOKS, headers=auth).json()["data"]
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    one = http.get(f"{HOOKS}/{created['id']}", headers=auth).json()
    assert "secret" not in one and one["url"] == "https://hooks.example.com/stellarstream"
    assert http.delete(f"{HOOKS}/{created['id']}", headers=auth).status_code == 204
    assert http.get(HOOKS, headers=auth).json()["data"] == []
    assert http.get(f"{HOOKS}/{created['id']}", headers=auth).status_code == 404


def test_endpoints_belong_to_their_issuer(http: httpx.Client, auth: dict[str, str]) -> None:
    created = register(http, auth, "https://hooks.example.com/a")
    other = sign_in(http, Keypair.random())
    assert http.get(HOOKS, headers=other).json()["data"] == []
    for method in ("GET", "DELETE"):
        response = http.request(method, f"{HOOKS}/{created['id']}", headers=other)
        assert response.status_code == 404
    deliveries_url = f"{HOOKS}/{created['id']}/deliveries"
    assert http.get(deliveries_url, headers=other).status_code == 404
    assert http.get(HOOKS).status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://",
        "https://hooks.example.com:99999/x",
    ],
)
def test_bad_urls_are_422(http: httpx.Client, auth: dict[str, str], url: str) -> None:
    response = http.post(HOOKS, json={"url": url}, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "url"


def test_http_and_private_addresses_need_the_development_setting(
    tmp_path: Path, database_url: str
) -> None:
    app = create_app(make_settings(tmp_path, database_url, allow_local=False))
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        auth = sign_in(client, Keypair.random())
        for target in (
            "http://127.0.0.1:8000/hook",
            "http://localhost/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://[::1]/hook",
        ):
            response = client.post(HOOKS, json={"url": target}, headers=auth)
            assert response.status_code == 422, target
        refused = client.post(HOOKS, json={"url": "http://127.0.0.1/h"}, headers=auth).json()
        assert "STELLARSTREAM_WEBHOOKS_ALLOW_HTTP_LOCALHOST" in refused["error"]["message"]
        assert (
            client.post(HOOKS, json={"url": "http://example.com/h"}, headers=auth).status_code
            == 422
        )
        assert (
            client.post(HOOKS, json={"url": "https://example.com/h"}, headers=auth).status_code
            == 201
        )


@pytest.mark.parametrize(
    ("event_types", "code"),
    [(["invoice.completed", "stream.*"], 201), (["invoice.paid"], 422), ([], 422), (["*"], 201)],
)
def test_event_types_are_checked(
    http: httpx.Client, auth: dict[str, str], event_types: list[str], code: int
) -> None:
    response = http.post(
        HOOKS, json={"url": "https://h.example.com/", "eventTypes": event_types}, headers=auth
    )
    assert response.status_code == code, response.text
    if code == 422:
        assert response.json()["error"]["field"] == "eventTypes"


def test_an_issuer_has_at_most_ten_endpoints(http: httpx.Client, auth: dict[str, str]) -> None:
    for n in range(10):
        register(http, auth, f"https://hooks.example.com/{n}")
    response = http.post(HOOKS, json={"url": "https://hooks.example.com/x"}, headers=auth)
    assert response.status_code == 409


# --- the outbox and the worker -----------------------------------------------------------------


def test_every_status_change_is_delivered_signed(
    http: httpx.Client,
    auth: dict[str, str],
    issuer: Keypair,
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    secret = str(register(http, auth, url)["secret"])
    # created -> signed (the payer's transaction, sent) -> completed (the indexer sees it)
    # -> a stream event of the paying stream
    paid = post_link(http, auth).json()
    tx_hash = pay(http, paid["slug"])["txHash"]
    with sessions() as session:  # type: ignore[operator]
        link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == paid["slug"]))
    assert link is not None
    ingest(database_url, replace(payment(link, stream_id=11, ledger=40), tx_hash=tx_hash))
    ingest(database_url, withdrawal(11, tx=502, ledger=41))
    # created -> canceled
    voided = post_link(http, auth).json()
    patch = http.patch(f"{LINKS}/{voided['id']}/status", json={"status": "CANCELED"}, headers=auth)
    assert patch.status_code == 200
    # created -> expired (a sweep notices)
    expiring = post_link(http, auth, expiresAt=(clock() + timedelta(seconds=60)).isoformat()).json()
    worker = worker_for(sessions, ahead(clock))
    worker.sweep_expired()
    clock.advance(61)
    assert worker.sweep_expired() == 1
    assert worker.sweep_expired() == 0  # once
    drain(worker, lambda: len(hook.accepted) == 9)
    time.sleep(0.2)
    got = hook.accepted
    assert len(got) == 9  # exactly once each: no failure, no lease ran out
    by_type: dict[str, list[dict[str, object]]] = {}
    other_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    handle = readme_handler()
    for delivery in got:
        assert Webhook(secret).verify(delivery.body, delivery.headers) == delivery.json
        assert handle(secret, delivery.body, delivery.headers) == delivery.json
        assert handle(other_secret, delivery.body, delivery.headers) is None
        assert not verified(other_secret, delivery.body, delivery.headers)
        assert not verified(secret, delivery.body + b" ", delivery.headers)
        tampered = {**delivery.headers, "webhook-id": "x" + delivery.headers["webhook-id"]}
        assert not verified(secret, delivery.body, tampered)
        assert delivery.headers["webhook-signature"].startswith("v1,")
        assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 60
        assert "stellarstream-signature" not in delivery.headers  # the old scheme is gone
        body = delivery.json
        assert delivery.headers["webhook-id"] == body["id"]
        assert delivery.headers["stellarstream-event-type"] == body["type"]
        assert delivery.headers["content-type"] == "application/json"
        by_type.setdefault(str(body["type"]), []).append(body)
    assert sorted(by_type) == [
        "invoice.canceled",
        "invoice.completed",
        "invoice.created",
        "invoice.expired",
        "invoice.signed",
        "stream.claim",
        "stream.create_v2",
    ]
    assert len(by_type["invoice.created"]) == 3
    completed = by_type["invoice.completed"][0]["data"]["invoiceLink"]  # type: ignore[index]
    assert completed["slug"] == paid["slug"] and completed["status"] == "COMPLETED"
    assert completed["streamId"] == 11 and completed["txHash"] == tx_hash
    assert completed["completedBy"] == "chain"
    assert completed["amount"] == "1000000000"  # a decimal string, like the API
    signed = by_type["invoice.signed"][0]["data"]["invoiceLink"]  # type: ignore[index]
    assert signed["status"] == "SIGNED" and signed["txHash"] == tx_hash
    assert signed["completedBy"] is None
    claim = by_type["stream.claim"][0]["data"]  # type: ignore[index]
    assert claim["stream"] == {"id": f"{CONTRACT}-11", "contractId": CONTRACT, "streamId": "11"}
    assert claim["invoiceLink"] == {"id": paid["id"], "slug": paid["slug"]}
    assert claim["event"]["txHash"] == ce.tx_hash_for(502)
    assert claim["event"]["data"]["kind"] == "claim"
    expired = by_type["invoice.expired"][0]["data"]["invoiceLink"]  # type: ignore[index]
    assert expired["slug"] == expiring["slug"] and expired["status"] == "EXPIRED"
    # The API shows each delivery with its attempts and the receiver's answer.
    endpoint_id = http.get(HOOKS, headers=auth).json()["data"][0]["id"]
    page = http.get(f"{HOOKS}/{endpoint_id}/deliveries?limit=5", headers=auth).json()
    assert len(page["data"]) == 5 and page["nextCursor"]
    rest = http.get(
        f"{HOOKS}/{endpoint_id}/deliveries", params={"cursor": page["nextCursor"]}, headers=auth
    ).json()
    rows = page["data"] + rest["data"]
    assert len(rows) == 9 and rest["nextCursor"] is None
    assert {(r["status"], r["attempts"], r["lastStatusCode"], r["lastResponse"]) for r in rows} == {
        ("DELIVERED", 1, 200, "ok")
    }


def test_only_subscribed_event_types_are_queued(
    http: httpx.Client, auth: dict[str, str], database_url: str
) -> None:
    register(http, auth, "https://a.example.com/", eventTypes=["invoice.canceled"])
    register(http, auth, "https://b.example.com/", eventTypes=["invoice.*"])
    link = post_link(http, auth).json()
    http.patch(f"{LINKS}/{link['id']}/status", json={"status": "CANCELED"}, headers=auth)
    queued = sorted((d.event_type, d.endpoint_id) for d in deliveries(database_url))
    assert [t for t, _ in queued] == ["invoice.canceled", "invoice.canceled", "invoice.created"]


def test_retries_on_500_then_success_recording_every_attempt(
    http: httpx.Client,
    auth: dict[str, str],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    with running_receiver(fail_first=2) as (url, hook):
        created = queue_one(http, auth, url)
        worker = worker_for(sessions, ahead(clock))
        assert worker.run_once() == 1
        (first,) = deliveries(database_url)
        assert (first.status, first.attempts, first.last_status_code) == ("PENDING", 1, 500)
        assert first.last_response == "boom" and first.locked_by is None
        assert first.last_attempt_at is not None and first.next_attempt_at > first.last_attempt_at
        drain(worker, lambda: len(hook.accepted) == 1)
    (row,) = deliveries(database_url)
    assert (row.status, row.attempts, row.last_status_code) == ("DELIVERED", 3, 200)
    assert row.delivered_at is not None
    assert [r.status for r in hook.received] == [500, 500, 200]
    assert len({r.body for r in hook.received}) == 1  # the same bytes on every attempt
    assert len({r.event_id for r in hook.received}) == 1  # the receivers' idempotency key
    attempts = [r.headers["stellarstream-delivery-attempt"] for r in hook.received]
    assert attempts == ["1", "2", "3"]
    for delivery in hook.received:
        assert verified(str(created["secret"]), delivery.body, delivery.headers)


def test_backoff_grows_and_gives_up_after_the_retry_window(
    http: httpx.Client, auth: dict[str, str], sessions: object, database_url: str
) -> None:
    clock = FakeClock()
    config = WorkerConfig(
        retry_initial=30, retry_max=3600, retry_window=86400, batch=5, concurrency=1
    )
    with running_receiver(fail_first=10**6) as (url, hook):
        queue_one(http, auth, url)
        clock.now = queued_at(database_url)
        worker = worker_for(sessions, clock, config)
        row, delays = retry_until_final(worker, clock, database_url)
        assert row.status == "FAILED"
        assert worker.run_once() == 0  # never again
    assert 27 <= delays[0] <= 33 and 54 <= delays[1] <= 66  # 30 s, doubling (+-10 %)
    assert max(delays) <= 3600 * 1.1
    assert row.attempts == len(delays) + 1 == len(hook.received)
    assert row.last_status_code == 500
    assert row.last_attempt_at is not None
    assert row.last_attempt_at - row.created_at <= timedelta(hours=24)
    assert row.last_attempt_at - row.created_at > timedelta(hours=22)


def test_a_lease_that_runs_out_is_claimed_again_and_a_late_result_is_ignored(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
) -> None:
    url, hook = receiver
    queue_one(http, auth, url)
    clock = FakeClock()
    clock.now = queued_at(database_url)
    config = WorkerConfig(lease=60, concurrency=1)
    crashed = worker_for(sessions, clock, config, worker_id="crashed")
    (claim,) = crashed.claim()  # ... and the process dies before delivering
    other = worker_for(sessions, clock, config, worker_id="other")
    assert other.run_once() == 0  # leased
    clock.advance(61)
    assert other.run_once() == 1
    (row,) = deliveries(database_url)
    assert (row.status, row.attempts) == ("DELIVERED", 2)
    crashed.deliver(claim)  # it was only slow: its result must not overwrite
    (after,) = deliveries(database_url)
    assert (after.status, after.attempts, after.delivered_at) == (
        "DELIVERED",
        2,
        row.delivered_at,
    )
    assert len({r.event_id for r in hook.accepted}) == 1  # at-least-once, one event id


def test_two_workers_share_the_queue_without_double_delivery(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
    issuer: Keypair,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    register(http, auth, url)
    for _ in range(30):
        create_link(database_url, clock, issuer.public_key)
    config = WorkerConfig(poll=0.01, batch=3, concurrency=2, sweep_every=3600)
    workers = [worker_for(sessions, ahead(clock), config, worker_id=f"w{n}") for n in range(2)]
    threads = [threading.Thread(target=w.run) for w in workers]
    for thread in threads:
        thread.start()
    try:
        hook.wait_for(30)
        time.sleep(0.3)
    finally:
        for w in workers:
            w.stop.set()
        for thread in threads:
            thread.join(10)
    ids = [r.event_id for r in hook.received]
    assert len(ids) == len(set(ids)) == 30
    assert {d.status for d in deliveries(database_url)} == {"DELIVERED"}


def test_the_outbox_commits_or_rolls_back_with_the_change(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    issuer: Keypair,
    database_url: str,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    register(http, auth, url)
    link = create_link(database_url, clock, issuer.public_key)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    raw = payment(link, stream_id=5, tx=900)
    batch = Batch([raw], covered_to=raw.ledger, cursor=None, latest_ledger=raw.ledger, source="rpc")
    with sessions() as session:
        session.begin()
        result = ingest_batch(session, batch, [CONTRACT], now=utc_now())
        assert result.invoices_completed == 1
        pending = session.scalar(select(func.count()).select_from(WebhookDelivery))
        assert pending == 3  # created (earlier), completed, stream.create_v2
        session.rollback()  # the batch fails to commit: no notification survives either
    assert [d.event_type for d in deliveries(database_url)] == ["invoice.created"]
    with sessions() as session, session.begin():
        ingest_batch(session, batch, [CONTRACT], now=utc_now())
    assert sorted(d.event_type for d in deliveries(database_url)) == [
        "invoice.completed",
        "invoice.created",
        "stream.create_v2",
    ]
    assert hook.received == []  # ingestion only writes rows: nothing is sent inline
    engine.dispose()


def test_deleting_an_endpoint_drops_its_queue(
    http: httpx.Client, auth: dict[str, str], database_url: str
) -> None:
    kept = register(http, auth, "https://kept.example.com/")
    dropped = register(http, auth, "https://dropped.example.com/")
    post_link(http, auth)
    assert len(deliveries(database_url)) == 2
    assert http.delete(f"{HOOKS}/{dropped['id']}", headers=auth).status_code == 204
    assert [d.endpoint_id for d in deliveries(database_url)] == [kept["id"]]


def test_a_stream_event_body_is_json_with_exact_amounts(
    http: httpx.Client,
    auth: dict[str, str],
    issuer: Keypair,
    database_url: str,
    clock: FakeClock,
) -> None:
    register(http, auth, "https://h.example.com/", eventTypes=["stream.claim"])
    link = create_link(database_url, clock, issuer.public_key, amount=2**100)
    ingest(
        database_url,
        payment(link, stream_id=3, tx=31),
        withdrawal(3, tx=32, ledger=60, amount=2**90),
    )
    (row,) = deliveries(database_url)
    data = json.loads(row.body)["data"]["event"]["data"]
    assert data["amount"] == str(2**90) and data["stream_id"] == "3"


# --- secrets: encrypted at rest, rotated with an overlap -----------------------------------------


def test_no_secret_is_stored_in_clear(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    created = register(http, auth, url)
    rotated = http.post(f"{HOOKS}/{created['id']}/rotate-secret", headers=auth)
    assert rotated.status_code == 200, rotated.text
    post_link(http, auth)
    drain(worker_for(sessions, ahead(clock)), lambda: len(hook.accepted) == 1)
    raw = raw_contents(database_url)
    assert raw  # the database was read
    for secret in (str(created["secret"]), str(rotated.json()["secret"])):
        key = base64.b64decode(secret[6:])
        assert secret[6:].encode() not in raw and key not in raw
        Webhook(secret).verify(hook.accepted[0].body, hook.accepted[0].headers)
    assert KEY.encode() not in raw  # nor the key that encrypts them


def test_a_rotated_secret_keeps_signing_for_24_hours(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    created = register(http, auth, url)
    rotate = f"{HOOKS}/{created['id']}/rotate-secret"
    assert http.post(rotate).status_code == 401
    assert http.post(rotate, headers=sign_in(http, Keypair.random())).status_code == 404
    assert http.post(f"{HOOKS}/nope/rotate-secret", headers=auth).status_code == 404
    response = http.post(rotate, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    old, new = str(created["secret"]), str(body["secret"])
    assert new != old and new.startswith("whsec_")
    assert body["id"] == created["id"] and body["url"] == url
    until = datetime.fromisoformat(body["previousSecretExpiresAt"])
    assert until == clock() + timedelta(hours=24)
    listed = http.get(f"{HOOKS}/{created['id']}", headers=auth).json()
    assert listed["previousSecretExpiresAt"] == body["previousSecretExpiresAt"]
    assert "secret" not in listed
    post_link(http, auth)
    at = FakeClock(clock())  # the worker's time (which secrets sign is its decision)
    worker = worker_for(sessions, at)
    drain(worker, lambda: len(hook.accepted) == 1)
    during = hook.accepted[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2  # v1,<new> v1,<old>
    assert Webhook(new).verify(during.body, during.headers) == during.json
    assert Webhook(old).verify(during.body, during.headers) == during.json
    at.advance(24 * 3600 + 1)  # the overlap is over
    post_link(http, auth)
    drain(worker, lambda: len(hook.accepted) == 2)
    after = hook.accepted[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, after.headers)


# --- every attempt recorded; retries like Stripe's; retry and replay on demand --------------------


def test_default_retries_back_off_for_three_days_recording_every_attempt(
    tmp_path: Path,
    http: httpx.Client,
    auth: dict[str, str],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    config = replace(WorkerConfig.from_settings(make_settings(tmp_path, database_url)), batch=5)
    assert (config.retry_initial, config.retry_max, config.retry_window) == (30, 6 * 3600, 259200)
    at = FakeClock()
    with running_receiver(fail_first=10**6) as (url, hook):
        created = queue_one(http, auth, url)
        at.now = queued_at(database_url)
        worker = worker_for(sessions, at, replace(config, concurrency=1))
        row, delays = retry_until_final(worker, at, database_url)
        assert row.status == "FAILED"
        assert worker.run_once() == 0
        assert 27 <= delays[0] <= 33 and 54 <= delays[1] <= 66 and 108 <= delays[2] <= 132
        assert max(delays) <= 6 * 3600 * 1.1
        assert row.last_attempt_at is not None
        assert timedelta(days=2.5) < row.last_attempt_at - row.created_at <= timedelta(days=3)
        detail = http.get(f"{HOOKS}/{created['id']}/deliveries/{row.id}", headers=auth).json()
        log = detail["attemptsLog"]
        assert len(log) == row.attempts == len(hook.received) == len(delays) + 1
        assert [a["attempt"] for a in log] == list(range(1, row.attempts + 1))
        assert {(a["statusCode"], a["ok"], a["response"]) for a in log} == {(500, False, "boom")}
        assert all(a["durationMs"] >= 0 for a in log)
        # Asked again after giving up: a fresh schedule (30 s first, another 3 days).
        retry = http.post(f"{HOOKS}/{created['id']}/deliveries/{row.id}/retry", headers=auth)
        assert retry.status_code == 202, retry.text
        at.now = clock()  # the API's time: the retry's schedule starts there
        assert worker.run_once() == 1
        (row,) = deliveries(database_url)
        assert row.status == "PENDING" and row.attempts == len(log) + 1
        assert 27 <= (row.next_attempt_at - at()).total_seconds() <= 33


def test_retry_sends_a_delivery_again_with_the_same_webhook_id(
    http: httpx.Client,
    auth: dict[str, str],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    gives_up = replace(FAST, retry_window=0.01)  # FAILED after one failed attempt
    with running_receiver(fail_first=2) as (url, hook):
        created = queue_one(http, auth, url)
        secret = str(created["secret"])
        worker = worker_for(sessions, ahead(clock), gives_up)
        assert worker.run_once() == 1
        (row,) = deliveries(database_url)
        assert (row.status, row.attempts) == ("FAILED", 1)
        one = f"{HOOKS}/{created['id']}/deliveries/{row.id}"
        # owner only; a delivery of another endpoint (even one's own) is not there
        assert http.post(f"{one}/retry").status_code == 401
        stranger = sign_in(http, Keypair.random())
        assert http.post(f"{one}/retry", headers=stranger).status_code == 404
        assert http.get(one, headers=stranger).status_code == 404
        missing = http.post(f"{HOOKS}/{created['id']}/deliveries/999999/retry", headers=auth)
        assert missing.status_code == 404 and "999999" in missing.json()["error"]["message"]
        mine = register(http, auth, "https://elsewhere.example.com/")
        elsewhere = f"{HOOKS}/{mine['id']}/deliveries/{row.id}/retry"
        assert http.post(elsewhere, headers=auth).status_code == 404
        bad = http.post(f"{HOOKS}/{created['id']}/deliveries/abc/retry", headers=auth)
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "delivery_id"
        for _ in range(2):  # fails again (FAILED again), then succeeds
            response = http.post(f"{one}/retry", headers=auth)
            assert response.status_code == 202, response.text
            assert response.json()["status"] == "PENDING" and response.json()["id"] == row.id
            assert response.json()["requeuedAt"] == clock().isoformat().replace("+00:00", "Z")
            assert worker.run_once() == 1
    detail = http.get(one, headers=auth).json()
    assert (detail["status"], detail["attempts"], detail["lastStatusCode"]) == ("DELIVERED", 3, 200)
    assert [(a["attempt"], a["statusCode"], a["ok"]) for a in detail["attemptsLog"]] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert {r.event_id for r in hook.received} == {row.event_id}  # receivers deduplicate on it
    for delivery in hook.received:
        assert verified(secret, delivery.body, delivery.headers)
    assert [r.headers["stellarstream-delivery-attempt"] for r in hook.received] == ["1", "2", "3"]


def test_replay_since_queues_deliveries_again_with_their_event_ids(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    url, hook = receiver
    created = register(http, auth, url)
    stranger = sign_in(http, Keypair.random())  # (now: a token's iat must not be ahead of time)
    start = clock()
    post_link(http, auth)
    clock.advance(60)
    since = clock()
    for _ in range(2):
        post_link(http, auth)
    worker = worker_for(sessions, clock)
    drain(worker, lambda: len(hook.accepted) == 3)
    early, *late = [d.event_id for d in deliveries(database_url)]  # by id: creation order
    assert sorted(r.event_id for r in hook.accepted) == sorted([early, *late])
    replay = f"{HOOKS}/{created['id']}/replay"
    response = http.post(replay, json={"since": since.isoformat()}, headers=auth)
    assert response.status_code == 202, response.text
    assert response.json() == {"requeued": 2}
    drain(worker, lambda: len(hook.accepted) == 5)
    again = [r.event_id for r in hook.accepted[3:]]
    assert sorted(again) == sorted(late)  # the same webhook-id: receivers deduplicate
    for delivery in hook.accepted:
        assert verified(str(created["secret"]), delivery.body, delivery.headers)
    assert sorted((d.status, d.attempts) for d in deliveries(database_url)) == [
        ("DELIVERED", 1),
        ("DELIVERED", 2),
        ("DELIVERED", 2),
    ]
    window = {"since": start.isoformat(), "until": since.isoformat()}
    assert http.post(replay, json=window, headers=auth).json() == {"requeued": 1}
    # bad input names the problem
    future = (clock() + timedelta(hours=1)).isoformat()
    for body, field, words in [
        ({}, "since", "required"),
        ({"since": "yesterday"}, "since", "datetime"),
        ({"since": "2026-12-01T00:00:00"}, "since", "time zone"),
        ({"since": future}, "since", "future"),
        ({"since": since.isoformat(), "until": start.isoformat()}, "until", "after since"),
        ({"since": since.isoformat(), "status": "FAILED"}, "status", ""),
    ]:
        bad = http.post(replay, json=body, headers=auth)
        assert bad.status_code == 422, (body, bad.text)
        error = bad.json()["error"]
        assert error["field"] == field and words in error["message"].lower(), error
    # owner only
    assert http.post(replay, json={"since": since.isoformat()}).status_code == 401
    assert http.post(replay, json={"since": since.isoformat()}, headers=stranger).status_code == 404
    assert http.post(f"{HOOKS}/nope/replay", json=window, headers=auth).status_code == 404


def test_a_secret_the_key_cannot_decrypt_is_not_sent_and_says_why(
    http: httpx.Client,
    auth: dict[str, str],
    receiver: tuple[str, Receiver],
    sessions: object,
    database_url: str,
    clock: FakeClock,
) -> None:
    """A worker given another STELLARSTREAM_SECRETS_KEY cannot sign: it sends nothing."""
    url, hook = receiver
    queue_one(http, auth, url)
    wrong = WebhookWorker(sessions, FAST, SecretBox(new_key()), clock=ahead(clock))  # type: ignore[arg-type]
    assert wrong.run_once() == 1
    (row,) = deliveries(database_url)
    assert row.status == "PENDING" and row.last_status_code is None
    assert row.last_response is not None and "cannot be decrypted" in row.last_response
    assert hook.received == []


def test_invoice_events_name_the_token_as_its_contract_does(
    http: httpx.Client,
    auth: dict[str, str],
    database_url: str,
    receiver: tuple[str, Receiver],
    clock: FakeClock,
) -> None:
    register(http, auth, receiver[0], event_types=["invoice.created"])
    body = invoice_body()
    first = http.post(LINKS, json=body, headers=auth)
    assert first.status_code == 201, first.text
    engine = make_engine(database_url)
    with make_sessionmaker(engine).begin() as session:  # what the chain said, once read
        session.add(
            TokenMetadata(
                contract_id=body["tokenAddress"],
                is_token=True,
                symbol="EURC",
                name="Euro Coin",
                decimals=6,
                checked_at=clock(),
            )
        )
    engine.dispose()
    assert http.post(LINKS, json=body, headers=auth).status_code == 201
    infos = [
        json.loads(d.body)["data"]["invoiceLink"]["tokenInfo"] for d in deliveries(database_url)
    ]
    address = body["tokenAddress"]
    assert infos == [
        {"address": address, "symbol": None, "name": None, "decimals": None},
        {"address": address, "symbol": "EURC", "name": "Euro Coin", "decimals": 6},
    ]
