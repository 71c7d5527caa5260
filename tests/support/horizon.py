"""A local fake Horizon (REST over real HTTP) serving transactions built from LedgerCloseMetas.

Serves ``/`` (history bounds) and ``/transactions?cursor=&order=asc&limit=&include_failed=``
with real ``result_meta_xdr`` from the ledgers it is given, or without meta (``keep_meta=False``,
like SDF's public Horizon since protocol 22). ``faults`` holds HTTP statuses (or "reset") for
the next requests; a status fault carries ``Retry-After: {retry_after}`` (``"0"`` unless set).
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from stellar_sdk import xdr as x

from stellarstream.chain.horizon import toid
from tests.support.server import serve

_SUCCESS = {x.TransactionResultCode.txSUCCESS, x.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS}


def transaction_records(lcms: Iterable[x.LedgerCloseMeta]) -> list[dict[str, Any]]:
    """Horizon ``/transactions`` records for every transaction of ``lcms``, in order."""
    records: list[dict[str, Any]] = []
    for lcm in lcms:
        body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}[lcm.v]
        header = body.ledger_header.header
        ledger = int(header.ledger_seq.uint32)
        closed = datetime.fromtimestamp(header.scp_value.close_time.time_point.uint64, tz=UTC)
        for index, processing in enumerate(body.tx_processing, start=1):
            records.append(
                {
                    "id": processing.result.transaction_hash.hash.hex(),
                    "hash": processing.result.transaction_hash.hash.hex(),
                    "ledger": ledger,
                    "paging_token": str(toid(ledger, index)),
                    "successful": processing.result.result.result.code in _SUCCESS,
                    "created_at": closed.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "result_meta_xdr": processing.tx_apply_processing.to_xdr(),
                }
            )
    return records


class FakeHorizon:
    """ASGI app over a list of transaction records."""

    def __init__(
        self, records: list[dict[str, Any]], *, elder: int, latest: int, keep_meta: bool = True
    ) -> None:
        self.records = sorted(records, key=lambda r: int(r["paging_token"]))
        self.elder = elder
        self.latest = latest
        self.keep_meta = keep_meta
        self.faults: deque[str] = deque()
        self.retry_after = "0"
        self.requests: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        self.requests[path] += 1
        if self.faults:
            fault = self.faults.popleft()
            if fault == "reset":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [(b"content-length", b"100")],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b'{"_embedded":', "more_body": False}
                )
                return
            retry_after = [(b"retry-after", self.retry_after.encode())]
            await _json(send, int(fault), {"title": "fault"}, retry_after)
            return
        if path == "/":
            await _json(
                send,
                200,
                {"history_elder_ledger": self.elder, "history_latest_ledger": self.latest},
            )
            return
        if path != "/transactions":
            await _json(send, 404, {"title": "not found"})
            return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        cursor = int(query.get("cursor", "0") or 0)
        limit = min(int(query.get("limit", "10")), 200)
        page = [
            r
            for r in self.records
            if int(r["paging_token"]) > cursor and r["ledger"] <= self.latest
        ][:limit]
        if not self.keep_meta:
            page = [{k: v for k, v in r.items() if k != "result_meta_xdr"} for r in page]
        await _json(send, 200, {"_embedded": {"records": page}})


async def _json(
    send: Any, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


@contextmanager
def running_horizon(horizon: FakeHorizon) -> Iterator[str]:
    with serve(horizon) as url:
        yield url
