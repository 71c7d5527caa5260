"""The floors for ``bench/api.py``: Starlette + async psycopg doing exactly the SQL each API
read needs, returning the rows as JSON, nothing else (no validation, no amounts math, no
middleware). Served exactly like the API, so the ratio of an endpoint to its floor is what the
framework and the product code cost on top of the database work itself.

    STELLARSTREAM_FLOOR_DSN=postgresql://... .venv/bin/gunicorn -k uvicorn_worker.UvicornWorker \
        -w 2 --pythonpath bench floor_app:app

- ``/floor/streams/{contract}-{n}``: the stream row by (contract, stream id);
- ``/floor/streams?address=``: the keyset query of ``GET /api/v1/streams?address=`` (first
  page of 50, sender or receiver, newest first);
- ``/floor/stats``: the totals read (``stream_totals`` summed by token and state, the streams
  ending today, the party counts).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL_SIZE = 5
DAY = 86_400

STREAM = "SELECT * FROM streams WHERE contract_id = %s AND stream_id = %s"
BY_ADDRESS = (
    "SELECT * FROM streams WHERE sender = %s OR receiver = %s"
    " ORDER BY created_ledger DESC, id DESC LIMIT 51"
)
TOTALS = (
    "SELECT contract_id, token, version,"
    " CASE WHEN state <> 'live' THEN state WHEN end_day < %s THEN 'ended' ELSE 'ahead' END,"
    " sum(streams), sum(total_amount), sum(withdrawn_amount)"
    " FROM stream_totals GROUP BY 1, 2, 3, 4"
)
ENDING_TODAY = (
    "SELECT contract_id, version, count(*) FROM streams WHERE end_time >= %s AND end_time <= %s"
    " AND NOT archived AND NOT cancelled AND NOT paused GROUP BY 1, 2"
)
PARTIES = "SELECT role, count(*) FROM stream_parties GROUP BY role"


class Pool:
    """A fixed set of async connections, handed out one request at a time."""

    def __init__(self) -> None:
        self._free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self, dsn: str) -> None:
        for _ in range(POOL_SIZE):
            self._free.put_nowait(await psycopg.AsyncConnection.connect(dsn, autocommit=True))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await self._free.get()
        try:
            yield conn
        finally:
            self._free.put_nowait(conn)

    async def close(self) -> None:
        while not self._free.empty():
            await self._free.get_nowait().close()


pool = Pool()


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)  # i128 amounts as decimal strings, as the API sends them
    raise TypeError


def _json(content: object) -> Response:
    return Response(orjson.dumps(content, default=_default), media_type="application/json")


async def stream(request: Request) -> Response:
    contract, _, number = request.path_params["public_id"].rpartition("-")
    async with pool.connection() as conn:
        cur = await conn.cursor(row_factory=dict_row).execute(STREAM, (contract, int(number)))
        row = await cur.fetchone()
    if row is None:
        return _json({"error": "not found"})
    return _json(row)


async def streams(request: Request) -> Response:
    address = request.query_params["address"]
    async with pool.connection() as conn:
        cur = await conn.cursor(row_factory=dict_row).execute(BY_ADDRESS, (address, address))
        rows = await cur.fetchall()
    return _json({"data": rows[:50], "more": len(rows) > 50})


async def stats(_request: Request) -> Response:
    now = int(time.time())
    today = now // DAY
    async with pool.connection() as conn:
        totals = await (await conn.execute(TOTALS, (today,))).fetchall()
        ending = await (await conn.execute(ENDING_TODAY, (today * DAY, now))).fetchall()
        parties = await (await conn.execute(PARTIES)).fetchall()
    return _json(
        {
            "totals": [list(row) for row in totals],
            "endingToday": [list(row) for row in ending],
            "parties": dict(parties),
        }
    )


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await pool.open(os.environ["STELLARSTREAM_FLOOR_DSN"])
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/floor/streams/{public_id}", stream),
        Route("/floor/streams", streams),
        Route("/floor/stats", stats),
    ],
    lifespan=lifespan,
)
