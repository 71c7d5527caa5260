"""Property-based API tests from our own OpenAPI document (schemathesis) against the real server.

Every generated request, valid or not, must get no 5xx, a response matching its documented
schema and status, and for errors the common ``{"error": {...}}`` shape.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from stellar_sdk import Keypair
from tests.support.auth import sign_in

from stellarstream.api.app import create_app
from stellarstream.config import load_settings


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document (the same one /openapi.json serves; no database needed)."""
    var = Path(tempfile.mkdtemp(prefix="stellarstream-openapi-"))
    settings = load_settings(_env_file=None, var_dir=var, database_url=f"sqlite:///{var / 'x.db'}")
    document: dict[str, Any] = create_app(settings).openapi()
    return document


@pytest.fixture
def bearer(api_url: str) -> dict[str, str]:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        return sign_in(client, Keypair.random())


# Server-Sent Events never end: they are tested on their own in test_streams.py.
schema = schemathesis.openapi.from_dict(_openapi_document()).exclude(path_regex=r"/live$")


def test_the_served_document_is_the_one_tested(api_url: str) -> None:
    served = httpx.get(f"{api_url}/openapi.json").json()
    assert served["paths"].keys() == _openapi_document()["paths"].keys()


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
def test_api_conforms_to_its_openapi_document(
    case: Any, api_url: str, bearer: dict[str, str]
) -> None:
    response = case.call(base_url=api_url, headers=bearer)
    # Excluded, with reasons: schema-valid but rejected input is expected (StrKey checksums, i128
    # bounds, lifecycle rules cannot all be said in JSON Schema); and "negative" cases that drop
    # Authorization are re-authorised by the bearer header this test adds, and unknown query
    # parameters are ignored by design. Every other check stays on, and every 4xx must be in the
    # common error shape (below); field validation has its own tests.
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance, negative_data_rejection]
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and {"code", "message", "field"} <= set(body["error"])
