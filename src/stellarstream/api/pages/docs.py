"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc), served offline and same-origin.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (a blank page without the internet)
and start Swagger UI with an inline script (refused by a strict CSP). Here the assets come from
the ``fastapi-offline`` package (Swagger UI 5 and ReDoc 2, files installed with it), each
loaded with its Subresource Integrity hash, and the start-up script is a file of this origin.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

from stellarstream.api.pages.assets import Bundle, packaged, sri

ASSETS_PATH = "/docs/assets"
ASSETS_PACKAGE = ("fastapi_offline", "static")

router = APIRouter(include_in_schema=False)

# Started from this file, not inline: the page's CSP allows scripts from this origin only.
INIT_JS = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""


def asset(name: str) -> Bundle:
    """URL and SRI hash of a file of the docs assets (``fastapi-offline``'s, read once)."""
    package, folder = ASSETS_PACKAGE
    return packaged(package, folder, name, ASSETS_PATH)


INIT = Bundle(url="/docs/init.js", integrity=sri(INIT_JS.encode()))


def csp(nonce: str, *, inline_styles: bool = False) -> str:
    """Scripts, styles, images and the OpenAPI document from this origin only. ReDoc writes its
    styles into ``<style>`` elements at run time (styled-components): its page allows inline
    styles, never inline scripts; its search runs in a ``blob:`` worker."""
    styles = "'self' 'unsafe-inline'" if inline_styles else f"'self' 'nonce-{nonce}'"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src {styles}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


def _page(body: str, nonce: str, *, inline_styles: bool = False) -> HTMLResponse:
    return HTMLResponse(
        body,
        headers={
            "Content-Security-Policy": csp(nonce, inline_styles=inline_styles),
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
        },
    )


def _script(item: Bundle) -> str:
    return (
        f'<script src="{item.url}" integrity="{item.integrity}" crossorigin="anonymous"></script>'
    )


def _openapi_url(request: Request) -> str:
    app: FastAPI = request.app
    return f"{request.scope.get('root_path', '')}{app.openapi_url}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    css, favicon = asset("swagger-ui.css"), asset("favicon.png")
    title = escape(f"{request.app.title} - Swagger UI")
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{favicon.url}">
<link rel="stylesheet" href="{css.url}" integrity="{css.integrity}" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{escape(_openapi_url(request))}"></div>
{_script(asset("swagger-ui-bundle.js"))}
{_script(INIT)}
</body>
</html>
"""
    return _page(body, nonce)


@router.get("/docs/init.js")
def swagger_ui_init() -> Response:
    return Response(
        INIT_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    favicon = asset("favicon.png")
    title = escape(f"{request.app.title} - ReDoc")
    body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{favicon.url}">
</head>
<body>
<redoc spec-url="{escape(_openapi_url(request))}"></redoc>
{_script(asset("redoc.standalone.js"))}
</body>
</html>
"""
    return _page(body, nonce, inline_styles=True)


def install(app: FastAPI) -> None:
    """The docs pages and their assets (the app is made with ``docs_url=None, redoc_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
