"""Standard Webhooks signatures: checked against the spec's example and the reference library."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from stellarstream.webhooks.signature import (
    legacy_secret_in_standard_form,
    new_secret,
    secret_key,
    sign_headers,
    signature,
)

# The example of the Standard Webhooks specification (and Svix's documentation).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specification_example() -> None:
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_new_secrets_are_whsec_base64_of_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:], validate=True)) == 32
    assert new_secret() != secret


def test_the_library_verifies_what_we_sign_and_nothing_else() -> None:
    secret, other = new_secret(), new_secret()
    body = b'{"id":"e1"}'
    now = int(time.time())
    headers = sign_headers([secret], "e1", now, body)
    assert Webhook(secret).verify(body, headers) == {"id": "e1"}
    for bad_secret, bad_body, bad_headers in (
        (other, body, headers),
        (secret, body + b" ", headers),
        (secret, body, {**headers, "webhook-id": "e2"}),
        (secret, body, {**headers, "webhook-timestamp": str(now + 1)}),
        (secret, body, sign_headers([secret], "e1", now - 301, body)),  # stale: a replay
    ):
        with pytest.raises(WebhookVerificationError):
            Webhook(bad_secret).verify(bad_body, bad_headers)


def test_two_secrets_sign_side_by_side_during_a_rotation() -> None:
    new, old = new_secret(), new_secret()
    body = b"{}"
    headers = sign_headers([new, old], "e1", int(time.time()), body)
    first, second = headers["webhook-signature"].split(" ")
    assert first.startswith("v1,") and second.startswith("v1,")
    Webhook(new).verify(body, headers)
    Webhook(old).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_secret_issued_before_standard_webhooks_keeps_its_key() -> None:
    """Old secrets were ``whsec_`` + URL-safe base64 (``secrets.token_urlsafe(32)``)."""
    legacy = "whsec_" + base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("=")
    assert "-" in legacy or "_" in legacy[6:]
    assert secret_key(legacy) == bytes(range(200, 232))
    standard = legacy_secret_in_standard_form(legacy)
    old = legacy  # the README's one-liner gives the same
    assert standard == "whsec_" + base64.b64encode(base64.urlsafe_b64decode(old[6:] + "=")).decode()
    body = b"{}"
    headers = sign_headers([legacy], "e1", int(time.time()), body)
    Webhook(standard).verify(body, headers)
