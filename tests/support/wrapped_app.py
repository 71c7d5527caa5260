"""The real API plus test-only routes, served by gunicorn under PM2 in ``tests/ops/test_pm2.py``.

``STELLARSTREAM_GUNICORN_APP=tests.support.wrapped_app:app`` (gunicorn runs in the repository
root, which it puts on ``sys.path``). The product never serves these routes:

* ``GET /_test/pid``: which worker answered;
* ``GET /_test/slow?seconds=3``: an in-flight request to see through a graceful stop;
* ``POST /_test/bloat?mb=200``: make this worker big (for the health monitor's memory limit);
* ``POST /_test/spin?seconds=4``: keep one core busy in this worker (for the CPU alert).
"""

from __future__ import annotations

import asyncio
import os
import time

from stellarstream.api.asgi import app

_ballast: list[bytes] = []


@app.get("/_test/pid", include_in_schema=False)
def pid() -> dict[str, int]:
    return {"pid": os.getpid()}


@app.get("/_test/slow", include_in_schema=False)
async def slow(seconds: float = 3.0) -> dict[str, float | int]:
    started = time.monotonic()
    await asyncio.sleep(seconds)
    return {"pid": os.getpid(), "slept": round(time.monotonic() - started, 3)}


@app.post("/_test/bloat", include_in_schema=False)
def bloat(mb: int = 200) -> dict[str, int]:
    _ballast.append(b"\x01" * (mb * 1024 * 1024))  # written pages: they count in RSS
    return {"pid": os.getpid()}


@app.post("/_test/spin", include_in_schema=False)
def spin(seconds: float = 4.0) -> dict[str, int]:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return {"pid": os.getpid()}
