"""SEP-10 over HTTP: challenge, signed answer, token, and every way a token can be wrong."""

from __future__ import annotations

import httpx
import jwt
import pytest
from stellar_sdk import Keypair, Network, TransactionEnvelope
from tests.support.auth import sign_challenge, sign_in
from tests.support.clock import FakeClock

from stellarstream.config import Settings


def test_challenge_is_a_server_signed_sep10_transaction(
    client: httpx.Client, settings: Settings
) -> None:
    account = Keypair.random().public_key
    body = client.get("/api/v1/auth/challenge", params={"account": account}).json()
    assert body["network_passphrase"] == Network.TESTNET_NETWORK_PASSPHRASE
    envelope = TransactionEnvelope.from_xdr(body["transaction"], body["network_passphrase"])
    tx = envelope.transaction
    assert tx.sequence == 0
    assert tx.source.account_id == settings.signing_keypair.public_key
    assert tx.operations[0].source.account_id == account
    assert tx.operations[0].data_name == "pay.example.test auth"
    server = Keypair.from_public_key(settings.signing_keypair.public_key)
    server.verify(envelope.hash(), envelope.signatures[0].signature)


def test_signed_challenge_gives_a_token_that_opens_protected_routes(client: httpx.Client) -> None:
    keypair = Keypair.random()
    headers = sign_in(client, keypair)
    claims = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})
    assert claims["sub"] == keypair.public_key
    assert client.get("/api/v1/invoice-links", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "account",
    [
        "",
        "GABC",
        Keypair.random().secret,
        "CAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_challenge_for_a_bad_account_is_a_422_naming_it(client: httpx.Client, account: str) -> None:
    response = client.get("/api/v1/auth/challenge", params={"account": account})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "account"


def test_challenge_signed_by_another_key_is_refused(client: httpx.Client) -> None:
    account, impostor = Keypair.random(), Keypair.random()
    body = client.get("/api/v1/auth/challenge", params={"account": account.public_key}).json()
    signed = sign_challenge(body["transaction"], body["network_passphrase"], impostor)
    response = client.post("/api/v1/auth/token", json={"transaction": signed})
    assert response.status_code == 401
    assert "not signed" in response.json()["error"]["message"]


def test_unsigned_challenge_is_refused(client: httpx.Client) -> None:
    account = Keypair.random()
    body = client.get("/api/v1/auth/challenge", params={"account": account.public_key}).json()
    response = client.post("/api/v1/auth/token", json={"transaction": body["transaction"]})
    assert response.status_code == 401


def test_challenge_from_another_server_is_refused(client: httpx.Client) -> None:
    from stellar_sdk.sep.stellar_web_authentication import build_challenge_transaction

    account = Keypair.random()
    foreign = build_challenge_transaction(
        Keypair.random().secret,
        account.public_key,
        "pay.example.test",
        "pay.example.test",
        Network.TESTNET_NETWORK_PASSPHRASE,
    )
    signed = sign_challenge(foreign, Network.TESTNET_NETWORK_PASSPHRASE, account)
    response = client.post("/api/v1/auth/token", json={"transaction": signed})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body", [{}, {"transaction": ""}, {"transaction": "AAAA"}, {"transaction": "not base64!"}]
)
def test_garbage_token_requests_are_4xx(client: httpx.Client, body: dict[str, str]) -> None:
    response = client.post("/api/v1/auth/token", json=body)
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_protected_route_without_token_is_401(client: httpx.Client) -> None:
    response = client.get("/api/v1/invoice-links")
    assert response.status_code == 401
    assert "missing bearer token" in response.json()["error"]["message"]


def test_expired_token_is_401_saying_expired(
    client: httpx.Client, clock: FakeClock, settings: Settings
) -> None:
    headers = sign_in(client, Keypair.random())
    clock.advance(settings.jwt_ttl_seconds + 1)
    response = client.get("/api/v1/invoice-links", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_tampered_token_is_401_saying_tampered(client: httpx.Client) -> None:
    headers = sign_in(client, Keypair.random())
    token = headers["Authorization"].split()[1]
    header, _payload, signature = token.split(".")
    other = jwt.encode({"sub": Keypair.random().public_key, "exp": 9999999999, "iat": 1}, "k" * 32)
    forged = ".".join([header, other.split(".")[1], signature])
    response = client.get("/api/v1/invoice-links", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "tampered" in response.json()["error"]["message"]


def test_token_from_another_secret_is_401_saying_so(client: httpx.Client, clock: FakeClock) -> None:
    from stellarstream.auth.tokens import issue_token

    token, _ = issue_token("z" * 64, Keypair.random().public_key, clock(), 3600)
    response = client.get("/api/v1/invoice-links", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "different secret" in response.json()["error"]["message"]
