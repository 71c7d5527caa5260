"""Webhook signatures: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>."""

from __future__ import annotations

import hashlib
import hmac

from stellarstream.webhooks.signature import sign, verify


def test_the_header_is_the_documented_hmac() -> None:
    header = sign("whsec_x", b'{"a":1}', 1_700_000_000)
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_the_signature_and_nothing_else() -> None:
    body = b'{"id":"e1"}'
    header = sign("s", body, 1_000)
    assert verify("s", header, body, now=1_000)
    assert verify("s", header, body, now=1_299)
    assert not verify("s", header, body, now=1_301)  # stale: a replay
    assert not verify("s", header, body + b" ", now=1_000)
    assert not verify("other", header, body, now=1_000)
    assert not verify("s", header.replace("t=1000", "t=1001"), body, now=1_000)
    assert not verify("s", "garbage", body, now=1_000)
    assert not verify("s", "", body, now=1_000)
