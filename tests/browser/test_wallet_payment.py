"""Paying an invoice link from a browser wallet, in headless Chromium, on both databases.

The real page and the real Stellar Wallets Kit bundle talk to a test wallet that answers
``@stellar/freighter-api``'s window messages as Freighter's content script does
(``freighter_wallet.js``) and signs with a test keypair in Python. The server prepares, checks
and sends the transaction to a fake Soroban RPC whose in-memory contract emits the real
``create_v2`` event; the real indexer ingests it from that RPC and the page turns "Paid".
Each state is screenshotted at phone width (and the review at desktop width).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from stellar_sdk import Keypair, Network

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from tests.browser.conftest import Console
from tests.browser.wallet import index, install_wallet
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link
from tests.support.payer_flow import make_settings
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, running_soroban_rpc
from tests.support.stellar_rpc import Chain

ISSUER = Keypair.from_raw_ed25519_seed(bytes([61]) * 32).public_key
PAYER = Keypair.from_raw_ed25519_seed(bytes([62]) * 32)
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def node() -> Iterator[tuple[str, FakeSorobanRpc]]:
    with running_soroban_rpc(Chain(latest_ledger=100), accounts={PAYER.public_key: 4000}) as x:
        yield x


@pytest.fixture
def site_settings(tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        node[0],
        invoice_submit_wait_seconds=3,
        invoice_poll_seconds=0.2,
        invoice_follow_seconds=5,
    )


@pytest.fixture
def site(site_settings: Settings, clock: FakeClock) -> Iterator[str]:
    with serve(create_app(site_settings, clock=clock)) as url:
        yield url


def new_link(database_url: str, clock: FakeClock, **overrides: Any) -> InvoiceLink:
    fields: dict[str, Any] = {"expires_at": clock() + timedelta(days=2)}
    fields.update(overrides)
    return create_link(database_url, clock, ISSUER, **fields)


def stored(database_url: str, link: InvoiceLink) -> InvoiceLink:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            fresh = session.get(InvoiceLink, link.id)
            assert fresh is not None
            return fresh
    finally:
        engine.dispose()


def sends(node: FakeSorobanRpc) -> int:
    return sum(1 for method, _ in node.calls if method == "sendTransaction")


def choose_freighter(page: Any) -> None:
    page.click("#pay-with-wallet")
    page.wait_for_selector("#wallet-picker:not([hidden])")
    page.click("button[data-wallet=freighter]")


def phone_fits(page: Any) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


# --- the scenarios -----------------------------------------------------------------------------


def test_pay_with_wallet_then_signed_then_paid_from_the_indexed_event(
    page: Any,
    browser: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
) -> None:
    url, rpc = node
    link = new_link(database_url, clock)
    install_wallet(page, PAYER)
    response = page.goto(f"{site}/invoice/{link.slug}")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    script = page.locator("script[src^='/static/pay.js']")
    assert (script.get_attribute("integrity") or "").startswith("sha384-")
    assert page.is_visible("#pay-with-wallet")
    shot(page, "1-draft")

    choose_freighter(page)
    page.wait_for_selector("#wallet-review:not([hidden])")
    review = page.inner_text("#wallet-review")
    for words in (
        "1,000",
        "10000000000 base units",
        link.receiver,
        ce.TOKEN,
        link.slug,
        "Testnet",
        "30 days",
        PAYER.public_key,
        "stroops",
        "create_stream",
    ):
        assert words in review, words
    assert sends(rpc) == 0  # nothing is sent before the payer signs
    phone_fits(page)
    shot(page, "2-review")

    page.click("#sign")
    page.wait_for_selector("#waiting, #wallet-error:not([hidden])", timeout=20_000)
    failed = page.locator("#wallet-error:not([hidden])")
    assert failed.count() == 0, page.inner_text("#wallet-error")
    assert page.inner_text("#status") == "Submitted: waiting for the chain"
    sent = rpc.submitted[-1]
    assert page.inner_text("#tx-hash") == sent.hash_hex()
    assert sends(rpc) == 1
    fresh = stored(database_url, link)
    assert (fresh.status, fresh.tx_hash) == ("SIGNED", sent.hash_hex())
    phone_fits(page)
    shot(page, "3-submitted")

    index(database_url, url)  # the create_v2 event, from the test RPC's chain
    page.wait_for_selector("#completed", timeout=15_000)
    assert page.inner_text("#status") == "Paid"
    assert page.inner_text("#paid") == "Paid: stream #0"
    fresh = stored(database_url, link)
    assert (fresh.status, fresh.completed_by, fresh.stream_id) == ("COMPLETED", "chain", 0)
    phone_fits(page)
    shot(page, "4-paid")


def test_the_review_at_desktop_width(
    browser: Any, site: str, database_url: str, clock: FakeClock, shot: Any, console: Console
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    page.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))
    try:
        link = new_link(database_url, clock)
        install_wallet(page, PAYER)
        page.goto(f"{site}/invoice/{link.slug}")
        choose_freighter(page)
        page.wait_for_selector("#wallet-review:not([hidden])")
        shot(page, "review-desktop")
        page.click("#review-cancel")
        assert page.is_visible("#pay-with-wallet") and not page.is_visible("#wallet-review")
    finally:
        context.close()
    assert console.unexpected() == []


def test_a_rejection_in_the_wallet_leaves_the_link_payable(
    page: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
) -> None:
    link = new_link(database_url, clock)
    install_wallet(page, PAYER)
    page.goto(f"{site}/invoice/{link.slug}")
    page.evaluate("window.__testWallet.rejectSign = true")
    choose_freighter(page)
    page.click("#sign")
    page.wait_for_selector("#wallet-error:not([hidden])")
    message = page.inner_text("#wallet-error")
    assert "You declined the request in Freighter" in message and "still payable" in message
    assert page.is_enabled("#pay-with-wallet")
    assert sends(node[1]) == 0 and stored(database_url, link).status == "DRAFT"
    shot(page, "rejected")


def test_a_wallet_on_another_network_is_told_before_anything_is_signed(
    page: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
) -> None:
    link = new_link(database_url, clock)
    install_wallet(page, PAYER, passphrase=Network.PUBLIC_NETWORK_PASSPHRASE)
    page.goto(f"{site}/invoice/{link.slug}")
    choose_freighter(page)
    page.wait_for_selector("#wallet-error:not([hidden])")
    message = page.inner_text("#wallet-error")
    assert "Freighter is set to Mainnet" in message and "paid on Testnet" in message
    assert "SUBMIT_TRANSACTION" not in page.evaluate("window.__testWallet.requests")
    assert sends(node[1]) == 0 and stored(database_url, link).status == "DRAFT"
    shot(page, "wrong-network")


def test_a_link_that_expires_while_open_says_so_and_sends_nothing(
    page: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
    console: Console,
) -> None:
    console.allow(r"status of 409")  # Chromium logs the server's 409 answer itself
    link = new_link(database_url, clock, expires_at=clock() + timedelta(minutes=10))
    install_wallet(page, PAYER)
    page.goto(f"{site}/invoice/{link.slug}")
    clock.advance(601)
    choose_freighter(page)
    page.wait_for_selector("#wallet-error:not([hidden])")
    assert "expired while this page was open" in page.inner_text("#wallet-error")
    shot(page, "expired-message")
    page.wait_for_selector("#expired", timeout=15_000)  # then the page shows what it is now
    assert page.inner_text("#status") == "Expired" and page.locator("#wallet-pay").count() == 0
    assert sends(node[1]) == 0
    shot(page, "expired")


def test_a_send_failure_is_explained_and_the_link_can_be_paid_again(
    page: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
) -> None:
    _url, rpc = node
    link = new_link(database_url, clock)
    install_wallet(page, PAYER)
    page.goto(f"{site}/invoice/{link.slug}")
    rpc.send_statuses.append("ERROR")  # the recorded txBAD_SEQ answer
    choose_freighter(page)
    page.click("#sign")
    page.wait_for_selector("#wallet-error:not([hidden])", timeout=20_000)
    message = page.inner_text("#wallet-error")
    assert "The network did not accept the payment" in message and "txBAD_SEQ" in message
    fresh = stored(database_url, link)
    assert fresh.status == "DRAFT" and fresh.failed_tx_hash == rpc.submitted[-1].hash_hex()
    shot(page, "send-failed")
    # Paying again works: a fresh transaction, accepted this time.
    choose_freighter(page)
    page.click("#sign")
    page.wait_for_selector("#waiting", timeout=20_000)
    assert stored(database_url, link).status == "SIGNED" and sends(rpc) == 2


def test_a_wallet_that_is_not_installed_is_named(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    link = new_link(database_url, clock)
    page.goto(f"{site}/invoice/{link.slug}")  # no test wallet in this browser
    page.click("#pay-with-wallet")
    page.wait_for_selector("#wallet-picker:not([hidden])")
    freighter = page.locator("button[data-wallet=freighter]")
    assert "not installed" in freighter.inner_text()
    names = page.locator("#wallet-list .wallet-name").all_inner_texts()
    for wallet in ("Freighter", "xBull", "Albedo", "LOBSTR", "Hana", "Rabet"):
        assert any(wallet.lower() in name.lower() for name in names), (wallet, names)
    shot(page, "picker")
    freighter.click()
    page.wait_for_selector("#wallet-error:not([hidden])")
    assert "Freighter is not installed in this browser" in page.inner_text("#wallet-error")
    shot(page, "not-installed")


BALANCE_ERROR = (
    "host invocation failed\n\nCaused by:\n    HostError: Error(Contract, #10)\n    \n"
    "    Event log (newest first):\n"
    "       0: [Diagnostic Event] topics:[error, Error(Contract, #10)],"
    ' data:["balance is not sufficient to spend", 5, 10000000000]\n'
)


@pytest.mark.parametrize(
    ("trouble", "words"),
    [
        ("rpc-down", "RPC) is unreachable right now, so nothing was sent"),
        ("low-balance", "balance of this token is too low"),
    ],
)
def test_an_rpc_outage_or_a_low_balance_is_a_sentence_and_nothing_is_sent(
    page: Any,
    site: str,
    database_url: str,
    clock: FakeClock,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
    console: Console,
    trouble: str,
    words: str,
) -> None:
    console.allow(r"status of (503|422)")  # Chromium logs the server's answer itself
    _url, rpc = node
    link = new_link(database_url, clock)
    install_wallet(page, PAYER)
    page.goto(f"{site}/invoice/{link.slug}")
    if trouble == "rpc-down":
        rpc.faults.push("503", times=20)
    else:
        rpc.simulation_errors.append(BALANCE_ERROR)
    choose_freighter(page)
    page.wait_for_selector("#wallet-error:not([hidden])", timeout=20_000)
    assert words in page.inner_text("#wallet-error")
    assert page.is_enabled("#pay-with-wallet")
    assert sends(rpc) == 0 and stored(database_url, link).status == "DRAFT"
    shot(page, trouble)


def test_walletconnect_is_offered_when_a_project_id_is_set(
    browser: Any,
    site_settings: Settings,
    clock: FakeClock,
    database_url: str,
    shot: Any,
) -> None:
    """Its bundle loads under the CSP (no violation); the relay itself is out of reach here."""
    settings = site_settings.model_copy(update={"walletconnect_project_id": "0123abcd" * 4})
    link = new_link(database_url, clock)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    with serve(create_app(settings, clock=clock)) as url:
        try:
            page.goto(f"{url}/invoice/{link.slug}")
            assert page.locator("script[src^='/static/pay-walletconnect.js']").count() == 1
            page.click("#pay-with-wallet")
            page.wait_for_selector("#wallet-picker:not([hidden])")
            names = page.locator("#wallet-list .wallet-name").all_inner_texts()
            assert "WalletConnect" in names and "Freighter" in names
            page.wait_for_timeout(1000)
            shot(page, "walletconnect-picker")
        finally:
            context.close()  # before the server stops: a poll in flight would find it gone
    # No network here: WalletConnect's own requests fail to resolve, and nothing else may fail.
    unexpected = [e for e in errors if "ERR_NAME_NOT_RESOLVED" not in e]
    assert unexpected == [], unexpected
    assert not any("Content Security Policy" in e for e in errors)
