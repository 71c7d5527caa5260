"""JWT access tokens (HS256). ``sub`` is the authenticated Stellar account.

Each token names the secret it was signed with in its ``kid`` header (a short fingerprint, not
the secret), so a token from another server or a rotated secret is told apart from a tampered one.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt

from stellarstream.errors import AuthError

ALGORITHM = "HS256"


def key_id(secret: str) -> str:
    return hashlib.sha256(b"stellarstream-jwt:" + secret.encode()).hexdigest()[:16]


def issue_token(secret: str, account: str, now: datetime, ttl_seconds: int) -> tuple[str, datetime]:
    """Return a signed token for ``account`` and its expiry time."""
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "sub": account,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})
    return token, expires_at


def verify_token(secret: str, token: str, now: datetime) -> str:
    """Return the account a valid token was issued to; raise :class:`AuthError` saying why not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise AuthError("malformed bearer token") from exc
    if header.get("kid") != key_id(secret):
        raise AuthError("token was signed with a different secret (another server or rotated key)")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat"], "verify_exp": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise AuthError("token signature does not match: the token was tampered with") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    # Expiry is checked against the injected clock rather than PyJWT's wall clock.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise AuthError("token has expired: sign a new SEP-10 challenge")
    return str(claims["sub"])
