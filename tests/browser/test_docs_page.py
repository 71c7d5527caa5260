"""``/docs`` renders the API in Chromium with every other origin unreachable, under its CSP
(a refused script or style is a console error, which fails the test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from tests.support.clock import FakeClock
from tests.support.server import serve


@pytest.fixture
def site(settings: Settings, clock: FakeClock) -> Iterator[str]:
    with serve(create_app(settings, clock=clock)) as url:
        yield url


def offline(page: Any, site: str) -> list[str]:
    """Abort every request to another origin; return the paths asked of this one."""
    origin = urlsplit(site).netloc
    asked: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if urlsplit(url).netloc != origin:
            request_route.abort()  # offline (the CSP refuses it first, a console error)
            return
        asked.append(urlsplit(url).path)
        request_route.continue_()

    page.route("**/*", route)
    return asked


def test_swagger_ui_renders_offline(page: Any, site: str) -> None:
    asked = offline(page, site)
    page.goto(f"{site}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "StellarStream API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/invoice-links" in p.replace("\u200b", "") for p in paths), paths
    assert "/openapi.json" in asked


def test_redoc_renders_offline(page: Any, site: str, console: Any) -> None:
    # ReDoc's sidebar credit is an image on its CDN: the CSP refuses it, nothing else is missing.
    console.allow(r"cdn\.redoc\.ly/redoc/logo-mini\.svg")
    offline(page, site)
    page.goto(f"{site}/redoc")
    page.wait_for_selector("h1:has-text('StellarStream API')")
