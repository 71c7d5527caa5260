"""The payer's side over HTTP on both databases: transaction requests against the local RPC,
SEP-7 signatures checked with stellar-sdk, stellar.toml and SEP-10, "submitted"."""

from __future__ import annotations

import base64
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Address, Keypair, MuxedAccount, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.exceptions import BadSignatureError
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.sep.stellar_uri import TransactionStellarUri
from tests.support import contract_events as ce
from tests.support.auth import sign_challenge
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link, ingest, payment
from tests.support.payer_flow import (
    ISSUER,
    PAYER,
    SEQUENCE,
    URL,
    make_settings,
    pay,
    request_tx,
    signed,
)
from tests.support.server import serve
from tests.support.soroban_rpc import MIN_RESOURCE_FEE, FakeSorobanRpc, SorobanState, wallet_pays

from nebula_sdk.lib.invocations import STREAM_ARGS_KEYS
from stellarstream.api.app import create_app
from stellarstream.config import Settings, load_settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.service import InvoiceService


def args_of(envelope: TransactionEnvelope) -> dict[str, x.SCVal]:
    operation = envelope.transaction.operations[0]
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None
    (struct,) = invoke.args
    assert struct.type == x.SCValType.SCV_MAP and struct.map is not None
    keys = [entry.key.sym.sc_symbol.decode() for entry in struct.map.sc_map]  # type: ignore[union-attr]
    assert keys == sorted(keys)  # a contracttype struct: Symbol keys sorted by name
    return {k: entry.val for k, entry in zip(keys, struct.map.sc_map, strict=True)}


# --- the transaction request ---------------------------------------------------------------


def test_transaction_xdr_is_the_exact_create_stream_call_with_memo_slug(
    http: httpx.Client,
    link: InvoiceLink,
    clock: FakeClock,
    pay_settings: Settings,
    rpc: tuple[str, FakeSorobanRpc],
) -> None:
    response = request_tx(http, link.slug)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"xdr", "sep7Uri", "networkPassphrase", "expiresAt"}
    assert body["networkPassphrase"] == pay_settings.network_passphrase
    envelope = TransactionEnvelope.from_xdr(body["xdr"], body["networkPassphrase"])
    tx = envelope.transaction
    start = int(clock().timestamp()) + 1 + pay_settings.invoice_start_margin_seconds
    # The payer's account at its next sequence number, valid until the stream starts.
    assert tx.source.account_id == PAYER.public_key
    assert tx.sequence == SEQUENCE + 1
    assert tx.preconditions is not None and tx.preconditions.time_bounds is not None
    assert tx.preconditions.time_bounds.max_time == start
    assert datetime.fromisoformat(body["expiresAt"]) == datetime.fromtimestamp(start, UTC)
    assert envelope.signatures == []
    assert body["txHash"] == envelope.hash_hex()
    # One invocation: create_stream(StreamArgs) on the V2 contract.
    (operation,) = tx.operations
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None
    assert Address.from_xdr_sc_address(invoke.contract_address).address == ce.V2_CONTRACT
    assert invoke.function_name.sc_symbol == b"create_stream"
    args = args_of(envelope)
    assert tuple(args) == STREAM_ARGS_KEYS  # every StreamArgs key, nothing else
    T = x.SCValType
    expected: dict[str, x.SCVal] = {
        "sender": scval.to_address(PAYER.public_key),
        "receiver": scval.to_address(link.receiver),
        "token": scval.to_address(link.token_address),
        "total_amount": scval.to_int128(link.amount),
        "start_time": scval.to_uint64(start),
        "cliff_time": scval.to_uint64(start),
        "end_time": scval.to_uint64(start + link.duration),
        "step_duration": scval.to_int128(0),
        "multiplier_bps": scval.to_int128(0),
        "penalty_bps": scval.to_uint32(0),
        "vault_address": scval.to_void(),
        "yield_enabled": scval.to_bool(False),
        "is_recurrent": scval.to_bool(False),
        "cycle_duration": scval.to_uint64(0),
        "cancellation_type": scval.to_uint32(0),
        "affiliate": scval.to_void(),
        "memo": scval.to_symbol(link.slug),
        "yield_recipient": scval.to_uint32(0),
        "split_bps": scval.to_uint32(0),
        "curve_type": scval.to_uint32(0),
        "split_address": scval.to_void(),
    }
    assert args == expected
    assert args["memo"].type == T.SCV_SYMBOL and scval.from_symbol(args["memo"]) == link.slug
    assert args["vault_address"].type == T.SCV_VOID
    # Prepared: the simulation's footprint, resource fee and source-account auth are applied.
    _url, node = rpc
    (simulated,) = node.simulated
    assert simulated.transaction.soroban_data is None  # we simulated the bare call
    assert tx.soroban_data is not None and len(tx.soroban_data.resources.footprint.read_write) == 3
    assert tx.fee == 100 + MIN_RESOURCE_FEE
    (auth,) = operation.auth
    assert auth.credentials.type == x.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
    assert auth.root_invocation.function.contract_fn == invoke
    assert [m for m, _ in node.calls] == ["getLedgerEntries", "simulateTransaction"]


def test_a_muxed_receiver_is_paid_at_its_base_account(
    http: httpx.Client, database_url: str, clock: FakeClock
) -> None:
    muxed = MuxedAccount(ce.account(3), 99).account_muxed
    link = create_link(database_url, clock, ISSUER.public_key, receiver=muxed)
    response = request_tx(http, link.slug)
    assert response.status_code == 200, response.text
    envelope = TransactionEnvelope.from_xdr(
        response.json()["xdr"], response.json()["networkPassphrase"]
    )
    assert scval.from_address(args_of(envelope)["receiver"]).address == ce.account(3)


def test_the_transaction_never_outlives_the_link(
    http: httpx.Client, database_url: str, clock: FakeClock
) -> None:
    expires = clock() + timedelta(seconds=90)
    link = create_link(database_url, clock, ISSUER.public_key, expires_at=expires)
    body = request_tx(http, link.slug).json()
    assert datetime.fromisoformat(body["expiresAt"]) == expires


def test_sep7_uri_is_signed_with_the_key_published_in_stellar_toml(
    http: httpx.Client, link: InvoiceLink, pay_settings: Settings
) -> None:
    body = request_tx(http, link.slug).json()
    toml = http.get("/.well-known/stellar.toml")
    assert toml.status_code == 200
    published = tomllib.loads(toml.text)["URI_REQUEST_SIGNING_KEY"]
    assert published == pay_settings.uri_signing_keypair.public_key
    uri = TransactionStellarUri.from_uri(body["sep7Uri"], pay_settings.network_passphrase)
    assert uri.transaction_envelope.to_xdr() == body["xdr"]
    assert uri.origin_domain == "pay.example.test"
    assert uri.pubkey == PAYER.public_key
    assert uri.network_passphrase == pay_settings.network_passphrase
    assert uri.signature is not None
    # stellar-sdk's own SEP-7 payload: verification with the published key succeeds ...
    Keypair.from_public_key(published).verify(
        uri._signature_payload, base64.b64decode(uri.signature)
    )
    # ... and fails for a tampered URI or another key.
    uri.msg = "Pay someone else"
    with pytest.raises(BadSignatureError):
        Keypair.from_public_key(published).verify(
            uri._signature_payload, base64.b64decode(uri.signature)
        )
    with pytest.raises(BadSignatureError):
        Keypair.random().verify(uri._signature_payload, base64.b64decode(uri.signature))


@pytest.mark.parametrize(
    "payer",
    [
        "GBADADDRESS",
        PAYER.secret,
        MuxedAccount(PAYER.public_key, 1).account_muxed,
        ce.V2_CONTRACT,
        "",
    ],
)
def test_a_bad_payer_is_422_naming_the_field(
    http: httpx.Client, link: InvoiceLink, payer: str
) -> None:
    response = request_tx(http, link.slug, payer)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "payer"


def test_an_unfunded_payer_is_422(http: httpx.Client, link: InvoiceLink) -> None:
    response = request_tx(http, link.slug, Keypair.random().public_key)
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("account_not_found", "payer")
    assert "fund it" in error["message"]


def test_unknown_slug_is_404(http: httpx.Client) -> None:
    response = request_tx(http, "doesnotexist0000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("final", ["COMPLETED", "CANCELED", "EXPIRED"])
def test_only_draft_and_signed_links_are_payable(
    http: httpx.Client, database_url: str, clock: FakeClock, final: str
) -> None:
    link = create_link(
        database_url, clock, ISSUER.public_key, expires_at=clock() + timedelta(hours=1)
    )
    engine = make_engine(database_url)
    service = InvoiceService(make_sessionmaker(engine), clock)
    if final == "EXPIRED":
        clock.advance(3601)
    else:
        service.update_status(link.id, ISSUER.public_key, InvoiceStatus(final))
    engine.dispose()
    response = request_tx(http, link.slug)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["status"] == final and error["code"] == "conflict" and final in error["message"]


def test_a_signed_link_is_still_payable(http: httpx.Client, link: InvoiceLink) -> None:
    paid = pay(http, link.slug)
    assert paid["invoiceLink"]["status"] == "SIGNED"
    assert request_tx(http, link.slug).status_code == 200


def test_a_failed_simulation_is_502(
    http: httpx.Client, link: InvoiceLink, state: SorobanState
) -> None:
    state.simulation_error = "Error(Contract, #7)"
    response = request_tx(http, link.slug)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "simulation_failed" and "would fail" in error["message"]


def test_an_rpc_error_answer_is_502(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    rpc[1].faults.push("rpc_error", code=-32602, message="invalid parameters")
    response = request_tx(http, link.slug)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "rpc_error"


def test_an_unreachable_rpc_is_503(
    tmp_path: Path, database_url: str, clock: FakeClock, link: InvoiceLink
) -> None:
    settings = make_settings(tmp_path, database_url, "http://127.0.0.1:9/", rpc_timeout_seconds=1)
    with serve(create_app(settings, clock=clock)) as url:
        response = httpx.post(
            f"{url}{URL}/{link.slug}/transaction", json={"payer": PAYER.public_key}
        )
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "rpc_unavailable" and "unavailable" in error["message"]


def test_an_rpc_failing_with_5xx_is_503_after_brief_retries(
    http: httpx.Client, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    rpc[1].faults.push("503", times=3)
    response = request_tx(http, link.slug)
    assert response.status_code == 503
    assert rpc[1].requests["getLedgerEntries"] == 3  # the first try and 2 retries


def test_without_a_contract_payments_are_503(
    tmp_path: Path, database_url: str, clock: FakeClock, link: InvoiceLink
) -> None:
    settings = load_settings(
        _env_file=None, var_dir=tmp_path / "var", database_url=database_url, rpc_url="none"
    )
    with serve(create_app(settings, clock=clock)) as url:
        response = httpx.post(
            f"{url}{URL}/{link.slug}/transaction", json={"payer": PAYER.public_key}
        )
    assert response.status_code == 503
    # The payer's words; the operator's (which setting) are in the log: test_hosted_page_details.
    assert response.json()["error"]["code"] == "payments_not_configured"
    assert "contact the issuer" in response.json()["error"]["message"]


# --- submitted ------------------------------------------------------------------------------


def test_submitted_moves_draft_to_signed_and_is_idempotent_per_hash(
    http: httpx.Client, link: InvoiceLink, clock: FakeClock, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    landed = wallet_pays(rpc[0], signed(http, link.slug).to_xdr())  # the wallet sent it itself
    assert landed["status"] == "SUCCESS"
    tx_hash = landed["txHash"]
    first = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": tx_hash})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "CONFIRMED"
    signed_link = first.json()["invoiceLink"]
    assert (signed_link["status"], signed_link["txHash"]) == ("SIGNED", tx_hash)
    assert signed_link["signedAt"] is not None
    clock.advance(5)
    again = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": tx_hash.upper()})
    assert again.status_code == 200 and again.json() == first.json()  # unchanged: a retry
    other = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": "1" * 64})
    assert other.status_code == 409
    assert other.json()["error"]["status"] == "SIGNED"
    assert http.get(f"{URL}/{link.slug}").json()["status"] == "SIGNED"


@pytest.mark.parametrize("tx_hash", ["", "xyz", "a" * 63, "a" * 65, 7])
def test_submitted_needs_a_transaction_hash(
    http: httpx.Client, link: InvoiceLink, tx_hash: object
) -> None:
    response = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": tx_hash})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "txHash"


def test_submitted_for_an_unknown_slug_is_404(http: httpx.Client) -> None:
    response = http.post(f"{URL}/doesnotexist0000000000/submitted", json={"txHash": "a" * 64})
    assert response.status_code == 404


def test_submitted_cannot_revive_a_canceled_link(
    http: httpx.Client, database_url: str, link: InvoiceLink, clock: FakeClock
) -> None:
    engine = make_engine(database_url)
    InvoiceService(make_sessionmaker(engine), clock).update_status(
        link.id, ISSUER.public_key, InvoiceStatus.CANCELED
    )
    engine.dispose()
    response = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": "a" * 64})
    assert response.status_code == 409
    assert response.json()["error"]["status"] == "CANCELED"


def test_completion_comes_from_the_chain_and_a_late_report_of_its_hash_is_fine(
    http: httpx.Client, database_url: str, link: InvoiceLink, rpc: tuple[str, FakeSorobanRpc]
) -> None:
    landed = wallet_pays(rpc[0], signed(http, link.slug).to_xdr())
    tx_hash = landed["txHash"]
    # The indexer sees the payment's create_v2 before the wallet reports its hash.
    ingest(database_url, replace(payment(link, stream_id=7), tx_hash=tx_hash))
    completed = http.get(f"{URL}/{link.slug}").json()
    assert (completed["status"], completed["streamId"]) == ("COMPLETED", 7)
    assert (completed["txHash"], completed["completedBy"]) == (tx_hash, "chain")
    late = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": tx_hash})
    assert late.status_code == 200 and late.json()["status"] == "CONFIRMED"
    assert late.json()["invoiceLink"] == completed
    wrong = http.post(f"{URL}/{link.slug}/submitted", json={"txHash": "f" * 64})
    assert wrong.status_code == 409 and wrong.json()["error"]["status"] == "COMPLETED"


# --- stellar.toml and SEP-10 ------------------------------------------------------------------


def test_stellar_toml_publishes_the_keys_with_cors(
    http: httpx.Client, pay_settings: Settings
) -> None:
    response = http.get("/.well-known/stellar.toml", headers={"Origin": "https://wallet.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"].startswith("text/plain")
    toml = tomllib.loads(response.text)
    assert toml == {
        "NETWORK_PASSPHRASE": pay_settings.network_passphrase,
        "WEB_AUTH_ENDPOINT": "http://pay.example.test/api/v1/auth",
        "SIGNING_KEY": pay_settings.signing_keypair.public_key,
        "URI_REQUEST_SIGNING_KEY": pay_settings.uri_signing_keypair.public_key,
    }
    assert toml["SIGNING_KEY"] != toml["URI_REQUEST_SIGNING_KEY"]


@pytest.mark.parametrize("form", [False, True])
def test_web_auth_endpoint_speaks_sep10(http: httpx.Client, form: bool) -> None:
    wallet = Keypair.random()
    challenge = http.get("/api/v1/auth", params={"account": wallet.public_key})
    assert challenge.status_code == 200
    body = challenge.json()
    signed = sign_challenge(body["transaction"], body["network_passphrase"], wallet)
    if form:
        token = http.post("/api/v1/auth", data={"transaction": signed})
    else:
        token = http.post("/api/v1/auth", json={"transaction": signed})
    assert token.status_code == 200, token.text
    listed = http.get(URL, headers={"Authorization": f"Bearer {token.json()['token']}"})
    assert listed.status_code == 200
    unsigned = http.post("/api/v1/auth", json={"transaction": body["transaction"]})
    assert unsigned.status_code == 401


def test_the_uri_signing_key_is_generated_once_into_var(tmp_path: Path) -> None:
    first = load_settings(_env_file=None, var_dir=tmp_path / "v", database_url="sqlite://")
    second = load_settings(_env_file=None, var_dir=tmp_path / "v", database_url="sqlite://")
    assert first.uri_signing_keypair.public_key == second.uri_signing_keypair.public_key
    secret_file = tmp_path / "v" / "uri_signing_secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert secret_file.read_text().strip().startswith("S")
    configured = Keypair.random()
    set_explicitly = load_settings(
        _env_file=None,
        var_dir=tmp_path / "w",
        database_url="sqlite://",
        uri_request_signing_key=configured.secret,
    )
    assert set_explicitly.uri_signing_keypair.public_key == configured.public_key
    assert not (tmp_path / "w" / "uri_signing_secret").exists()
    with pytest.raises(ValueError, match="URI_REQUEST_SIGNING_KEY"):
        Settings(_env_file=None, uri_request_signing_key="not-a-seed")  # type: ignore[call-arg]
