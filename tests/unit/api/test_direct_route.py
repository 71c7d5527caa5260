"""``DirectRoute`` calls its endpoint without dependency solving, and refuses endpoints that
need it (anything but the request and plain string path parameters)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query, Request, Response

from stellarstream.api.routing import DirectRoute


async def echo(item_id: str, request: Request) -> Response:
    """Echo the path parameter."""
    return Response(f"{item_id} {request.url.path}", media_type="text/plain")


def app_with(endpoint: object, path: str = "/items/{item_id}") -> FastAPI:
    router = APIRouter()
    router.add_api_route(path, endpoint, methods=["GET"], route_class_override=DirectRoute)  # type: ignore[arg-type]
    app = FastAPI()
    app.include_router(router)
    return app


def test_the_endpoint_gets_the_decoded_path_parameter_and_the_request() -> None:
    app = app_with(echo)

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/items/a%20b")

    answer = asyncio.run(get())
    assert answer.status_code == 200 and answer.text == "a b /items/a b"
    operation = app.openapi()["paths"]["/items/{item_id}"]["get"]
    assert operation["parameters"][0]["name"] == "item_id"  # documented like any route
    assert operation["description"] == "Echo the path parameter."


async def with_query(item_id: str, request: Request, n: int = Query(1)) -> Response:
    return Response(str(n))


def sync_endpoint(item_id: str, request: Request) -> Response:
    return Response(item_id)


async def int_path(item_id: int, request: Request) -> Response:
    return Response(str(item_id))


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (with_query, "must be async and take only the request"),
        (sync_endpoint, "must be async and take only the request"),
        (int_path, "path parameters must be plain str"),
    ],
)
def test_an_endpoint_that_needs_solving_is_refused(endpoint: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        app_with(endpoint)
