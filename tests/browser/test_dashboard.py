"""The issuer dashboard (/app) in headless Chromium, on both databases, with the test wallet.

An issuer signs in with a wallet (SEP-10 through the real Wallets Kit bundle), creates a link
of more than 2^63 base units of a 7-decimal token (exact on the page and in the database),
opens the share link as a payer in another browser context, pays it with the payer's wallet,
and watches the link turn "Paid" in the list without a reload; cancels another; another
account never sees them; an expired session leads back to sign-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from stellar_sdk import Keypair

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from stellarstream.secretbox import SecretBox
from stellarstream.webhooks.worker import WebhookWorker, WorkerConfig
from tests.browser.conftest import PHONE, Console
from tests.browser.wallet import index, install_wallet
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link
from tests.support.payer_flow import make_settings
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, running_soroban_rpc
from tests.support.stellar_rpc import Chain
from tests.support.webhook_receiver import running_receiver

ISSUER = Keypair.from_raw_ed25519_seed(bytes([81]) * 32)
OTHER = Keypair.from_raw_ed25519_seed(bytes([82]) * 32)
PAYER = Keypair.from_raw_ed25519_seed(bytes([83]) * 32)
BIG_UNITS = "1234567890123.4567891"  # 7 decimals
BIG_BASE = 12345678901234567891  # > 2**63
assert BIG_BASE > 2**63


@pytest.fixture
def node() -> Iterator[tuple[str, FakeSorobanRpc]]:
    with running_soroban_rpc(Chain(latest_ledger=100), accounts={PAYER.public_key: 10}) as x:
        yield x


@pytest.fixture
def site_settings(tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]) -> Settings:
    return make_settings(
        tmp_path,
        database_url,
        node[0],
        token_decimals=f"{ce.TOKEN}:7",
        invoice_submit_wait_seconds=3,
        invoice_poll_seconds=0.2,
        invoice_follow_seconds=5,
        webhooks_allow_http_localhost=True,
    )


@pytest.fixture
def site(site_settings: Settings, clock: FakeClock) -> Iterator[str]:
    with serve(create_app(site_settings, clock=clock)) as url:
        yield url


def sign_in(page: Any, site: str, keypair: Keypair) -> None:
    install_wallet(page, keypair)
    page.goto(f"{site}/app")
    page.click("#signin-button")
    page.click("#signin-wallets button[data-wallet=freighter]")
    page.wait_for_selector("#workspace:not([hidden])", timeout=15_000)
    assert page.inner_text("#account") == keypair.public_key


def create(page: Any, amount: str, description: str) -> str:
    before = page.input_value("#share-url")  # a link created earlier still shows its URL
    page.select_option("#f-token", ce.TOKEN)
    page.fill("#f-amount", amount)
    page.fill("#f-description", description)
    page.click("#create-button")
    page.wait_for_function(
        "old => !document.getElementById('created').hidden"
        " && document.getElementById('share-url').value !== old",
        arg=before,
    )
    share = page.input_value("#share-url")
    return share.rsplit("/", 1)[-1]


def row(page: Any, slug: str) -> Any:
    return page.locator(f"#links-list li[data-slug='{slug}']")


def stored(database_url: str, slug: str) -> InvoiceLink:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == slug))
            assert link is not None
            return link
    finally:
        engine.dispose()


def test_sign_in_create_share_pay_and_watch_it_complete(
    page: Any,
    browser: Any,
    site: str,
    database_url: str,
    node: tuple[str, FakeSorobanRpc],
    shot: Any,
    console: Console,
) -> None:
    sign_in(page, site, ISSUER)
    assert page.input_value("#f-receiver") == ISSUER.public_key  # defaults to the signed-in account
    shot(page, "1-signed-in")

    # A bad amount is explained next to the field, nothing is created.
    page.select_option("#f-token", ce.TOKEN)
    page.fill("#f-amount", "1.123456789")
    page.click("#create-button")
    assert "at most 7 digits" in page.inner_text("#e-amount")
    assert page.get_attribute("#f-amount", "aria-invalid") == "true"

    slug = create(page, BIG_UNITS, "Retainer, December")
    link = stored(database_url, slug)
    assert link.amount == BIG_BASE and link.sender == ISSUER.public_key
    assert page.input_value("#share-url") == f"http://pay.example.test/invoice/{slug}"
    qr = page.locator("#share-qr")
    qr.wait_for()
    assert page.evaluate("document.getElementById('share-qr').naturalWidth") > 0
    page.wait_for_selector(f"#links-list li[data-slug='{slug}']")
    assert "1,234,567,890,123.4567891" in row(page, slug).inner_text()
    row(page, slug).locator("button", has_text="Details").click()
    assert f"{BIG_BASE} base units" in row(page, slug).inner_text()
    shot(page, "2-created")

    # The payer opens the share link in their own browser and pays with their wallet.
    payer_context = browser.new_context(viewport=PHONE, is_mobile=True)
    payer = payer_context.new_page()
    try:
        install_wallet(payer, PAYER)
        payer.goto(f"{site}/invoice/{slug}")
        assert "1,234,567,890,123.4567891" in payer.inner_text("#amount")
        payer.click("#pay-with-wallet")
        payer.click("button[data-wallet=freighter]")
        payer.wait_for_selector("#wallet-review:not([hidden])")
        assert f"{BIG_BASE} base units" in payer.inner_text("#wallet-review")
        payer.click("#sign")
        payer.wait_for_selector("#waiting", timeout=20_000)
    finally:
        payer_context.close()
    page.wait_for_selector(f"#links-list li[data-slug='{slug}'][data-status='SIGNED']")
    index(database_url, node[0])
    page.wait_for_selector(
        f"#links-list li[data-slug='{slug}'][data-status='COMPLETED']", timeout=15_000
    )
    assert "Paid" in row(page, slug).inner_text()
    page.wait_for_function(  # the details show the payment: its payer and what has streamed
        "s => document.querySelector(`#links-list li[data-slug='${s}']`).innerText"
        ".includes('Streamed so far')",
        arg=slug,
    )
    assert PAYER.public_key in row(page, slug).inner_text()
    assert stored(database_url, slug).completed_by == "chain"
    # ... and its stream, received by the issuer, under "My streams" (the server's figures).
    page.wait_for_selector("#streams-list li[data-stream]", timeout=15_000)
    stream = page.locator("#streams-list li[data-stream]").first
    text = stream.inner_text()
    assert f"From {PAYER.public_key}" in text and "1,234,567,890,123.4567891" in text
    api = page.evaluate(
        "async id => (await (await fetch('/api/v1/streams/' + id)).json())",
        stream.get_attribute("data-stream"),
    )
    assert api["totalAmount"] == str(BIG_BASE) and api["memo"] == slug
    csv = page.get_attribute("#csv-export", "href")
    assert csv == f"/api/v1/streams/export.csv?address={ISSUER.public_key}"
    assert page.evaluate("async u => (await fetch(u)).status", csv) == 200
    shot(page, "3-paid")

    # Cancel another link: two clicks (the second confirms).
    other = create(page, "25", "To cancel")
    page.wait_for_selector(f"#links-list li[data-slug='{other}'] button[data-action=cancel]")
    row(page, other).locator("button[data-action=cancel]").click()
    row(page, other).locator("button[data-action=cancel]", has_text="Confirm").click()
    page.wait_for_selector(f"#links-list li[data-slug='{other}'][data-status='CANCELED']")
    assert stored(database_url, other).status == "CANCELED"
    page.select_option("#links-status", "CANCELED")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#links-list li')].every(li => "
        "li.dataset.status === 'CANCELED') && document.querySelectorAll('#links-list li').length"
        " === 1"
    )
    shot(page, "4-canceled")


def test_another_account_sees_none_of_them_and_an_expired_session_signs_out(
    page: Any, browser: Any, site: str, database_url: str, shot: Any, console: Console
) -> None:
    console.allow(r"status of 401")  # the expired token's answer, logged by Chromium
    sign_in(page, site, ISSUER)
    slug = create(page, "10", "Mine only")
    page.wait_for_selector(f"#links-list li[data-slug='{slug}']")

    context = browser.new_context(viewport=PHONE, is_mobile=True)
    other = context.new_page()
    try:
        sign_in(other, site, OTHER)
        other.wait_for_timeout(500)
        assert other.locator("#links-list li").count() == 0
        assert other.is_visible("#links-empty")
    finally:
        context.close()

    # The session's token is no longer valid: the next call signs out and says why.
    page.evaluate(
        "(() => { const s = JSON.parse(sessionStorage.getItem('stellarstream.session'));"
        " s.token = 'expired.token.value'; sessionStorage.setItem('stellarstream.session',"
        " JSON.stringify(s)); })()"
    )
    page.reload()
    page.wait_for_selector("#signin:not([hidden])", timeout=15_000)
    assert "session has expired" in page.inner_text("#signin-error")
    assert page.is_hidden("#workspace")
    shot(page, "expired-session")


def test_add_a_webhook_see_its_secret_once_and_its_delivery(
    page: Any, site: str, site_settings: Settings, database_url: str, clock: FakeClock, shot: Any
) -> None:
    sign_in(page, site, ISSUER)
    with running_receiver() as (hook, receiver):
        page.fill("#w-url", hook)
        page.fill("#w-description", "Accounting")
        page.click("#webhook-add")
        page.wait_for_selector("#webhook-secret:not([hidden])")
        secret = page.input_value("#webhook-secret-value")
        assert len(secret) >= 16
        page.wait_for_selector("#webhooks-list li[data-webhook]")
        assert hook in page.inner_text("#webhooks-list")
        # A status change of a link queues an event; the worker delivers it.
        slug = create(page, "5", "Canceled at once")
        page.wait_for_selector(f"#links-list li[data-slug='{slug}'] button[data-action=cancel]")
        row(page, slug).locator("button[data-action=cancel]").click()
        row(page, slug).locator("button[data-action=cancel]", has_text="Confirm").click()
        page.wait_for_selector(f"#links-list li[data-slug='{slug}'][data-status='CANCELED']")
        engine = make_engine(database_url)
        worker = WebhookWorker(
            make_sessionmaker(engine),
            WorkerConfig.from_settings(site_settings),
            SecretBox(site_settings.secrets_key_value),
            clock=clock,
        )
        try:
            for _ in range(100):
                if receiver.received:
                    break
                worker.run_once()
        finally:
            worker.close()
            engine.dispose()
        assert receiver.received, "the webhook was not delivered"
        page.click("#webhooks-list li[data-webhook] button:has-text('Deliveries')")
        page.wait_for_selector(".deliveries li[data-status=DELIVERED]")
        text = page.inner_text(".deliveries")
        assert "invoice.canceled: DELIVERED after 1 attempt, last answer HTTP 200" in text
        delivery = receiver.received[0]
        Webhook(secret).verify(delivery.body, delivery.headers)  # the secret shown signs
        shot(page, "webhooks")
        # A new secret: shown once, the previous one still signing for 24 h.
        page.click("#webhooks-list li[data-webhook] button[data-action=rotate-secret]")
        page.click("#webhooks-list li[data-webhook] button:has-text('Confirm: new secret')")
        page.wait_for_function(
            "old => document.querySelector('#webhook-secret-value').value !== old", arg=secret
        )
        rotated = page.input_value("#webhook-secret-value")
        assert rotated.startswith("whsec_") and rotated != secret
        assert "the previous one also signs until" in page.inner_text("#webhook-secret-note")
        page.click("#webhooks-list li[data-webhook] button[data-action=delete-webhook]")
        page.click("#webhooks-list li[data-webhook] button:has-text('Confirm')")
        page.wait_for_function("() => !document.querySelector('#webhooks-list li[data-webhook]')")
    page.reload()  # the secret was shown once: after a reload it is nowhere on the page
    page.wait_for_selector("#workspace:not([hidden])")
    assert page.is_hidden("#webhook-secret") and secret not in page.content()


AXE = (Path(__file__).parent / "axe.js").read_text()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on ``page`` (evaluated over CDP: the page's
    CSP, which would refuse an injected script, does not apply to it)."""
    page.evaluate(AXE)
    results = page.evaluate("async () => await window.axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [390, 1280])
def test_the_pages_have_no_serious_accessibility_violations(
    browser: Any, site: str, database_url: str, clock: FakeClock, shot: Any, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        # The dashboard, signed out and signed in with a link and its details open.
        page.goto(f"{site}/app")
        assert serious_violations(page) == []
        sign_in(page, site, ISSUER)
        slug = create(page, "12.5", "Accessibility check")
        page.wait_for_selector(f"#links-list li[data-slug='{slug}']")
        row(page, slug).locator("button", has_text="Details").click()
        assert serious_violations(page) == []
        shot(page, f"dashboard-{width}")
        # The payer's page, with the wallet picker open.
        page.goto(f"{site}/invoice/{slug}")
        page.click("#pay-with-wallet")
        page.wait_for_selector("#wallet-picker:not([hidden])")
        assert serious_violations(page) == []
        shot(page, f"invoice-{width}")
        # Keyboard: the first wallet took the focus; Tab reaches the next one.
        assert page.evaluate("document.activeElement.classList.contains('wallet')")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('wallet')")
    finally:
        context.close()


def test_custom_duration_copy_and_paging(
    page: Any, site: str, database_url: str, clock: FakeClock, shot: Any
) -> None:
    for n in range(11):  # more than a page of the list (10)
        create_link(database_url, clock, ISSUER.public_key, description=f"Older {n}")
    sign_in(page, site, ISSUER)
    page.wait_for_selector("#links-more:not([hidden])")
    assert page.locator("#links-list li").count() == 10
    page.click("#links-more")
    page.wait_for_function("() => document.querySelectorAll('#links-list li').length === 11")
    assert page.is_hidden("#links-more")
    # Delete a DRAFT (two clicks): gone from the list and from the database.
    oldest = page.locator("#links-list li").last
    gone = oldest.get_attribute("data-slug")
    oldest.locator("button[data-action=delete]").click()
    oldest.locator("button[data-action=delete]", has_text="Confirm").click()
    page.wait_for_function(
        "s => !document.querySelector(`#links-list li[data-slug='${s}']`)", arg=gone
    )
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(InvoiceLink).where(InvoiceLink.slug == gone)) is None
    finally:
        engine.dispose()

    page.select_option("#f-duration", "custom")
    page.fill("#f-duration-value", "2")
    page.select_option("#f-duration-unit", "3600")
    slug = create(page, "3", "Two hours")
    assert stored(database_url, slug).duration == 7200
    page.click("#copy-share")
    page.wait_for_function("() => document.getElementById('copy-status').textContent !== ''")
    status = page.inner_text("#copy-status")
    assert status == "Copied." or "to copy the selected link" in status
    # Keyboard: Tab moves from the copy button to the payer's page link.
    page.focus("#copy-share")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "open-share"
    shot(page, "custom-duration")
