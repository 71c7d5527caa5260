"""A payer's transaction over HTTP on both databases, checked before any status moves:
``POST .../submit`` (the signed envelope must be the one prepared for the link, signed by its
payer; only then is it sent to the local RPC), ``POST .../submitted`` (a wallet that sent it
itself: SIGNED only once the RPC shows it paying the link), who completed a link, and the
simulation failures a payer can fix."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Address, Keypair, Network, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.operation import BumpSequence, InvokeHostFunction
from tests.support import contract_events as ce
from tests.support.auth import sign_in
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link, ingest, payment
from tests.support.payer_flow import (
    ISSUER,
    PAYER,
    SEQUENCE,
    URL,
    make_settings,
    pay,
    prepared,
    request_tx,
    signed,
    submit,
)
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, SorobanState, rpc_call, wallet_pays

from stellarstream.api.app import create_app
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink, WebhookDelivery
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.service import InvoiceService


def read(http: httpx.Client, slug: str) -> dict[str, Any]:
    response = http.get(f"{URL}/{slug}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_unchanged(http: httpx.Client, slug: str) -> None:
    """The link is as created: DRAFT, no transaction, no failure recorded."""
    link = read(http, slug)
    assert (link["status"], link["txHash"], link["signedAt"]) == ("DRAFT", None, None)
    assert link["lastFailure"] is None and link["completedBy"] is None


def sends(node: FakeSorobanRpc) -> int:
    return node.requests["sendTransaction"]


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not become true in time"
        time.sleep(0.05)


@pytest.fixture
def other(database_url: str, clock: FakeClock) -> InvoiceLink:
    """A second link of the same issuer, on the same terms (but its own slug)."""
    return create_link(database_url, clock, ISSUER.public_key)


@pytest.fixture
def app_with(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> Iterator[Callable[..., httpx.Client]]:
    """Another API on the same database, with other settings (``rpc_url`` and extras)."""
    with ExitStack() as stack:

        def start(rpc_url: str, **extra: object) -> httpx.Client:
            settings = make_settings(tmp_path, database_url, rpc_url, **extra)
            url = stack.enter_context(serve(create_app(settings, clock=clock)))
            return stack.enter_context(httpx.Client(base_url=url, timeout=15))

        yield start


def invoke_of(envelope: TransactionEnvelope) -> x.InvokeContractArgs:
    operation = envelope.transaction.operations[0]
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None
    return invoke


def copy_of(envelope: TransactionEnvelope) -> TransactionEnvelope:
    return TransactionEnvelope.from_xdr(envelope.to_xdr(), envelope.network_passphrase)


def with_arg(envelope: TransactionEnvelope, key: str, value: x.SCVal) -> TransactionEnvelope:
    """``envelope`` with the StreamArgs field ``key`` rebuilt as ``value``."""
    changed = copy_of(envelope)
    (struct,) = invoke_of(changed).args
    assert struct.map is not None
    (entry,) = [e for e in struct.map.sc_map if e.key.sym.sc_symbol.decode() == key]  # type: ignore[union-attr]
    entry.val = value
    return changed


def signed_by(keypair: Keypair) -> Callable[[TransactionEnvelope], str]:
    def sign(envelope: TransactionEnvelope) -> str:
        envelope.sign(keypair)
        return str(envelope.to_xdr())

    return sign


by_payer = signed_by(PAYER)


def other_contract(envelope: TransactionEnvelope) -> str:
    changed = copy_of(envelope)
    invoke_of(changed).contract_address = Address(ce.TOKEN).to_xdr_sc_address()
    return by_payer(changed)


def extra_operation(envelope: TransactionEnvelope) -> str:
    changed = copy_of(envelope)
    changed.transaction.operations.append(BumpSequence(0))
    return by_payer(changed)


def other_network(envelope: TransactionEnvelope) -> str:
    elsewhere = TransactionEnvelope(envelope.transaction, Network.PUBLIC_NETWORK_PASSPHRASE)
    elsewhere.sign(PAYER)  # a wallet left on mainnet signs the public network's hash
    return str(elsewhere.to_xdr())


TAMPERED: dict[str, tuple[Callable[[TransactionEnvelope], str], str]] = {
    "amount": (
        lambda e: by_payer(with_arg(e, "total_amount", scval.to_int128(1))),
        "amount (total_amount) is 1, not 10000000000",
    ),
    "receiver": (
        lambda e: by_payer(with_arg(e, "receiver", scval.to_address(ce.account(5)))),
        f"receiver is {ce.account(5)}, not {ce.account(2)}",
    ),
    "memo": (
        lambda e: by_payer(with_arg(e, "memo", scval.to_symbol("someoneelse"))),
        "memo is 'someoneelse', not '{slug}'",
    ),
    "contract": (other_contract, f"contract is {ce.TOKEN}, not {ce.V2_CONTRACT}"),
    "extra operation": (extra_operation, "it has 2 operations, not 1"),
    "unsigned": (lambda e: str(e.to_xdr()), "has no signature"),
    "another key": (
        signed_by(Keypair.from_raw_ed25519_seed(bytes([43]) * 32)),
        f"is not signed by the paying account {PAYER.public_key}",
    ),
    "another network": (
        other_network,
        "signed for the public network (mainnet), but this invoice is on testnet",
    ),
}


# --- POST .../submit ---------------------------------------------------------------------------


def signed_deliveries(sessions: sessionmaker[Session], event_type: str) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_type == event_type)
            .order_by(WebhookDelivery.id)
        )
        return [json.loads(row.body) for row in rows]


@pytest.fixture
def hook(http: httpx.Client) -> None:
    """A webhook endpoint of the issuer: every status change is queued for it."""
    headers = sign_in(http, ISSUER)
    response = http.post(
        "/api/v1/webhooks", json={"url": "https://hooks.example.com/x"}, headers=headers
    )
    assert response.status_code == 201, response.text


def test_a_signed_prepared_transaction_is_sent_once_and_the_link_is_signed(
    http: httpx.Client,
    link: InvoiceLink,
    rpc: tuple[str, FakeSorobanRpc],
    state: SorobanState,
    sessions: sessionmaker[Session],
    hook: None,
) -> None:
    _url, node = rpc
    envelope = signed(http, link.slug)
    response = submit(http, link.slug, envelope)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["txHash"] == envelope.hash_hex()
    assert body["status"] in ("SUCCESS", "PENDING") and body["reason"] is None
    paid = body["invoiceLink"]
    assert (paid["status"], paid["txHash"]) == ("SIGNED", envelope.hash_hex())
    assert paid["signedAt"] is not None and paid["lastFailure"] is None
    assert sends(node) == 1
    (sent,) = node.submitted
    assert sent.to_xdr() == envelope.to_xdr()  # exactly what the payer signed
    assert state.accounts[PAYER.public_key] == SEQUENCE + 1  # it was applied
    assert read(http, link.slug) == paid
    # The same envelope again: 200, the same link, no second state change or webhook.
    again = submit(http, link.slug, envelope)
    assert again.status_code == 200, again.text
    assert again.json()["txHash"] == envelope.hash_hex()
    assert again.json()["status"] in ("SUCCESS", "PENDING")
    assert again.json()["invoiceLink"] == paid
    assert list(node.transactions) == [envelope.hash_hex()]  # the RPC answered DUPLICATE
    assert state.accounts[PAYER.public_key] == SEQUENCE + 1
    (webhook,) = signed_deliveries(sessions, "invoice.signed")
    assert webhook["data"]["invoiceLink"]["txHash"] == envelope.hash_hex()


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_changed_envelope_is_422_naming_the_difference_and_nothing_is_sent(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc], case: str
) -> None:
    tamper, expected = TAMPERED[case]
    signed_xdr = tamper(prepared(http, link.slug))
    response = submit(http, link.slug, signed_xdr)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "signedXdr"
    assert expected.format(slug=link.slug) in error["message"], error["message"]
    assert sends(rpc[1]) == 0
    assert_unchanged(http, link.slug)


@pytest.mark.parametrize("signed_xdr", ["not xdr at all", "AAAA", "", "  "])
def test_what_is_not_a_transaction_envelope_is_422(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc], signed_xdr: str
) -> None:
    response = submit(http, link.slug, signed_xdr)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "signedXdr"
    assert sends(rpc[1]) == 0
    assert_unchanged(http, link.slug)


def test_a_transaction_prepared_for_another_link_is_422(
    http: httpx.Client, link: InvoiceLink, other: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    for_other = signed(http, other.slug)
    response = submit(http, link.slug, for_other)
    assert response.status_code == 422
    assert (
        "no transaction was prepared for this invoice link" in response.json()["error"]["message"]
    )
    prepared(http, link.slug)  # now one was, for the same payer: the message names the memo
    response = submit(http, link.slug, for_other)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert f"memo is {other.slug!r}, not {link.slug!r}" in message
    assert sends(rpc[1]) == 0
    assert_unchanged(http, link.slug)
    assert_unchanged(http, other.slug)


def test_a_refused_transaction_is_failed_and_the_link_stays_payable(
    http: httpx.Client,
    link: InvoiceLink,
    state: SorobanState,
    rpc: tuple[str, FakeSorobanRpc],
    clock: FakeClock,
) -> None:
    envelope = signed(http, link.slug)
    state.accounts[PAYER.public_key] += 1  # another transaction was sent from the account
    response = submit(http, link.slug, envelope)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["txHash"]) == ("FAILED", envelope.hash_hex())
    assert "txBAD_SEQ" in body["reason"] and "request a new one" in body["reason"]
    failed = body["invoiceLink"]
    assert (failed["status"], failed["txHash"]) == ("DRAFT", None)
    failure = failed["lastFailure"]
    assert (failure["txHash"], failure["reason"]) == (envelope.hash_hex(), body["reason"])
    assert datetime.fromisoformat(failure["at"]) == clock()
    assert read(http, link.slug) == failed
    assert sends(rpc[1]) == 1
    # Payable: a new transaction at the account's new sequence goes through.
    again = pay(http, link.slug)
    assert again["invoiceLink"]["status"] == "SIGNED" and again["txHash"] != envelope.hash_hex()


def test_a_transaction_failing_in_its_ledger_returns_the_link_to_draft(
    http: httpx.Client, link: InvoiceLink, state: SorobanState
) -> None:
    state.fail_next = True  # sent (PENDING), then getTransaction answers FAILED
    envelope = signed(http, link.slug)
    response = submit(http, link.slug, envelope)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "FAILED"
    assert "INVOKE_HOST_FUNCTION_TRAPPED" in body["reason"]
    back = read(http, link.slug)
    assert (back["status"], back["txHash"], back["signedAt"]) == ("DRAFT", None, None)
    assert back["lastFailure"]["txHash"] == envelope.hash_hex()
    assert back["lastFailure"]["reason"] == body["reason"]
    assert request_tx(http, link.slug).status_code == 200  # payable again


def test_a_pending_transaction_that_fails_later_is_noticed_in_the_background(
    link: InvoiceLink,
    state: SorobanState,
    rpc: tuple[str, FakeSorobanRpc],
    app_with: Callable[..., httpx.Client],
) -> None:
    http = app_with(rpc[0], invoice_submit_wait_seconds=0.1, invoice_follow_seconds=10)
    state.fail_next, state.pending_polls = True, 10
    envelope = signed(http, link.slug)
    response = submit(http, link.slug, envelope)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "PENDING"
    assert response.json()["invoiceLink"]["status"] == "SIGNED"
    eventually(lambda: read(http, link.slug)["status"] == "DRAFT")
    failure = read(http, link.slug)["lastFailure"]
    assert failure["txHash"] == envelope.hash_hex()
    assert "INVOKE_HOST_FUNCTION_TRAPPED" in failure["reason"]


def test_a_busy_network_is_503_and_the_link_is_unchanged(
    http: httpx.Client, link: InvoiceLink, state: SorobanState, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    state.send_statuses.append("TRY_AGAIN_LATER")
    response = submit(http, link.slug, signed(http, link.slug))
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "rpc_unavailable" and "try again later" in error["message"]
    assert sends(rpc[1]) == 1
    assert_unchanged(http, link.slug)


def test_an_unreachable_rpc_is_503_and_the_link_is_unchanged(
    http: httpx.Client, link: InvoiceLink, app_with: Callable[..., httpx.Client]
) -> None:
    envelope = signed(http, link.slug)  # prepared while the RPC was there
    offline = app_with("http://127.0.0.1:9/", rpc_timeout_seconds=1)
    response = submit(offline, link.slug, envelope)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "rpc_unavailable"
    assert_unchanged(http, link.slug)


@pytest.mark.parametrize("final", ["EXPIRED", "CANCELED"])
def test_an_expired_or_canceled_link_is_409_and_nothing_is_sent(
    http: httpx.Client,
    database_url: str,
    clock: FakeClock,
    rpc: tuple[str, FakeSorobanRpc],
    final: str,
) -> None:
    link = create_link(
        database_url, clock, ISSUER.public_key, expires_at=clock() + timedelta(hours=1)
    )
    envelope = signed(http, link.slug)
    if final == "EXPIRED":
        clock.advance(3601)
    else:
        engine = make_engine(database_url)
        InvoiceService(make_sessionmaker(engine), clock).update_status(
            link.id, ISSUER.public_key, InvoiceStatus.CANCELED
        )
        engine.dispose()
    response = submit(http, link.slug, envelope)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["status"] == final and final in error["message"]
    assert sends(rpc[1]) == 0
    assert read(http, link.slug)["status"] == final


# --- POST .../submitted ------------------------------------------------------------------------


def report(http: httpx.Client, slug: str, tx_hash: str) -> httpx.Response:
    return http.post(f"{URL}/{slug}/submitted", json={"txHash": tx_hash})


def lookups(node: FakeSorobanRpc, tx_hash: str) -> int:
    return sum(1 for m, p in node.calls if m == "getTransaction" and p["hash"] == tx_hash)


def test_a_hash_the_network_does_not_know_changes_nothing(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc], pay_settings: Any
) -> None:
    tx_hash = secrets.token_hex(32)
    response = report(http, link.slug, tx_hash)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "PENDING"
    assert response.json()["invoiceLink"]["status"] == "DRAFT"
    time.sleep(pay_settings.invoice_follow_seconds + 0.5)  # the background follow ran out
    checked = lookups(rpc[1], tx_hash)
    assert checked >= 2  # the report's look-up and the follow's
    time.sleep(0.3)
    assert lookups(rpc[1], tx_hash) == checked  # ... which has ended
    assert_unchanged(http, link.slug)


def test_the_hash_of_a_landed_payment_makes_the_link_signed(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    landed = wallet_pays(rpc[0], signed(http, link.slug).to_xdr())
    response = report(http, link.slug, landed["txHash"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CONFIRMED"
    confirmed = response.json()["invoiceLink"]
    assert (confirmed["status"], confirmed["txHash"]) == ("SIGNED", landed["txHash"])
    assert read(http, link.slug) == confirmed


def test_a_landed_transaction_that_pays_another_invoice_is_422(
    http: httpx.Client, link: InvoiceLink, other: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    landed = wallet_pays(rpc[0], signed(http, other.slug).to_xdr())
    assert landed["status"] == "SUCCESS"
    response = report(http, link.slug, landed["txHash"])
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "txHash"
    assert "does not pay this invoice" in error["message"]
    assert f"memo is {other.slug!r}, not {link.slug!r}" in error["message"]
    assert_unchanged(http, link.slug)


def test_a_transaction_that_failed_on_chain_is_422(
    http: httpx.Client, link: InvoiceLink, state: SorobanState, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    state.fail_next = True
    landed = wallet_pays(rpc[0], signed(http, link.slug).to_xdr())
    assert landed["status"] == "FAILED"
    response = report(http, link.slug, landed["txHash"])
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "failed on chain" in message and "INVOKE_HOST_FUNCTION_TRAPPED" in message
    assert_unchanged(http, link.slug)


def test_a_reported_hash_that_lands_later_is_followed_to_signed(
    http: httpx.Client, link: InvoiceLink, state: SorobanState, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    envelope = signed(http, link.slug)
    tx_hash = envelope.hash_hex()
    response = report(http, link.slug, tx_hash)  # reported before the wallet sends it
    assert response.status_code == 202, response.text
    assert response.json()["invoiceLink"]["status"] == "DRAFT"
    state.pending_polls = 2
    sent = rpc_call(rpc[0], "sendTransaction", {"transaction": envelope.to_xdr()})
    assert sent["status"] == "PENDING"
    eventually(lambda: read(http, link.slug)["status"] == "SIGNED", timeout=3)
    assert read(http, link.slug)["txHash"] == tx_hash


# --- who completed a link ---------------------------------------------------------------------


@pytest.mark.parametrize("by", ["chain", "issuer"])
def test_completed_by_says_whether_the_chain_or_the_issuer_completed_the_link(
    http: httpx.Client,
    link: InvoiceLink,
    database_url: str,
    sessions: sessionmaker[Session],
    hook: None,
    by: str,
) -> None:
    assert read(http, link.slug)["completedBy"] is None
    if by == "chain":
        ingest(database_url, payment(link, stream_id=5))
    else:
        response = http.patch(
            f"{URL}/{link.id}/status",
            json={"status": "COMPLETED"},
            headers=sign_in(http, ISSUER),
        )
        assert response.status_code == 200, response.text
        assert response.json()["completedBy"] == "issuer"
    completed = read(http, link.slug)
    assert (completed["status"], completed["completedBy"]) == ("COMPLETED", by)
    assert completed["streamId"] == (5 if by == "chain" else None)
    (webhook,) = signed_deliveries(sessions, "invoice.completed")
    assert webhook["data"]["invoiceLink"]["completedBy"] == by


# --- simulations a payer can fix ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            "Error(Contract, #10)\n\nEvent log (newest first):\n   0: [Diagnostic Event] "
            'topics:[error, Error(Contract, #10)], data:"balance is not sufficient to spend"',
            "insufficient_balance",
        ),
        (
            "Error(Contract, #13)\n\nEvent log (newest first):\n   0: [Diagnostic Event] "
            'topics:[error, Error(Contract, #13)], data:"trustline entry is missing for account"',
            "no_trustline",
        ),
    ],
)
def test_a_payer_who_cannot_pay_is_told_why(
    http: httpx.Client, link: InvoiceLink, state: SorobanState, error: str, code: str
) -> None:
    state.simulation_error = error
    response = request_tx(http, link.slug)
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert (body["code"], body["field"]) == (code, "payer")
    assert_unchanged(http, link.slug)
