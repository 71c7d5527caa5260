"""SEP-10 sign-in through the HTTP API, as a wallet would do it."""

from __future__ import annotations

import httpx
from stellar_sdk import Keypair, TransactionEnvelope


def sign_challenge(challenge_xdr: str, passphrase: str, keypair: Keypair) -> str:
    envelope = TransactionEnvelope.from_xdr(challenge_xdr, passphrase)
    envelope.sign(keypair)
    return str(envelope.to_xdr())


def sign_in(client: httpx.Client, keypair: Keypair) -> dict[str, str]:
    """Return Authorization headers for ``keypair`` after a real SEP-10 exchange."""
    challenge = client.get("/api/v1/auth/challenge", params={"account": keypair.public_key})
    challenge.raise_for_status()
    body = challenge.json()
    signed = sign_challenge(body["transaction"], body["network_passphrase"], keypair)
    token = client.post("/api/v1/auth/token", json={"transaction": signed})
    token.raise_for_status()
    return {"Authorization": f"Bearer {token.json()['token']}"}
