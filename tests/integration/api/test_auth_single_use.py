"""A signed SEP-10 challenge gives one token, on any worker (the database decides), at both
endpoints; a garbage transaction is "not a valid transaction envelope"."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from stellar_sdk import Keypair
from tests.support.auth import sign_challenge
from tests.support.clock import FakeClock
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.db.models import UsedChallenge

TOKEN_URLS = ["/api/v1/auth/token", "/api/v1/auth"]


def signed_challenge(client: httpx.Client, keypair: Keypair) -> str:
    body = client.get("/api/v1/auth/challenge", params={"account": keypair.public_key}).json()
    return sign_challenge(body["transaction"], body["network_passphrase"], keypair)


@pytest.fixture
def second_worker(settings: Settings, clock: FakeClock) -> Iterator[httpx.Client]:
    """Another API process on the same database (its own app, engine and pool)."""
    with serve(create_app(settings, clock=clock)) as url, httpx.Client(base_url=url) as http:
        yield http


@pytest.mark.parametrize("first_url", TOKEN_URLS)
@pytest.mark.parametrize("second_url", TOKEN_URLS)
def test_a_signed_challenge_gives_one_token(
    client: httpx.Client, second_worker: httpx.Client, first_url: str, second_url: str
) -> None:
    signed = signed_challenge(client, Keypair.random())
    first = client.post(first_url, json={"transaction": signed})
    assert first.status_code == 200, first.text
    for http in (client, second_worker):
        again = http.post(second_url, json={"transaction": signed})
        assert again.status_code == 401, again.text
        error = again.json()["error"]
        assert error["code"] == "unauthorized"
        assert "already exchanged for a token" in error["message"]
        assert error["field"] == "transaction"


def test_concurrent_exchanges_of_one_challenge_give_one_token(
    client: httpx.Client, second_worker: httpx.Client
) -> None:
    signed = signed_challenge(client, Keypair.random())

    def exchange(i: int) -> int:
        http = client if i % 2 else second_worker
        return http.post("/api/v1/auth/token", json={"transaction": signed}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(exchange, range(8)))
    assert codes == [200] + [401] * 7


def test_new_challenges_still_work_and_used_ones_are_forgotten_after_they_expire(
    client: httpx.Client, clock: FakeClock, sessions: sessionmaker[Session], settings: Settings
) -> None:
    keypair = Keypair.random()
    for _ in range(3):
        signed = signed_challenge(client, keypair)
        assert client.post("/api/v1/auth/token", json={"transaction": signed}).status_code == 200

    def used() -> int:
        with sessions() as session:
            return int(session.scalar(select(func.count()).select_from(UsedChallenge)) or 0)

    assert used() == 3
    clock.advance(settings.challenge_ttl_seconds + 60)
    signed = signed_challenge(client, keypair)  # built at the (moved) time: valid
    assert client.post("/api/v1/auth/token", json={"transaction": signed}).status_code == 200
    assert used() == 1  # the three expired ones were deleted


@pytest.mark.parametrize("garbage", ["AAAA", "not base64!", "abc", "QUJDRA=="])
@pytest.mark.parametrize("url", TOKEN_URLS)
def test_garbage_is_not_a_valid_transaction_envelope(
    client: httpx.Client, garbage: str, url: str
) -> None:
    response = client.post(url, json={"transaction": garbage})
    assert response.status_code in (400, 401), response.text
    message = response.json()["error"]["message"]
    assert message == "invalid SEP-10 challenge: not a valid transaction envelope"
    assert "padding" not in message.lower()
