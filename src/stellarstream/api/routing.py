"""``DirectRoute``: a FastAPI route whose endpoint is called as is, without dependency solving.

For the hottest reads only (``GET /streams/{id}``: wallets poll it). FastAPI solves each
request's parameters and dependencies with pydantic, then renders the return value through the
response model; for an endpoint that takes nothing but ``request`` and string path parameters
and returns a built :class:`Response`, that is pure overhead (bench/api.py: about a fifth of a
lookup's CPU). The route is declared like any other, so the OpenAPI document, the response
model's schema, error handlers and middleware stay as they are.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["DirectRoute"]


class DirectRoute(APIRoute):
    """Call ``endpoint(request=..., **path_params)`` directly; it must return a Response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        extra = (
            dependant.query_params
            or dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.dependencies
        )
        if extra or not inspect.iscoroutinefunction(self.endpoint):
            raise TypeError(
                f"DirectRoute {self.path}: the endpoint must be async and take only the request "
                "and its path parameters"
            )
        if any(p.field_info.annotation is not str for p in dependant.path_params):
            raise TypeError(f"DirectRoute {self.path}: path parameters must be plain str")
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            response: Response = await endpoint(request=request, **request.path_params)
            return response

        return handler
