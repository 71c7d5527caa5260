"""One access log line and the HTTP metrics for every request.

The line is JSON (structlog) with ``method``, ``route`` (the route template, never the concrete
path: paths hold invoice slugs), ``status``, ``duration_ms`` and, from the request-id middleware
around this one, ``request_id``. No header, query string or body is logged.
"""

from __future__ import annotations

import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stellarstream.api.metrics import UNMATCHED_ROUTE, HttpMetrics

log = structlog.get_logger("stellarstream.access")


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/streams/{stream_id}``), else a fixed label."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class AccessLogMiddleware:
    """Log and measure each HTTP request once it has been answered (or has failed)."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            route = route_template(scope)
            self.metrics.observe(method, route, status, seconds)
            log.info(
                "http_request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
