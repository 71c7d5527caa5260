"""Error mapping and retries.

Statuses the real API produces (401, 404, 409, 422, 400) are provoked from it; 403, 429, 5xx,
timeouts and refused connections come from a tiny scripted ASGI app on a real socket.
The retry sleep is injected, so backoff and ``Retry-After`` are checked without waiting.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from stellar_sdk import Keypair
from tests.support import contract_events as ce
from tests.support.server import serve

from conftest import CONTRACT, SleepRecorder
from nebula_sdk import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AsyncNebulaClient,
    AuthenticationError,
    ConflictError,
    NebulaClient,
    NebulaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)

# --- the real API ----------------------------------------------------------------------


def test_real_api_statuses_map_to_exceptions_sync(client: NebulaClient, keypair: Keypair) -> None:
    with pytest.raises(AuthenticationError) as unauthorized:
        client.invoice_links.list()
    assert unauthorized.value.status == 401 and unauthorized.value.code == "unauthorized"
    assert unauthorized.value.request_id and "bearer token" in unauthorized.value.message

    with pytest.raises(NotFoundError) as missing:
        client.streams.retrieve(f"{CONTRACT}-404")
    assert (missing.value.status, missing.value.code) == (404, "not_found")
    assert missing.value.request_id == missing.value.response.headers["x-request-id"]

    client.auth.login(keypair)
    link = client.invoice_links.create(
        receiver=ce.account(2), amount=1, token_address=ce.TOKEN, duration=60
    )
    client.invoice_links.update_status(link.id, "CANCELED")
    with pytest.raises(ConflictError) as conflict:
        client.invoice_links.update_status(link.id, "SIGNED")
    assert conflict.value.status == 409 and "CANCELED" in conflict.value.message

    with pytest.raises(ValidationError) as invalid:
        client.invoice_links.create(
            receiver=ce.account(2), amount=1, token_address=ce.TOKEN, duration=0
        )
    assert (invalid.value.status, invalid.value.field) == (422, "duration")

    with pytest.raises(ValidationError) as bad_cursor:
        client.streams.list(cursor="not-a-cursor")
    assert (bad_cursor.value.status, bad_cursor.value.field) == (400, "cursor")

    with pytest.raises(ValidationError) as bad_json:
        client.post("/api/v1/auth/token", cast_to=dict, content=b"{not json")
    assert (bad_json.value.status, bad_json.value.code) == (400, "bad_request")
    assert isinstance(bad_json.value, APIStatusError) and isinstance(bad_json.value, NebulaError)


def test_real_api_statuses_map_to_exceptions_async(
    make_async: Callable[..., AsyncNebulaClient], keypair: Keypair
) -> None:
    async def main() -> None:
        async with make_async() as client:
            with pytest.raises(AuthenticationError):
                await client.invoice_links.list()
            with pytest.raises(NotFoundError) as missing:
                await client.streams.retrieve(f"{CONTRACT}-404")
            assert missing.value.request_id
            await client.auth.login(keypair)
            link = await client.invoice_links.create(
                receiver=ce.account(2), amount=1, token_address=ce.TOKEN, duration=60
            )
            await client.invoice_links.update_status(link.id, "CANCELED")
            with pytest.raises(ConflictError):
                await client.invoice_links.update_status(link.id, "COMPLETED")
            with pytest.raises(ValidationError) as invalid:
                await client.streams.project_yield(f"{CONTRACT}-0", days=0)
            assert invalid.value.field == "days"
            with pytest.raises(ValidationError) as bad_json:
                await client.post("/api/v1/auth/token", cast_to=dict, content=b"{")
            assert bad_json.value.status == 400

    asyncio.run(main())


# --- a scripted server -----------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Scripted:
    """ASGI app answering queued replies in order (then 200), recording every request."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append(
            {"method": scope["method"], "path": scope["path"], "headers": headers, "body": body}
        )
        reply = self.replies.popleft() if self.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        payload = json.dumps(reply.body).encode()
        extra = [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send(
            {
                "type": "http.response.start",
                "status": reply.status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", b"req-1"),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def scripted() -> Iterator[tuple[str, Scripted]]:
    app = Scripted()
    with serve(app) as url:
        yield url, app


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": None}}


@pytest.fixture
def sync_client(scripted: tuple[str, Scripted], sleeps: SleepRecorder) -> Iterator[NebulaClient]:
    with NebulaClient(scripted[0], timeout=5) as client:
        client._sleep = sleeps
        yield client


def test_5xx_is_retried_with_exponential_backoff_and_jitter(
    sync_client: NebulaClient, scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    _, app = scripted
    app.replies.extend([Reply(503, _error("unavailable", "busy")), Reply(502, "bad gateway")])
    assert sync_client.get("/api/v1/stats", cast_to=dict) == {"ok": True}
    assert len(app.requests) == 3
    first, second = sleeps.delays
    assert 0.375 <= first <= 0.5 and 0.75 <= second <= 1.0  # 0.5 s doubling, minus <= 25 %
    assert app.requests[1]["headers"]["x-nebula-retry-count"] == "1"


def test_5xx_after_all_retries_raises_server_error(
    sync_client: NebulaClient, scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    _, app = scripted
    app.replies.extend([Reply(500, _error("internal_error", "boom"))] * 3)
    with pytest.raises(ServerError) as error:
        sync_client.streams.retrieve(f"{CONTRACT}-1")
    assert (error.value.status, error.value.code, error.value.message) == (
        500,
        "internal_error",
        "boom",
    )
    assert error.value.request_id == "req-1"
    assert len(app.requests) == 3 and len(sleeps.delays) == 2  # max_retries=2


def test_429_honours_retry_after_then_raises_rate_limit_error(
    sync_client: NebulaClient, scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    _, app = scripted
    app.replies.extend(
        [Reply(429, _error("rate_limited", "slow down"), {"Retry-After": "3"})] * 2
        + [Reply(429, _error("rate_limited", "slow down"), {"Retry-After-Ms": "1500"})]
    )
    with pytest.raises(RateLimitError) as error:
        sync_client.stats.retrieve()
    assert sleeps.delays == [3.0, 3.0]
    assert error.value.retry_after is None and error.value.status == 429  # last had only -Ms
    app.replies.extend([Reply(429, {}, {"Retry-After-Ms": "1500"}), Reply(200, {"x": 1})])
    assert sync_client.get("/api/v1/stats", cast_to=dict) == {"x": 1}
    assert sleeps.delays[-1] == 1.5


def test_retry_after_beyond_a_minute_falls_back_to_backoff(
    sync_client: NebulaClient, scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    _, app = scripted
    app.replies.append(Reply(503, {}, {"Retry-After": "3600"}))
    sync_client.get("/api/v1/stats", cast_to=dict)
    assert 0.375 <= sleeps.delays[0] <= 0.5


def test_post_retries_reuse_one_idempotency_key(
    sync_client: NebulaClient, scripted: tuple[str, Scripted]
) -> None:
    _, app = scripted
    app.replies.extend([Reply(500, {}), Reply(408, {})])
    sync_client.post("/api/v1/invoice-links", cast_to=dict, body={"a": 1})
    keys = [r["headers"]["idempotency-key"] for r in app.requests]
    assert len(keys) == 3 and len(set(keys)) == 1 and keys[0].startswith("nebula-")
    sync_client.post("/api/v1/invoice-links", cast_to=dict, body={"a": 1})
    assert app.requests[-1]["headers"]["idempotency-key"] != keys[0]  # a new call, a new key


def test_patch_is_retried_only_when_not_processed(
    sync_client: NebulaClient, scripted: tuple[str, Scripted]
) -> None:
    _, app = scripted
    app.replies.append(Reply(500, _error("internal_error", "maybe applied")))
    with pytest.raises(ServerError):
        sync_client.patch("/api/v1/invoice-links/x/status", cast_to=dict, body={})
    assert len(app.requests) == 1  # a 500 may have applied it: not repeated
    app.replies.append(Reply(429, {}, {"Retry-After": "0"}))
    assert sync_client.patch("/api/v1/invoice-links/x/status", cast_to=dict, body={})
    assert len(app.requests) == 3


def test_403_and_x_should_retry_false_are_not_retried(
    sync_client: NebulaClient, scripted: tuple[str, Scripted]
) -> None:
    _, app = scripted
    app.replies.append(Reply(403, _error("forbidden", "not yours")))
    with pytest.raises(PermissionDeniedError) as denied:
        sync_client.stats.retrieve()
    assert (denied.value.status, denied.value.code) == (403, "forbidden")
    app.replies.append(Reply(503, {}, {"X-Should-Retry": "false"}))
    with pytest.raises(ServerError):
        sync_client.stats.retrieve()
    assert len(app.requests) == 2


def test_timeout_is_retried_then_raises_api_timeout_error(
    scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    url, app = scripted
    app.replies.extend([Reply(delay=0.5), Reply(delay=0.5)])
    with NebulaClient(url, timeout=0.1, max_retries=1) as client:
        client._sleep = sleeps
        with pytest.raises(APITimeoutError) as error:
            client.stats.retrieve()
    assert isinstance(error.value, APIConnectionError) and isinstance(error.value, APIError)
    assert len(sleeps.delays) == 1


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_refused_connection_raises_api_connection_error(sleeps: SleepRecorder) -> None:
    with NebulaClient(_closed_port(), max_retries=3) as client:
        client._sleep = sleeps
        with pytest.raises(APIConnectionError) as error:
            client.stats.retrieve()
    assert not isinstance(error.value, APITimeoutError)
    assert len(sleeps.delays) == 3 and sleeps.delays[2] <= 2.0


def test_max_retries_zero_and_non_json_success(
    scripted: tuple[str, Scripted], sleeps: SleepRecorder
) -> None:
    url, app = scripted
    with NebulaClient(url, max_retries=0) as client:
        client._sleep = sleeps
        app.replies.append(Reply(503, {}))
        with pytest.raises(ServerError):
            client.stats.retrieve()
        app.replies.append(Reply(200, {"unexpected": "shape"}))
        with pytest.raises(APIError, match="does not match Stats"):
            client.stats.retrieve()
    assert sleeps.delays == []


def test_async_retries_and_errors(scripted: tuple[str, Scripted], sleeps: SleepRecorder) -> None:
    url, app = scripted

    async def main() -> None:
        async with AsyncNebulaClient(url, timeout=0.2) as client:
            client._sleep = sleeps.async_sleep
            app.replies.extend([Reply(503, {}), Reply(429, {}, {"Retry-After": "2"})])
            assert await client.get("/api/v1/stats", cast_to=dict) == {"ok": True}
            app.replies.extend([Reply(500, {})] * 3)
            with pytest.raises(ServerError):
                await client.post("/api/v1/invoice-links", cast_to=dict, body={})
            keys = {r["headers"]["idempotency-key"] for r in app.requests[-3:]}
            assert len(keys) == 1
            app.replies.append(Reply(403, {}))
            with pytest.raises(PermissionDeniedError):
                await client.stats.retrieve()
            app.replies.extend([Reply(delay=1.0)] * 3)
            with pytest.raises(APITimeoutError):
                await client.stats.retrieve()
        async with AsyncNebulaClient(_closed_port(), max_retries=1) as refused:
            refused._sleep = sleeps.async_sleep
            with pytest.raises(APIConnectionError):
                await refused.stats.retrieve()

    asyncio.run(main())
    assert sleeps.delays[1] == 2.0
