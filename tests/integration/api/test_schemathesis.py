"""Property-based API tests from our own OpenAPI document (schemathesis) against the real server.

Every generated request, valid or not, must get no 5xx, a response matching its documented
schema and status, and for errors the common ``{"error": {...}}`` shape.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from stellar_sdk import Keypair
from tests.support.auth import sign_in


@pytest.fixture
def api_schema(api_url: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{api_url}/openapi.json")
    # Server-Sent Events never end: they are tested on their own in test_streams.py.
    return schema.exclude(path_regex=r"/live$")


@pytest.fixture
def bearer(api_url: str) -> dict[str, str]:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        return sign_in(client, Keypair.random())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_conforms_to_its_openapi_document(case: Any, bearer: dict[str, str]) -> None:
    response = case.call(headers=bearer)
    case.validate_response(response)
    assert response.status_code < 500
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "field"} <= set(body["error"])
