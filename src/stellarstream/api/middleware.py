"""Request ids: every response carries ``X-Request-Id`` and every log line of the request too."""

from __future__ import annotations

import random
import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_VALID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Echo a sane client ``X-Request-Id`` or make one; bind it to structlog's context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        # Ids tell log lines apart, they guard nothing: no syscall for randomness per request.
        request_id = sent if _VALID.match(sent) else f"{random.getrandbits(64):016x}"
        structlog.contextvars.bind_contextvars(request_id=request_id)
        scope.setdefault("state", {})["request_id"] = request_id  # for the 500 handler outside

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
        # Unbound only on success: an unhandled error is logged by the server-error handler
        # outside this middleware, still inside this request's task (and its context).
        structlog.contextvars.unbind_contextvars("request_id")
