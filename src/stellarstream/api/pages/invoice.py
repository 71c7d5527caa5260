"""``GET /invoice/{slug}``: the hosted invoice page a payer opens from the share link.

The page cannot know who will pay, and a Soroban transaction must name its source account (and
that account's sequence) before it can be simulated, prepared and signed. So a DRAFT/SIGNED page
asks for the payer's ``G...`` address in a plain GET form (``?payer=G...``, works without
JavaScript); the server then builds the same transaction request as
``POST /api/v1/invoice-links/{slug}/transaction`` and shows its signed SEP-7 URI as an "Open in
wallet" link and an inline SVG QR code (segno), with a button to report the submitted transaction.

A QR code holds at most 2,953 bytes. A prepared ``create_stream`` (21 StreamArgs entries, repeated
in its auth entry, plus the footprint) is about 2.4 KB of XDR, 3.3 KB as base64, so on a real
network its SEP-7 URI usually does not fit. The QR then encodes the short wallet link
``{PUBLIC_URL}/invoice/{slug}/wallet?payer=G...``: scanned with a phone, it opens in the browser,
which is redirected (303) to a freshly prepared, signed ``web+stellar:tx`` URI and so hands it to
the wallet registered for the scheme. When the URI fits, the QR is the SEP-7 URI itself.

With JavaScript, the page's bundle (``web/``, Stellar Wallets Kit) adds "Pay with wallet": the
payer picks a browser wallet, the server prepares the transaction for its address, the page
shows in words what will be signed, the wallet signs, and ``POST .../submit`` checks and sends
it. The page polls ``GET /api/v1/invoice-links/{slug}`` every few seconds; when the status
changes it fetches this page again and swaps its ``<main>`` (no reload). Jinja2 autoescapes
everything; the Content-Security-Policy allows scripts only from this origin (the bundle, with
its SRI hash) and styles only with this response's nonce.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import segno
import structlog
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from stellarstream.api.deps import Context
from stellarstream.api.pages import format as fmt
from stellarstream.api.pages.render import html
from stellarstream.chain.stream_ids import public_id
from stellarstream.db.models import InvoiceLink, Stream
from stellarstream.errors import NotFound, NotPayable, StellarStreamError
from stellarstream.invoices.lifecycle import OPEN, InvoiceStatus, effective_status
from stellarstream.invoices.payment import (
    PaymentRequests,
    TransactionRequest,
    payments_missing_setting,
)

log = structlog.get_logger(__name__)

router = APIRouter(tags=["pages"], include_in_schema=False)

NETWORK_NAMES = {
    "mainnet": "Mainnet",
    "testnet": "Testnet",
    "futurenet": "Futurenet",
    "custom": "a custom network",
}

STATUS_TEXT = {
    InvoiceStatus.DRAFT: "Awaiting payment",
    InvoiceStatus.SIGNED: "Submitted: waiting for the chain",
    InvoiceStatus.COMPLETED: "Paid",
    InvoiceStatus.EXPIRED: "Expired",
    InvoiceStatus.CANCELED: "Canceled",
}


QR_URI_MAX_CHARS = 600
"""The longest SEP-7 URI the page puts in its QR code itself; a longer one (every signed
``create_stream`` request: 2.8-3.6 KB) becomes a QR of the short wallet link instead, which
answers with a freshly prepared URI. Measured by ``bench/qr.py`` (docs/BENCHMARKS.md): at the
page's 22rem QR photographed as 300-400 camera pixels, every code up to 700 characters
(version 18) decoded, 800 did not always; 600 keeps a margin."""


def qr_holds_uri(uri: str) -> bool:
    """Whether the QR code is the URI itself (short enough to scan reliably)."""
    return len(uri) <= QR_URI_MAX_CHARS


def qr_svg(data: str) -> str | None:
    """The QR code of ``data`` as inline SVG, or None if it does not fit in a QR code."""
    try:
        code = segno.make(data, error="l", micro=False, boost_error=False)
    except segno.DataOverflowError:
        log.warning("qr_too_large", length=len(data))
        return None
    svg: str = code.svg_inline(
        scale=1, border=4, omitsize=True, dark="#000", light="#fff", svgclass="qr"
    )
    return svg


def _stream_of(context: Context, link: InvoiceLink) -> dict[str, Any] | None:
    if link.stream_id is None:
        return None
    with context.sessions() as session:
        stream = session.scalar(
            select(Stream).where(Stream.memo == link.slug, Stream.stream_id == link.stream_id)
        )
    contract = stream.contract_id if stream is not None else None
    if contract is None and len(context.settings.contract_ids) == 1:
        contract = context.settings.contract_ids[0]
    sid = public_id(contract, link.stream_id) if contract else str(link.stream_id)
    return {
        "id": sid,
        "number": link.stream_id,
        "url": f"/api/v1/streams/{sid}" if contract else None,
        "start": fmt.from_unix(stream.start_time) if stream is not None else None,
        "end": fmt.from_unix(stream.end_time) if stream is not None else None,
    }


def view(context: Context, link: InvoiceLink) -> dict[str, Any]:
    """Everything the template shows, formatted."""
    settings = context.settings
    now = context.clock()
    status = effective_status(link.status, link.expires_at, now)
    token = context.tokens.lookup([link.token_address])[link.token_address]
    decimals = token.decimals
    start_if_paid_now = int(now.timestamp()) + 1 + settings.invoice_start_margin_seconds
    stream = _stream_of(context, link) if status is InvoiceStatus.COMPLETED else None
    end = stream["end"] if stream and stream["end"] else None
    amount_units = fmt.token_units(link.amount, decimals)
    label = token.label
    return {
        "title": f"Invoice: {amount_units} {label} ({STATUS_TEXT[status]})",
        "link": link,
        "status": status.value,
        "status_text": STATUS_TEXT[status],
        "payable": status in OPEN,
        # No contract or RPC configured: nothing to pay with (the payer is told to ask the issuer).
        "payments_ready": payments_missing_setting(settings) is None,
        "amount_units": amount_units,
        "amount_base": str(link.amount),
        "token": link.token_address,
        "token_label": label,
        "token_name": token.name if token.name != label else None,
        "token_home_domain": token.home_domain,
        "duration_words": fmt.duration_words(link.duration),
        # The end date: the stream's own once paid; an estimate while it can still be paid now
        # (DRAFT); none otherwise (SIGNED: its start was fixed when it was signed; paid with no
        # stream indexed, e.g. marked paid by the issuer; expired; canceled).
        "end": end or fmt.from_unix(start_if_paid_now + link.duration),
        "end_is_estimate": end is None,
        "show_end": end is not None or status is InvoiceStatus.DRAFT,
        "rate_per_day": fmt.rate_per_day(link.amount, link.duration, decimals),
        "expires_in": (
            fmt.countdown(int((link.expires_at - now).total_seconds()))
            if link.expires_at is not None
            else None
        ),
        "stream": stream,
        "now": now,
        "decimals": decimals,
        "network_passphrase": settings.network_passphrase,
        "network_name": NETWORK_NAMES.get(settings.network, settings.network),
        "api_url": f"/api/v1/invoice-links/{link.slug}",
        "page_url": f"/invoice/{link.slug}",
        "fmt": fmt,
    }


@router.get("/invoice/{slug}", response_class=HTMLResponse)
def invoice_page(
    slug: str,
    context: Context,
    payer: str | None = Query(default=None, max_length=128),
    part: str | None = Query(default=None, pattern="^main$"),
) -> HTMLResponse:
    """The hosted invoice page (``?payer=G...`` adds the QR code and wallet link;
    ``?part=main`` is only its ``<main>``, what the page's script swaps in on a change)."""
    payments = PaymentRequests(context.settings, context.sessions, context.clock)
    fragment = part == "main"
    try:
        link = payments.link(slug)
    except NotFound:
        return html("not_found_main.html" if fragment else "not_found.html", 404, slug=slug[:64])
    page = view(context, link)
    if fragment:
        return html(
            "invoice_main.html",
            walletconnect_project_id=context.settings.walletconnect_project_id,
            payer=None,
            request=None,
            qr=None,
            error=None,
            **page,
        )
    request: TransactionRequest | None = None
    error: str | None = None
    payer = (payer or "").strip() or None
    if payer is not None and page["payable"]:
        try:
            request = payments.build(slug, payer)
        except NotPayable:  # it changed meanwhile: show what it is now
            page = view(context, payments.link(slug))
        except StellarStreamError as exc:
            error = exc.message
    qr, qr_is_uri = None, False
    if request is not None and payer is not None:
        qr_is_uri = qr_holds_uri(request.sep7_uri)
        qr = qr_svg(request.sep7_uri if qr_is_uri else wallet_link(context, slug, payer))
    return html(
        "invoice.html",
        walletconnect_project_id=context.settings.walletconnect_project_id,
        payer=payer,
        request=request,
        qr=qr,
        qr_is_uri=qr_is_uri,
        error=error,
        **page,
    )


@router.get("/invoice/{slug}/qr.svg")
def share_qr(slug: str, context: Context) -> Response:
    """The QR code of the link's share URL (what the dashboard shows after creating it)."""
    try:
        link = PaymentRequests(context.settings, context.sessions, context.clock).link(slug)
    except NotFound:
        return Response(status_code=404)
    buffer = io.BytesIO()
    segno.make(f"{context.settings.public_url}/invoice/{link.slug}", error="m").save(
        buffer, kind="svg", scale=4, border=4
    )
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def wallet_link(context: Context, slug: str, payer: str) -> str:
    return f"{context.settings.public_url}/invoice/{slug}/wallet?{urlencode({'payer': payer})}"


@router.get("/invoice/{slug}/wallet")
def wallet_redirect(
    slug: str,
    context: Context,
    payer: str = Query(max_length=128),
) -> Response:
    """303 to a fresh, signed SEP-7 URI for ``payer`` (what a scanned wallet-link QR opens)."""
    payments = PaymentRequests(context.settings, context.sessions, context.clock)
    try:
        request = payments.build(slug, payer)
    except NotFound:
        return html("not_found.html", 404, slug=slug[:64])
    except StellarStreamError:
        # Not payable any more, a bad payer, the RPC down: the page says which, in words.
        return RedirectResponse(wallet_page(slug, payer), status_code=303)
    return RedirectResponse(
        request.sep7_uri, status_code=303, headers={"Cache-Control": "no-store"}
    )


def wallet_page(slug: str, payer: str) -> str:
    return f"/invoice/{slug}?{urlencode({'payer': payer})}"
