"""``/docs`` and ``/redoc`` work offline: every asset they reference is served by this origin
(from the installed package, with its SRI hash), and the pages carry a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

import httpx
import pytest


def referenced(html: str) -> list[tuple[str, str | None]]:
    """(URL, integrity) of every script, stylesheet and icon the page loads."""
    found = []
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", html):
        url = re.search(r'\b(?:src|href)="([^"]+)"', tag)
        if url:
            integrity = re.search(r'\bintegrity="([^"]+)"', tag)
            found.append((url.group(1), integrity.group(1) if integrity else None))
    return found


@pytest.mark.parametrize(
    ("path", "needs"),
    [
        ("/docs", ["swagger-ui-bundle.js", "swagger-ui.css", "/docs/init.js"]),
        ("/redoc", ["redoc.standalone.js"]),
    ],
)
def test_docs_pages_load_everything_from_this_origin(
    client: httpx.Client, path: str, needs: list[str]
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-eval" not in csp
    assert "<script>" not in page.text  # nothing inline runs (the CSP would refuse it)
    assert not re.search(r"https?://", page.text), "the page names another origin"
    assets = referenced(page.text)
    for need in needs:
        assert any(need in url for url, _ in assets), (need, assets)
    for url, integrity in assets:
        assert urlsplit(url).netloc == "" and url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.content) > 0
        if url.endswith(".js") or ".js?" in url:
            assert "javascript" in response.headers["content-type"], url
            assert integrity is not None, f"{url} is loaded without an SRI hash"
        if integrity is not None:
            digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
            assert integrity == f"sha384-{digest}", url
    if path == "/docs":
        openapi = re.search(r'data-openapi-url="([^"]+)"', page.text)
        assert openapi and client.get(openapi.group(1)).json()["info"]["title"]


def test_swagger_ui_is_version_5_and_reads_openapi_3_1(client: httpx.Client) -> None:
    """Swagger UI 4 cannot render the OpenAPI 3.1 document FastAPI writes."""
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    url = next(u for u, _ in referenced(client.get("/docs").text) if "swagger-ui-bundle" in u)
    bundle = client.get(url).text
    assert re.search(r'"5\.\d+\.\d+"', bundle)
