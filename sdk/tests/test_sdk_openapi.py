"""Every HTTP method of the SDK maps to a route of the running API's ``/openapi.json``."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import httpx
from stellar_sdk import Keypair
from tests.support import contract_events as ce

from conftest import CONTRACT, one_stream, seed
from nebula_sdk import NebulaClient
from nebula_sdk.resources import Auth, InvoiceLinks, StatsResource, Streams, SyncStatusResource

CONTRACT_CALLS = {  # these talk to the Stellar RPC node, not to the API
    "Streams.create",
    "Streams.withdraw",
    "Streams.cancel",
    "Streams.top_up",
    "InvoiceLinks.pay",
}


def _routes(api_url: str) -> list[tuple[str, re.Pattern[str]]]:
    spec = httpx.get(f"{api_url}/openapi.json").json()
    return [
        (method.upper(), re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"))
        for path, operations in spec["paths"].items()
        for method in operations
    ]


def test_every_sdk_method_hits_a_documented_route(
    api_url: str, database_url: str, keypair: Keypair
) -> None:
    seed(database_url, [one_stream(0)])
    seen: list[tuple[str, str, str]] = []
    current = ["?"]

    def record(request: httpx.Request) -> None:
        seen.append((current[0], request.method, request.url.path))

    http = httpx.Client(event_hooks={"request": [record]}, timeout=10)
    sid = f"{CONTRACT}-0"
    with NebulaClient(api_url, http_client=http) as client:
        calls: dict[str, Callable[[], Any]] = {
            "Auth.challenge": lambda: client.auth.challenge(keypair.public_key),
            "Auth.login": lambda: client.auth.login(keypair),
            "Auth.token": lambda: client.auth.token(
                __import__("nebula_sdk.resources.auth", fromlist=["x"]).sign_challenge(
                    client.auth.challenge(keypair.public_key), keypair
                )
            ),
            "Streams.list": lambda: client.streams.list(),
            "Streams.retrieve": lambda: client.streams.retrieve(sid),
            "Streams.wait_for": lambda: client.streams.wait_for(sid),
            "Streams.list_events": lambda: client.streams.list_events(sid),
            "Streams.retrieve_history": lambda: client.streams.retrieve_history(sid),
            "Streams.retrieve_yield": lambda: client.streams.retrieve_yield(sid),
            "Streams.project_yield": lambda: client.streams.project_yield(sid, days=3),
            "Streams.search": lambda: client.streams.search("x" * 5),
            "Streams.export_csv": lambda: client.streams.export_csv(ce.account(1)),
            "StatsResource.retrieve": lambda: client.stats.retrieve(),
            "SyncStatusResource.retrieve": lambda: client.sync_status.retrieve(),
        }
        links: dict[str, Any] = {}

        def create_link() -> None:
            links["link"] = client.invoice_links.create(
                receiver=ce.account(2), amount=1, token_address=ce.TOKEN, duration=60
            )

        calls |= {
            "InvoiceLinks.create": create_link,
            "InvoiceLinks.retrieve": lambda: client.invoice_links.retrieve(links["link"].slug),
            "InvoiceLinks.list": lambda: client.invoice_links.list(),
            "InvoiceLinks.update_status": lambda: client.invoice_links.update_status(
                links["link"].id, "CANCELED"
            ),
            "InvoiceLinks.delete": lambda: client.invoice_links.delete(links["link"].id),
        }
        for name, call in calls.items():
            current[0] = name
            call()
    http.close()

    public = {
        f"{cls.__name__}.{name}"
        for cls in (Auth, Streams, InvoiceLinks, StatsResource, SyncStatusResource)
        for name, _ in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    } - CONTRACT_CALLS
    assert public == set(calls), "every API method of the SDK is exercised here"
    routes = _routes(api_url)
    assert {name for name, _, _ in seen} == set(calls)
    for name, method, path in seen:
        assert any(m == method and rx.match(path) for m, rx in routes), (name, method, path)
