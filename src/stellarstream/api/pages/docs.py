"""``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc), served offline and same-origin.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (a blank page without the internet)
and start Swagger UI with an inline script (refused by a strict CSP). Here the assets come from
the ``fastapi-offline`` package (Swagger UI 5 and ReDoc 2, files installed with it), each
loaded with its Subresource Integrity hash, and the start-up script is a file of this origin.
The pages are ``templates/docs_*.html``, rendered by :func:`.render.html` under their own CSP.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from stellarstream.api.pages.assets import Bundle, packaged, sri
from stellarstream.api.pages.render import html

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


def _page(
    request: Request, template: str, name: str, *, inline_styles: bool = False, **context: Any
) -> HTMLResponse:
    """A docs page (``templates/docs_*.html``) under the docs' CSP, revalidated on each load."""
    return html(
        template,
        policy=lambda nonce: csp(nonce, inline_styles=inline_styles),
        cache_control="no-cache",
        title=f"{request.app.title} - {name}",
        favicon=asset("favicon.png"),
        openapi_url=_openapi_url(request),
        **context,
    )


def _openapi_url(request: Request) -> str:
    app: FastAPI = request.app
    return f"{request.scope.get('root_path', '')}{app.openapi_url}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _page(
        request,
        "docs_swagger.html",
        "Swagger UI",
        stylesheets=[asset("swagger-ui.css")],
        scripts=[asset("swagger-ui-bundle.js"), INIT],
    )


@router.get("/docs/init.js")
def swagger_ui_init() -> Response:
    return Response(
        INIT_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _page(
        request,
        "docs_redoc.html",
        "ReDoc",
        inline_styles=True,
        stylesheets=[],
        scripts=[asset("redoc.standalone.js")],
    )


def install(app: FastAPI) -> None:
    """The docs pages and their assets (the app is made with ``docs_url=None, redoc_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
