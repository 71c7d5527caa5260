"""The hosted invoice page and the payer's API when this server cannot take payments (no
contract or no RPC configured), and the details of a paid link (on both databases)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair
from structlog.testing import capture_logs
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link, ingest, payment
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.config import load_settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.service import InvoiceService

ISSUER = ce.account(1)
PAYER = Keypair.random().public_key
PAYER_MESSAGE = "this invoice cannot be paid online yet: contact the issuer"


@pytest.fixture(params=["no-contract", "no-rpc"])
def unconfigured(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, clock: FakeClock
) -> Iterator[tuple[httpx.Client, str]]:
    """The API of a server without a payment contract, or with one but without an RPC."""
    extra = {} if request.param == "no-contract" else {"contract_ids": ce.V2_CONTRACT}
    settings = load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://pay.example.test",
        network="testnet",
        rpc_url="none",
        **extra,
    )
    with serve(create_app(settings, clock=clock)) as url, httpx.Client(base_url=url) as http:
        yield http, request.param


def test_an_unconfigured_server_tells_the_payer_to_contact_the_issuer(
    unconfigured: tuple[httpx.Client, str], database_url: str, clock: FakeClock
) -> None:
    http, case = unconfigured
    link = create_link(database_url, clock, ISSUER)
    missing = (
        "STELLARSTREAM_INVOICE_CONTRACT_ID" if case == "no-contract" else "STELLARSTREAM_RPC_URL"
    )

    # The API: a precise code, a payer's sentence; the log names the setting.
    with capture_logs() as logs:
        response = http.post(
            f"/api/v1/invoice-links/{link.slug}/transaction", json={"payer": PAYER}
        )
        submitted = http.post(
            f"/api/v1/invoice-links/{link.slug}/submitted", json={"txHash": "ab" * 32}
        )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "payments_not_configured"
    assert response.json()["error"]["message"] == PAYER_MESSAGE
    assert submitted.status_code == 503, submitted.text
    assert submitted.json()["error"]["code"] == "payments_not_configured"
    warnings = [e for e in logs if e["event"] == "payments_not_configured"]
    assert warnings and all(missing in e["missing"] for e in warnings), logs

    # The page: no way to pay that cannot work, no operator's message.
    for query in ("", f"?payer={PAYER}"):
        page = http.get(f"/invoice/{link.slug}{query}")
        assert page.status_code == 200
        assert 'id="not-payable-online"' in page.text
        assert "This invoice cannot be paid online yet" in page.text
        assert "Contact the issuer" in page.text
        assert 'id="pay-with-wallet"' not in page.text and 'id="pay-form"' not in page.text
        assert "STELLARSTREAM_" not in page.text and "not configured" not in page.text
        assert "rpc_unavailable" not in page.text


@pytest.fixture
def paid_by_issuer(database_url: str, clock: FakeClock) -> str:
    link = create_link(database_url, clock, ISSUER)
    engine = make_engine(database_url)
    try:
        service = InvoiceService(make_sessionmaker(engine), clock)
        service.update_status(link.id, ISSUER, InvoiceStatus.COMPLETED)
    finally:
        engine.dispose()
    return link.slug


def test_a_link_marked_paid_by_the_issuer_names_no_transaction(
    client: httpx.Client, paid_by_issuer: str
) -> None:
    page = client.get(f"/invoice/{paid_by_issuer}").text
    assert 'id="completed"' in page
    assert "Marked as paid by the issuer" in page
    assert "None" not in page  # was "Transaction None"
    assert 'id="tx-hash"' not in page
    assert "Ends (if paid now)" not in page and 'id="end"' not in page


def test_a_link_paid_on_chain_shows_its_transaction_and_the_streams_end(
    client: httpx.Client, database_url: str, clock: FakeClock
) -> None:
    link = create_link(database_url, clock, ISSUER)
    ingest(database_url, payment(link, stream_id=7, tx=77))
    page = client.get(f"/invoice/{link.slug}").text
    assert 'id="completed"' in page
    assert f'<code id="tx-hash">{ce.tx_hash_for(77)}</code>' in page
    assert "Ends (if paid now)" not in page
    assert "<dt>Ends</dt>" in page and "about " not in page


def test_a_payable_link_shows_its_estimated_end(
    client: httpx.Client, database_url: str, clock: FakeClock
) -> None:
    link = create_link(database_url, clock, ISSUER)
    page = client.get(f"/invoice/{link.slug}").text
    assert "Ends (if paid now)" in page


@pytest.mark.parametrize(
    ("status", "section"), [(InvoiceStatus.CANCELED, "canceled"), (InvoiceStatus.SIGNED, "waiting")]
)
def test_a_signed_or_canceled_link_has_no_if_paid_now_end_date(
    client: httpx.Client,
    database_url: str,
    clock: FakeClock,
    status: InvoiceStatus,
    section: str,
) -> None:
    link = create_link(database_url, clock, ISSUER)
    engine = make_engine(database_url)
    try:
        service = InvoiceService(make_sessionmaker(engine), clock)
        tx_hash = "cd" * 32 if status is InvoiceStatus.SIGNED else None
        service.update_status(link.id, ISSUER, status, tx_hash=tx_hash)
    finally:
        engine.dispose()
    page = client.get(f"/invoice/{link.slug}").text
    assert f'id="{section}"' in page and "Ends (if paid now)" not in page
