"""The hosted invoice page in headless Chromium on a phone-sized screen, on both databases.

Every state renders its own view; the QR code, decoded from a screenshot with zbarimg, is the
signed SEP-7 URI (or, when that is too large for a QR code, the wallet link that redirects to
it); a status change made by ingestion appears without a reload; no console errors."""

from __future__ import annotations

import base64
import http.client
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from stellar_sdk import Keypair, TransactionEnvelope, scval
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from stellarstream.api.app import create_app
from stellarstream.api.pages.invoice import QR_URI_MAX_CHARS
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.service import InvoiceService
from tests.browser.conftest import Console
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.invoice_flow import CONTRACT, create_link, ingest, payment
from tests.support.payer_flow import make_settings
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, SorobanState, running_soroban_rpc, wallet_pays

ISSUER = Keypair.from_raw_ed25519_seed(bytes([51]) * 32).public_key
PAYER = Keypair.from_raw_ed25519_seed(bytes([52]) * 32)
MARK = "window.__stillTheSamePage"


@pytest.fixture
def state() -> SorobanState:
    return SorobanState(
        contracts={CONTRACT},
        accounts={PAYER.public_key: 1000},
        compact=True,
        tokens={ce.TOKEN: ("USDC", "USD Coin", 7)},  # what the token contract says of itself
    )


@pytest.fixture
def rpc(state: SorobanState) -> Iterator[tuple[str, FakeSorobanRpc]]:
    with running_soroban_rpc(state=state) as served:
        yield served


@pytest.fixture
def site_settings(tmp_path: Path, database_url: str, rpc: tuple[str, FakeSorobanRpc]) -> Settings:
    return make_settings(tmp_path, database_url, rpc[0])


@pytest.fixture
def site(site_settings: Settings, clock: FakeClock) -> Iterator[str]:
    with serve(create_app(site_settings, clock=clock)) as url:
        yield url


def new_link(database_url: str, clock: FakeClock, **overrides: Any) -> InvoiceLink:
    fields: dict[str, Any] = {
        "pdf_url": "https://files.example.com/invoice-2026-03.pdf",
        "expires_at": clock() + timedelta(days=2, hours=3),
    }
    fields.update(overrides)
    return create_link(database_url, clock, ISSUER, **fields)


def set_status(database_url: str, clock: FakeClock, link: InvoiceLink, status: str) -> None:
    engine = make_engine(database_url)
    try:
        InvoiceService(make_sessionmaker(engine), clock).update_status(
            link.id, ISSUER, InvoiceStatus(status)
        )
    finally:
        engine.dispose()


def open_page(page: Any, site: str, link_or_slug: InvoiceLink | str) -> Any:
    slug = link_or_slug if isinstance(link_or_slug, str) else link_or_slug.slug
    response = page.goto(f"{site}/invoice/{slug}", wait_until="load")
    page.evaluate(f"{MARK} = true")  # gone if the page reloads
    return response


def still_the_same_page(page: Any) -> bool:
    return bool(page.evaluate(f"{MARK} === true"))


def fits_the_phone(page: Any) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"


def decode_qr(page: Any, path: Path) -> str:
    """Screenshot the QR code and decode it with zbarimg (a real decoder, not segno)."""
    page.locator("#qr").screenshot(path=str(path), caret="initial")
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, f"zbarimg could not decode {path}: {result.stderr}"
    return result.stdout.rstrip("\n")


def check_sep7(uri: str, settings: Settings, slug: str) -> None:
    """A SEP-7 tx URI signed with our URI_REQUEST_SIGNING_KEY for create_stream(memo=slug)."""
    parsed = TransactionStellarUri.from_uri(uri, settings.network_passphrase)
    assert parsed.signature is not None
    Keypair.from_public_key(settings.uri_signing_keypair.public_key).verify(
        parsed._signature_payload, base64.b64decode(parsed.signature)
    )
    envelope = parsed.transaction_envelope
    assert isinstance(envelope, TransactionEnvelope)
    (operation,) = envelope.transaction.operations
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None and invoke.function_name.sc_symbol == b"create_stream"
    fields = {e.key.sym.sc_symbol.decode(): e.val for e in invoke.args[0].map.sc_map}  # type: ignore[union-attr]
    assert scval.from_symbol(fields["memo"]) == slug
    assert scval.from_address(fields["sender"]).address == PAYER.public_key


def create_request(page: Any) -> None:
    page.fill("#payer", PAYER.public_key)
    with page.expect_navigation(wait_until="load"):
        page.click("#create-request")
    page.evaluate(f"{MARK} = true")


# --- the states --------------------------------------------------------------------------------


def test_draft_shows_the_invoice_and_the_pay_form(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    link = new_link(database_url, clock)
    response = open_page(page, site, link)
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'none'" in csp
    assert page.title().startswith("Invoice: 1,000 ")
    assert page.inner_text("#status") == "Awaiting payment"
    assert page.inner_text("#amount") == "1,000 USDC"  # the symbol, read from the contract
    assert page.inner_text("#token-name") == "USD Coin"
    assert page.inner_text("#amount-base") == "10000000000"
    assert page.inner_text("#issuer") == ISSUER
    assert page.inner_text("#receiver") == link.receiver
    assert page.inner_text("#token") == ce.TOKEN
    assert page.inner_text("#duration") == "30 days"
    assert page.inner_text("#end").startswith("about ")
    assert page.inner_text("#rate") == "33.3333333 USDC per day"  # 1,000 / 30, 7 decimals
    assert page.inner_text("#description") == "Design retainer, March"
    assert page.get_attribute("#pdf", "href") == "https://files.example.com/invoice-2026-03.pdf"
    # The countdown runs (the bundle loads and executes under the CSP).
    first = page.inner_text("#countdown")
    assert first in ("(2 days 03:00:00 left)", "(2 days 02:59:59 left)")
    page.wait_for_function("t => document.getElementById('countdown').textContent !== t", arg=first)
    assert page.is_visible("#pay-form") and page.is_visible("#payer")
    assert page.locator("#qr").count() == 0 and page.locator("#completed").count() == 0
    fits_the_phone(page)
    shot(page, "draft")


def test_paying_shows_a_qr_of_the_short_wallet_link(
    page: Any,
    site: str,
    site_settings: Settings,
    rpc: tuple[str, FakeSorobanRpc],
    database_url: str,
    clock: FakeClock,
    shot: Any,
) -> None:
    link = new_link(database_url, clock)
    open_page(page, site, link)
    create_request(page)
    # The signed request is 2.8 KB: too dense for a phone camera (bench/qr.py), so the QR is
    # the short wallet link, which answers with a fresh signed request.
    assert page.get_attribute("#qr", "data-kind") == "link"
    sep7 = page.get_attribute("#open-wallet", "href")
    assert sep7 is not None and sep7.startswith("web+stellar:tx?xdr=")
    assert len(sep7) > QR_URI_MAX_CHARS
    assert decode_qr(page, shot.path("qr-code")) == (
        f"http://pay.example.test/invoice/{link.slug}/wallet?payer={PAYER.public_key}"
    )
    check_sep7(sep7, site_settings, link.slug)
    fits_the_phone(page)
    shot(page, "qr")
    # "I have signed and submitted it" before the network knows it: nothing changes.
    page.click("#mark-submitted")
    page.wait_for_selector("#submit-error:not([hidden])")
    assert "does not show this transaction yet" in page.inner_text("#submit-error")
    assert page.inner_text("#status") == "Awaiting payment"
    # The phone wallet signs and sends it; now the report is checked on chain: SIGNED, waiting
    # for the chain, without a reload.
    envelope = TransactionStellarUri.from_uri(sep7, site_settings.network_passphrase)
    signed = envelope.transaction_envelope
    assert isinstance(signed, TransactionEnvelope)
    signed.sign(PAYER)
    assert wallet_pays(rpc[0], signed.to_xdr())["status"] == "SUCCESS"
    page.click("#mark-submitted")
    page.wait_for_selector("#waiting")
    assert page.inner_text("#status") == "Submitted: waiting for the chain"
    assert page.inner_text("#tx-hash") == signed.hash_hex()
    assert page.locator("#open-wallet").count() == 0
    assert not page.is_visible("#pay-form")  # folded away under "The transaction failed?"
    assert still_the_same_page(page)
    fits_the_phone(page)
    shot(page, "signed")


def test_a_request_too_large_for_a_qr_code_uses_the_wallet_link(
    page: Any,
    site: str,
    site_settings: Settings,
    state: SorobanState,
    database_url: str,
    clock: FakeClock,
    shot: Any,
) -> None:
    state.compact = False  # a realistic footprint and auth: about 2.4 KB of XDR
    link = new_link(database_url, clock)
    open_page(page, site, link)
    create_request(page)
    assert page.get_attribute("#qr", "data-kind") == "link"
    sep7 = page.get_attribute("#open-wallet", "href")
    assert sep7 is not None
    check_sep7(sep7, site_settings, link.slug)  # the button still holds the full request
    decoded = decode_qr(page, shot.path("qr-code"))
    assert decoded == (
        f"http://pay.example.test/invoice/{link.slug}/wallet?payer={PAYER.public_key}"
    )
    parts = urlsplit(decoded)
    # httpx cannot even represent a web+stellar: Location; http.client just reports it.
    server = urlsplit(site)
    connection = http.client.HTTPConnection(server.hostname or "", server.port, timeout=15)
    connection.request("GET", f"{parts.path}?{parts.query}")
    redirect = connection.getresponse()
    assert redirect.status == 303
    check_sep7(redirect.getheader("Location") or "", site_settings, link.slug)
    connection.close()
    shot(page, "wallet-link")


def test_completion_by_ingestion_appears_without_a_reload(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    link = new_link(database_url, clock)
    open_page(page, site, link)
    assert page.inner_text("#status") == "Awaiting payment"
    ingest(database_url, payment(link, stream_id=42, tx=4242, ledger=30))
    page.wait_for_selector("#completed", timeout=15_000)
    assert still_the_same_page(page)
    assert page.inner_text("#status") == "Paid"
    assert page.inner_text("#stream-id") == f"{CONTRACT}-42"
    assert page.inner_text("#tx-hash") == ce.tx_hash_for(4242)
    href = page.get_attribute("#stream-link", "href")
    assert href == f"/api/v1/streams/{CONTRACT}-42"
    stream = httpx.get(f"{site}{href}")
    assert stream.status_code == 200 and stream.json()["memo"] == link.slug
    assert page.locator("#pay").count() == 0 and page.locator("#countdown").count() == 0
    assert not page.inner_text("#end").startswith("about")  # the stream's real end
    fits_the_phone(page)
    shot(page, "completed")


def test_a_cancel_while_the_page_is_open_removes_the_pay_action(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    link = new_link(database_url, clock)
    open_page(page, site, link)
    set_status(database_url, clock, link, "CANCELED")
    page.wait_for_selector("#canceled", timeout=15_000)
    assert still_the_same_page(page)
    assert page.inner_text("#status") == "Canceled"
    for selector in ("#pay", "#pay-form", "#payer", "#open-wallet", "#qr", "#mark-submitted"):
        assert page.locator(selector).count() == 0, selector
    # ... and a fresh load says the same.
    open_page(page, site, link)
    assert page.inner_text("#status") == "Canceled" and page.locator("#pay").count() == 0
    fits_the_phone(page)
    shot(page, "canceled")


def test_an_expired_link_has_no_pay_action(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    link = new_link(database_url, clock, expires_at=clock() + timedelta(minutes=5))
    clock.advance(301)
    response = open_page(page, site, link)
    assert response.status == 200
    assert page.inner_text("#status") == "Expired"
    assert page.is_visible("#expired")
    for selector in ("#pay", "#pay-form", "#open-wallet", "#qr", "#countdown"):
        assert page.locator(selector).count() == 0, selector
    # Asking for a transaction anyway (a stale tab) answers 409 with the status.
    api = httpx.post(
        f"{site}/api/v1/invoice-links/{link.slug}/transaction", json={"payer": PAYER.public_key}
    )
    assert api.status_code == 409 and api.json()["error"]["status"] == "EXPIRED"
    fits_the_phone(page)
    shot(page, "expired")


def test_an_unknown_slug_gets_a_friendly_404(
    page: Any, site: str, console: Console, shot: Any
) -> None:
    console.allow(r"status of 404")  # Chromium logs the 404 of the document itself
    response = open_page(page, site, "doesnotexist0000000000")
    assert response.status == 404
    assert page.inner_text("h1") == "Invoice not found"
    assert "Check the link" in page.inner_text("#not-found")
    assert "content-security-policy" in response.headers
    fits_the_phone(page)
    shot(page, "not-found")


def test_user_supplied_text_is_escaped(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> & "quotes"'
    link = new_link(database_url, clock, description=hostile)
    open_page(page, site, link)
    assert page.inner_text("#description") == hostile
    assert page.locator("#description script, #description img").count() == 0
    shot(page, "escaped")


def test_a_bad_payer_is_explained_in_the_form(
    page: Any, site: str, database_url: str, clock: FakeClock
) -> None:
    link = new_link(database_url, clock)
    page.goto(f"{site}/invoice/{link.slug}?payer={Keypair.random().public_key}")
    assert "does not exist on the network" in page.inner_text("#pay-error")
    assert page.locator("#qr").count() == 0 and page.is_visible("#pay-form")
