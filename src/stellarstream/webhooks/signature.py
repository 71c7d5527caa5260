"""Signatures by the Standard Webhooks specification (https://www.standardwebhooks.com).

Every delivery carries three headers::

    webhook-id: <event id>            the same on every retry and replay: deduplicate on it
    webhook-timestamp: <unix seconds> when this attempt was signed
    webhook-signature: v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{raw body}")>

The key is the endpoint secret ``whsec_<base64>`` decoded (the part after ``whsec_``). After a
secret rotation the previous secret signs too, for 24 h: two space-separated ``v1,...``
signatures; a receiver accepts the delivery if any matches. Verify with a Standard Webhooks
library in any language, e.g. Python (``pip install standardwebhooks``)::

    from standardwebhooks import Webhook

    payload = Webhook(secret).verify(raw_body, request_headers)  # raises if not ours

It checks the signature over the raw body (before any JSON parsing), in constant time, and
rejects a timestamp more than 5 minutes from now (a replayed capture).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
KEY_BYTES = 32


def new_secret() -> str:
    """A new endpoint secret: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: its base64 part decoded.

    Secrets issued before Standard Webhooks signing are ``whsec_`` and URL-safe base64 without
    padding; they are read in that alphabet (the same 32 bytes). Standard Webhooks libraries
    expect standard base64: give them the equivalent ``legacy_secret_in_standard_form(old)``,
    or rotate the secret.
    """
    body = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return secret.encode()


def legacy_secret_in_standard_form(secret: str) -> str:
    """The Standard Webhooks spelling of ``secret`` (the same key)."""
    return PREFIX + base64.b64encode(secret_key(secret)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` for ``body`` sent as message ``msg_id`` at ``timestamp``."""
    message = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    signing_secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, one signature per secret (space-separated)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret, msg_id, timestamp, body) for secret in signing_secrets
        ),
    }
