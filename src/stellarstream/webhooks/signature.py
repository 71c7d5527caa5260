"""``StellarStream-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.

A receiver verifies a delivery like this (Python; any language with HMAC-SHA256 works)::

    import hashlib, hmac, time

    def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        t, sent = parts.get("t", ""), parts.get("v1", "")
        if not t.isdigit() or abs(time.time() - int(t)) > tolerance:
            return False  # stale or missing timestamp: a replay
        expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(expected.hexdigest(), sent)

Use the raw request body (before any JSON parsing) and deduplicate on ``StellarStream-Event-Id``.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "StellarStream-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex ``v1`` value for ``body`` sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value for ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(
    secret: str, header: str, body: bytes, *, now: float, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` within ``tolerance`` s of ``now``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, sent = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, body, int(timestamp)), sent)
