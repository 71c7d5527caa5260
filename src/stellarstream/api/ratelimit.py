"""Rate limits per client and route class, answered with 429, ``Retry-After`` and the error shape.

* Client: the subject (Stellar account) of a valid bearer token, else the client IP (behind a
  proxy, the forwarded address the server trusts).
* Route class: ``auth`` (``/api/v1/auth/...``), ``writes`` (POST, PUT, PATCH, DELETE) and
  ``reads`` (everything else). Probes (``/livez``, ``/readyz``, ``/metrics``) and CORS
  preflights are never limited.
* Algorithm: a fixed window of ``STELLARSTREAM_RATE_LIMIT_WINDOW_SECONDS`` per (class, client).
  With ``STELLARSTREAM_REDIS_URL`` the counters live in Redis (one atomic Lua script: INCR, set the
  expiry on the first hit, read the time left), so every worker and host shares them; without it
  each process counts on its own. If Redis is unreachable requests are let through (and logged):
  a broken limiter must not take the API down (nor slow it: after a failure Redis is not asked
  again for 5 seconds).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from stellarstream.api.errors import error_response
from stellarstream.auth.tokens import verify_token
from stellarstream.clock import Clock
from stellarstream.config import Settings
from stellarstream.errors import AuthError

log = structlog.get_logger(__name__)

EXEMPT_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUTH_PREFIX = "/api/v1/auth/"


class RouteClass(StrEnum):
    AUTH = "auth"
    WRITES = "writes"
    READS = "reads"


def route_class(method: str, path: str) -> RouteClass | None:
    """The class a request counts against, or ``None`` when it is not limited."""
    if path in EXEMPT_PATHS or method == "OPTIONS":
        return None
    if path.startswith(AUTH_PREFIX) or path == AUTH_PREFIX.rstrip("/"):
        return RouteClass.AUTH
    return RouteClass.WRITES if method in WRITE_METHODS else RouteClass.READS


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    """Seconds until the window resets."""


class Backend(Protocol):
    async def hit(self, key: str, limit: int, window: float) -> Decision: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """Fixed windows in this process (one gunicorn worker counts alone)."""

    SWEEP_EVERY = 1024

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._hits = 0

    async def hit(self, key: str, limit: int, window: float) -> Decision:
        with self._lock:
            now = self._now()
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                self._windows = {k: v for k, v in self._windows.items() if v[0] > now}
            ends, count = self._windows.get(key, (0.0, 0))
            if ends <= now:
                ends, count = now + window, 0
            count += 1
            self._windows[key] = (ends, count)
        return Decision(count <= limit, limit, max(0, limit - count), max(0.0, ends - now))

    async def close(self) -> None:
        pass


# KEYS[1]: the window's counter. ARGV[1]: window in ms. Returns {count, ms left}.
FIXED_WINDOW_LUA = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""


class RedisBackend:
    """Fixed windows in Redis, shared by every process that uses the same Redis and prefix."""

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._script = client.register_script(FIXED_WINDOW_LUA)

    @classmethod
    def from_url(cls, url: str) -> RedisBackend:
        return cls(Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))

    async def hit(self, key: str, limit: int, window: float) -> Decision:
        count, ttl_ms = await self._script(keys=[key], args=[max(1, int(window * 1000))])
        count, ttl_ms = int(count), int(ttl_ms)
        return Decision(count <= limit, limit, max(0, limit - count), max(0, ttl_ms) / 1000)

    async def close(self) -> None:
        await self._client.aclose()


class RateLimiter:
    """Who a request is, which class it belongs to, and whether it may go on."""

    RETRY_BACKEND_AFTER = 5.0
    """Seconds to let requests through unchecked after the backend failed."""

    def __init__(self, settings: Settings, clock: Clock, backend: Backend) -> None:
        self._settings = settings
        self._clock = clock
        self.backend = backend
        self._limits = {
            RouteClass.AUTH: settings.rate_limit_auth,
            RouteClass.WRITES: settings.rate_limit_writes,
            RouteClass.READS: settings.rate_limit_reads,
        }
        self._window = float(settings.rate_limit_window_seconds)
        self._prefix = f"{settings.redis_key_prefix}ratelimit:"
        self._backend_down_logged = float("-inf")
        self._backend_down_until = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> RateLimiter:
        url = settings.redis_url.get_secret_value() if settings.redis_url else ""
        backend: Backend = RedisBackend.from_url(url) if url else MemoryBackend()
        return cls(settings, clock, backend)

    def client_of(self, scope: Scope) -> str:
        """``sub:<account>`` for a valid bearer token, else ``ip:<address>``."""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    try:
                        return "sub:" + verify_token(
                            self._settings.jwt_key, token.strip(), self._clock()
                        )
                    except AuthError:
                        pass
                break
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    async def check(self, scope: Scope) -> tuple[RouteClass, Decision] | None:
        kind = route_class(str(scope.get("method", "GET")), str(scope.get("path", "")))
        if kind is None:
            return None
        key = f"{self._prefix}{kind.value}:{self.client_of(scope)}"
        now = time.monotonic()
        if now < self._backend_down_until:
            return None  # the backend failed a moment ago: do not make every request wait on it
        try:
            decision = await self.backend.hit(key, self._limits[kind], self._window)
        except (RedisError, OSError) as exc:
            self._backend_down_until = now + self.RETRY_BACKEND_AFTER
            if now - self._backend_down_logged > 60:
                self._backend_down_logged = now
                log.warning(
                    "rate_limit_backend_unavailable",
                    error=type(exc).__name__,
                    effect="requests are not rate limited until it answers",
                )
            return None
        return kind, decision

    @property
    def window(self) -> float:
        return self._window


class RateLimitMiddleware:
    """429 (the common error shape, ``Retry-After``) once a client used up its class's window."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checked = await self.limiter.check(scope)
        if checked is None or checked[1].allowed:
            await self.app(scope, receive, send)
            return
        kind, decision = checked
        retry_after = max(1, math.ceil(decision.retry_after))
        response = error_response(
            429,
            "rate_limited",
            f"too many {kind.value} requests: at most {decision.limit} per "
            f"{self.limiter.window:g} s for each client; retry in {retry_after} s",
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(decision.limit),
                "X-RateLimit-Remaining": "0",
            },
        )
        await response(scope, receive, send)
