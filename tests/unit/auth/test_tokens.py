from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from stellarstream.auth.tokens import issue_token, verify_token
from stellarstream.errors import AuthError

SECRET = "s" * 64
ACCOUNT = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_valid_token_names_the_account() -> None:
    token, expires = issue_token(SECRET, ACCOUNT, NOW, 3600)
    assert expires == NOW + timedelta(hours=1)
    assert verify_token(SECRET, token, NOW + timedelta(minutes=59)) == ACCOUNT


def test_expired_token_says_expired() -> None:
    token, _ = issue_token(SECRET, ACCOUNT, NOW, 3600)
    with pytest.raises(AuthError, match="expired"):
        verify_token(SECRET, token, NOW + timedelta(hours=1))


def test_tampered_payload_says_tampered() -> None:
    token, _ = issue_token(SECRET, ACCOUNT, NOW, 3600)
    header, _payload, signature = token.split(".")
    forged = jwt.encode(
        {"sub": "GOTHER", "exp": 9999999999, "iat": 1},
        "k" * 32,
        headers=jwt.get_unverified_header(token),
    )
    token2 = ".".join([header, forged.split(".")[1], signature])
    with pytest.raises(AuthError, match="tampered"):
        verify_token(SECRET, token2, NOW)


def test_other_secret_says_different_secret() -> None:
    token, _ = issue_token("another-secret" * 4, ACCOUNT, NOW, 3600)
    with pytest.raises(AuthError, match="different secret"):
        verify_token(SECRET, token, NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x"])
def test_malformed_token(garbage: str) -> None:
    with pytest.raises(AuthError, match="malformed"):
        verify_token(SECRET, garbage, NOW)


def test_alg_none_is_refused() -> None:
    token, _ = issue_token(SECRET, ACCOUNT, NOW, 3600)
    kid = jwt.get_unverified_header(token)["kid"]
    unsigned = jwt.encode(
        {"sub": ACCOUNT, "exp": 9999999999, "iat": 1}, None, algorithm="none", headers={"kid": kid}
    )
    with pytest.raises(AuthError):
        verify_token(SECRET, unsigned, NOW)
