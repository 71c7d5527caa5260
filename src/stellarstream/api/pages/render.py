"""Rendering the server's HTML pages: Jinja2 (autoescaped), the bundle, the strict CSP.

Every page loads one bundle (``assets.py``) from this origin with its SRI hash; inline styles
carry the response's nonce; nothing inline runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from stellarstream.api.pages.assets import bundle, page_bundle

POLL_MS = 3000

templates = Environment(
    loader=PackageLoader("stellarstream.api", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# What WalletConnect needs beyond this origin (only when a project id is set): its relay
# (WebSocket), its RPC and telemetry endpoints, the wallet directory and its images (Reown's
# API), and the Verify API, which runs in an iframe to tell wallets which origin asks.
WALLETCONNECT_CONNECT = (
    "wss://relay.walletconnect.com",
    "wss://relay.walletconnect.org",
    "https://rpc.walletconnect.com",
    "https://rpc.walletconnect.org",
    "https://pulse.walletconnect.org",
    "https://api.web3modal.org",
)
WALLETCONNECT_IMG = ("https://api.web3modal.org",)
WALLETCONNECT_FRAME = ("https://verify.walletconnect.com", "https://verify.walletconnect.org")


def csp(nonce: str, *, walletconnect: bool = False) -> str:
    """The pages' policy. The other wallets need nothing more: Freighter, LOBSTR, Hana and
    Rabet talk to their extensions through ``window.postMessage`` or objects the extension
    injects, and xBull and Albedo open their own windows (``window.open``, not a frame)."""
    connect, img, frame = ["'self'"], ["'self'", "data:"], ["'none'"]
    if walletconnect:
        connect += WALLETCONNECT_CONNECT
        img += WALLETCONNECT_IMG
        frame = list(WALLETCONNECT_FRAME)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",  # the bundle only (same origin, with its SRI hash)
            f"style-src 'nonce-{nonce}'",
            "img-src " + " ".join(img),
            "connect-src " + " ".join(connect),
            "frame-src " + " ".join(frame),
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


def html(
    template: str,
    status_code: int = 200,
    *,
    walletconnect_project_id: str = "",
    bundle_name: str | None = None,
    policy: Callable[[str], str] | None = None,
    cache_control: str = "no-store",
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered with a fresh nonce, served with the CSP and no-store headers; the
    invoice page's bundle unless ``bundle_name`` names another. ``policy``: another page's CSP
    for the nonce (the docs pages'), ``cache_control``: another ``Cache-Control``."""
    nonce = secrets.token_urlsafe(16)
    body = templates.get_template(template).render(
        nonce=nonce,
        poll_ms=POLL_MS,
        bundle=bundle(bundle_name) if bundle_name else page_bundle(walletconnect_project_id),
        walletconnect_project_id=walletconnect_project_id,
        **context,
    )
    return HTMLResponse(
        body,
        status_code=status_code,
        headers={
            "Content-Security-Policy": (
                policy(nonce)
                if policy is not None
                else csp(nonce, walletconnect=bool(walletconnect_project_id))
            ),
            "Cache-Control": cache_control,
            "Referrer-Policy": "no-referrer",  # the slug is the capability: never leak it
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )
