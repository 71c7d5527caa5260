"""``GET /app``: the issuer dashboard (sign in with a wallet, create, share and track links).

The page is a server-rendered shell; its bundle (``web/src/dashboard.js``) signs the SEP-10
challenge with the issuer's wallet (Stellar Wallets Kit), keeps the JWT in sessionStorage and
calls the same JSON API as any integrator: nothing here is a private endpoint.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from stellar_sdk import Asset

from stellarstream.api.deps import Context
from stellarstream.api.pages.render import html
from stellarstream.config import Settings
from stellarstream.tokens.directory import TokenDirectory

router = APIRouter(tags=["pages"], include_in_schema=False)

DASHBOARD_BUNDLE = "dashboard.js"


def tokens(settings: Settings, directory: TokenDirectory) -> list[dict[str, Any]]:
    """The tokens an issuer can invoice in: native XLM, every token the operator configured,
    then every token the chain has named for us (streams and links in it), by symbol."""
    native = Asset.native().contract_id(settings.network_passphrase)
    configured = sorted(set(settings.token_decimals) | set(settings.token_symbols) - {native})
    seen = sorted(set(directory.stored_tokens()) - {native, *configured})
    infos = directory.lookup([native, *configured, *seen])
    return [
        {"address": i.address, "label": i.label, "decimals": i.decimals, "name": i.name}
        for i in infos.values()
    ]


@router.get("/app", response_class=HTMLResponse)
def dashboard(context: Context) -> HTMLResponse:
    """The issuer dashboard."""
    settings = context.settings
    return html(
        "app.html",
        bundle_name=DASHBOARD_BUNDLE,
        title="StellarStream: invoice links",
        tokens=tokens(settings, context.tokens),
        network_passphrase=settings.network_passphrase,
        public_url=settings.public_url,
        contract_id=settings.payment_contract_id or "",
    )
