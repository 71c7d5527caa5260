"""The payer's side over HTTP, as a wallet does it: request the transaction for an invoice link,
sign it with the payer's key, then submit it (``POST .../submit``) or send it to the RPC itself
and report its hash (``POST .../submitted``).

Settings from :func:`make_settings` poll fast (:data:`FAST`): ``/submit`` waits at most a second
for the ledger, a pending transaction is followed for a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from stellar_sdk import Keypair, TransactionEnvelope

from stellarstream.config import Settings, load_settings
from tests.support import contract_events as ce
from tests.support.soroban_rpc import SorobanState

URL = "/api/v1/invoice-links"
ISSUER = Keypair.from_raw_ed25519_seed(bytes([41]) * 32)
PAYER = Keypair.from_raw_ed25519_seed(bytes([42]) * 32)
SEQUENCE = 4_815_162_342
FAST: dict[str, float] = {
    "invoice_poll_seconds": 0.05,
    "invoice_submit_wait_seconds": 1.0,
    "invoice_follow_seconds": 1.0,
}


def payer_state(**options: Any) -> SorobanState:
    """The V2 contract deployed and :data:`PAYER` funded at :data:`SEQUENCE`."""
    return SorobanState(
        contracts={ce.V2_CONTRACT}, accounts={PAYER.public_key: SEQUENCE}, **options
    )


def make_settings(tmp_path: Path, database_url: str, rpc_url: str, **extra: object) -> Settings:
    return load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://pay.example.test",
        network="testnet",
        rpc_url=rpc_url,
        contract_ids=ce.V2_CONTRACT,
        **{**FAST, **extra},
    )


def request_tx(http: httpx.Client, slug: str, payer: str = PAYER.public_key) -> httpx.Response:
    return http.post(f"{URL}/{slug}/transaction", json={"payer": payer})


def prepared(http: httpx.Client, slug: str, payer: str = PAYER.public_key) -> TransactionEnvelope:
    """The transaction the server prepares for ``payer``, unsigned."""
    response = request_tx(http, slug, payer)
    assert response.status_code == 200, response.text
    body = response.json()
    return TransactionEnvelope.from_xdr(body["xdr"], body["networkPassphrase"])


def signed(http: httpx.Client, slug: str, keypair: Keypair = PAYER) -> TransactionEnvelope:
    """The prepared transaction, signed by ``keypair`` (its payer)."""
    envelope = prepared(http, slug, keypair.public_key)
    envelope.sign(keypair)
    return envelope


def submit(http: httpx.Client, slug: str, signed_xdr: str | TransactionEnvelope) -> httpx.Response:
    if isinstance(signed_xdr, TransactionEnvelope):
        signed_xdr = signed_xdr.to_xdr()
    return http.post(f"{URL}/{slug}/submit", json={"signedXdr": signed_xdr})


def pay(http: httpx.Client, slug: str, keypair: Keypair = PAYER) -> dict[str, Any]:
    """Request, sign and submit: the 200 answer of ``/submit`` (``txHash``, ``status``, ...)."""
    response = submit(http, slug, signed(http, slug, keypair))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] in ("PENDING", "SUCCESS"), body
    return body
