"""The baseline for ``bench/api.py``: a bare Starlette endpoint returning a fixed JSON object.

Served exactly like the API (gunicorn, uvicorn workers, one per core), so the ratio between an
API endpoint and this one is what the framework, the database and the product code cost.

    .venv/bin/gunicorn -k uvicorn_worker.UvicornWorker -w 2 --pythonpath bench bare_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

PAYLOAD = {"status": "ok", "service": "bare", "version": 1}


async def bare(_request: Request) -> JSONResponse:
    return JSONResponse(PAYLOAD)


app = Starlette(routes=[Route("/bare", bare)])
