"""Rate limits over real HTTP, with the in-process backend and with Redis (127.0.0.1:6379)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pydantic import SecretStr
from stellar_sdk import Keypair
from tests.support.clock import FakeClock
from tests.support.db import copy_sqlite
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.api.ratelimit import MemoryBackend, RouteClass, route_class
from stellarstream.auth.tokens import issue_token
from stellarstream.config import Settings, load_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reason() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "redis" and (reason := redis_reason()) is not None:
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI needs it: a missing Redis is a failure)")
        pytest.skip(reason)
    yield request.param


@pytest.fixture
def make_settings(
    tmp_path: Path, sqlite_template: Path, backend: str
) -> Iterator[Callable[..., Settings]]:
    """Settings with low limits; a key prefix of its own per test, so runs never share counts."""
    database_url = copy_sqlite(sqlite_template, tmp_path)
    prefix = f"stellarstream-test:{uuid.uuid4().hex}:"

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "_env_file": None,
            "var_dir": tmp_path / "var",
            "database_url": database_url,
            "public_url": "http://pay.example.test",
            "network": "testnet",
            "rate_limit_reads": 3,
            "rate_limit_writes": 2,
            "rate_limit_auth": 2,
            "rate_limit_window_seconds": 60,
            "redis_key_prefix": prefix,
        }
        if backend == "redis":
            values["redis_url"] = SecretStr(REDIS_URL)
        values.update(overrides)
        return load_settings(**values)

    yield make
    if backend == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


@contextmanager
def api(settings: Settings, clock: FakeClock | None = None) -> Iterator[httpx.Client]:
    with (
        serve(create_app(settings, clock=clock or FakeClock())) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        yield client


def bearer(settings: Settings, account: str, clock: FakeClock) -> dict[str, str]:
    token, _ = issue_token(settings.jwt_key, account, clock(), 3600)
    return {"Authorization": f"Bearer {token}"}


def test_route_classes() -> None:
    assert route_class("GET", "/api/v1/auth/challenge") is RouteClass.AUTH
    assert route_class("POST", "/api/v1/auth/token") is RouteClass.AUTH
    assert route_class("POST", "/api/v1/invoice-links") is RouteClass.WRITES
    assert route_class("DELETE", "/api/v1/invoice-links/x") is RouteClass.WRITES
    assert route_class("PATCH", "/api/v1/invoice-links/x/status") is RouteClass.WRITES
    assert route_class("GET", "/api/v1/streams") is RouteClass.READS
    for exempt in ("/livez", "/readyz", "/metrics"):
        assert route_class("GET", exempt) is None
    assert route_class("OPTIONS", "/api/v1/streams") is None


def test_over_the_limit_is_429_with_retry_after_in_the_error_shape(
    make_settings: Callable[..., Settings],
) -> None:
    with api(make_settings()) as client:
        for _ in range(3):
            assert client.get("/api/v1/streams").status_code == 200
        response = client.get("/api/v1/streams", headers={"X-Request-Id": "req-429"})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["X-Request-Id"] == "req-429"
    assert response.headers["X-RateLimit-Limit"] == "3"
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["field"] is None
    assert "at most 3 per 60 s" in error["message"]


def test_classes_are_counted_apart_and_probes_are_never_limited(
    make_settings: Callable[..., Settings],
) -> None:
    with api(make_settings()) as client:
        for _ in range(3):
            client.get("/api/v1/streams")
        assert client.get("/api/v1/streams").status_code == 429
        # auth has its own budget (2) ...
        account = Keypair.random().public_key
        challenge = [
            client.get("/api/v1/auth/challenge", params={"account": account}).status_code
            for _ in range(3)
        ]
        assert challenge == [200, 200, 429]
        # ... and so do writes (an unauthenticated write is counted, then refused with 401).
        writes = [client.post("/api/v1/invoice-links", json={}).status_code for _ in range(3)]
        assert writes == [401, 401, 429]
        for _ in range(10):
            assert client.get("/livez").status_code == 200
            assert client.get("/readyz").status_code == 200
            assert client.get("/metrics").status_code == 200


def test_clients_are_told_apart_by_token_subject_else_by_ip(
    make_settings: Callable[..., Settings],
) -> None:
    settings, clock = make_settings(), FakeClock()
    alice = bearer(settings, Keypair.random().public_key, clock)
    bob = bearer(settings, Keypair.random().public_key, clock)
    with api(settings, clock) as client:
        assert [client.get("/api/v1/streams", headers=alice).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        assert client.get("/api/v1/streams", headers=bob).status_code == 200
        # No token, or one that does not verify: counted by IP (a budget of its own).
        forged = {"Authorization": alice["Authorization"][:-4] + "AAAA"}
        assert client.get("/api/v1/streams").status_code == 200
        assert client.get("/api/v1/streams", headers=forged).status_code == 200
        assert client.get("/api/v1/streams").status_code == 200
        assert client.get("/api/v1/streams", headers=forged).status_code == 429


def test_the_window_resets(make_settings: Callable[..., Settings]) -> None:
    with api(make_settings(rate_limit_window_seconds=1, rate_limit_reads=1)) as client:
        assert client.get("/api/v1/streams").status_code == 200
        limited = client.get("/api/v1/streams")
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        time.sleep(1.1)
        assert client.get("/api/v1/streams").status_code == 200


def test_redis_shares_the_budget_between_processes_memory_does_not(
    make_settings: Callable[..., Settings], backend: str
) -> None:
    """Two apps stand for two gunicorn workers (or two hosts)."""
    settings = make_settings()
    with api(settings) as first, api(settings) as second:
        for _ in range(3):
            assert first.get("/api/v1/streams").status_code == 200
        expected = 429 if backend == "redis" else 200
        assert second.get("/api/v1/streams").status_code == expected


def test_limits_can_be_switched_off(make_settings: Callable[..., Settings]) -> None:
    with api(make_settings(rate_limits_enabled=False)) as client:
        assert {client.get("/api/v1/streams").status_code for _ in range(10)} == {200}


def test_an_unreachable_redis_lets_requests_through(tmp_path: Path, sqlite_template: Path) -> None:
    settings = load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=copy_sqlite(sqlite_template, tmp_path),
        rate_limit_reads=1,
        redis_url=SecretStr("redis://127.0.0.1:9/0"),
    )
    with api(settings) as client:
        assert {client.get("/api/v1/streams").status_code for _ in range(3)} == {200}


def test_memory_backend_counts_fixed_windows() -> None:
    now = [100.0]
    backend = MemoryBackend(now=lambda: now[0])

    def hit() -> tuple[bool, int, float]:
        # In a thread of its own: another test's event loop may be running in this one.
        with ThreadPoolExecutor(1) as pool:
            d = pool.submit(asyncio.run, backend.hit("k", 2, 10)).result()
        return d.allowed, d.remaining, d.retry_after

    assert hit() == (True, 1, 10.0)
    now[0] = 104.0
    assert hit() == (True, 0, 6.0)
    assert hit() == (False, 0, 6.0)
    now[0] = 110.0
    assert hit() == (True, 1, 10.0)
