"""The test suite's fake Stellar RPC with a precomputed ``getEvents`` path, for benchmarks.

:class:`BenchRpc` is :class:`tests.support.stellar_rpc.FakeStellarRpc` (same chain, same
JSON-RPC semantics, still real HTTP on 127.0.0.1) except that a ``getEvents`` request for one
contract is answered from events serialised once, up front: the answer is a ``bisect`` and a
``b",".join`` instead of ~10 us of Python per event. Everything else (other methods, other filter
shapes, every error) goes through the original code. Pages are prebuilt in one ``xdrFormat``
(``json`` by default, as the product asks; another format takes the slow path).
:meth:`BenchRpc.check` compares both paths on real requests.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import inspect
import json
import pickle
import time
from pathlib import Path
from typing import Any

import tests.support.stellar_rpc
from tests.support.stellar_rpc import Chain, ChainEvent, FakeStellarRpc, read_body, respond

from stellarstream.chain.event_ids import EventId
from stellarstream.chain.rpc import MAX_LEDGERS_PER_REQUEST


class BenchRpc(FakeStellarRpc):
    """A fake node whose one-contract ``getEvents`` pages are slices of prebuilt JSON."""

    def __init__(
        self,
        chain: Chain,
        *,
        xdr_format: str = "json",
        cache: Path | None = None,
        **options: Any,
    ) -> None:
        """``cache``: a directory keeping the serialised events between runs (XDR-JSON takes
        ~1 ms an event), keyed by a digest of the chain's events, the format and the fake
        node's code; :meth:`check` still compares fresh answers with them."""
        super().__init__(chain, **options)
        self.xdr_format = xdr_format  # the format whose pages are prebuilt
        self._index: dict[str, tuple[list[tuple[int, int, int, int]], list[str], list[bytes]]] = {}
        contract = [event for event in chain.events if event.type == "contract"]
        key = _digest(contract, xdr_format, repr((sorted(chain.close_times.items()), options)))
        path = None if cache is None else cache / f"pages-{key}.pickle"
        if path is not None and path.exists():
            serialised = pickle.loads(path.read_bytes())
        else:
            serialised = [
                json.dumps(self.event_json(e, xdr_format), separators=(",", ":")).encode()
                for e in contract
            ]
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.with_suffix(".tmp").write_bytes(pickle.dumps(serialised))
                path.with_suffix(".tmp").replace(path)
        for event, fragment in zip(contract, serialised, strict=True):
            keys, ids, fragments = self._index.setdefault(event.contract_id, ([], [], []))
            keys.append(event.key)
            ids.append(event.id)
            fragments.append(fragment)
        self.page_seconds: list[float] = []  # time to build each fast getEvents answer
        self.fast_pages = 0
        self.bytes_sent = 0
        self.thread_seconds = 0.0  # CPU time of the server thread (uvicorn's event loop)

    # --- ASGI: the parent's, minus faults, plus the fast path ---

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await super().__call__(scope, receive, send)
            return
        began = time.thread_time()
        body = await read_body(receive)
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        method = request.get("method") if isinstance(request, dict) else None
        self.requests[method if isinstance(method, str) else "<invalid>"] += 1
        payload = None
        if method == "getEvents" and isinstance(request.get("params"), dict):  # type: ignore[union-attr]
            started = time.perf_counter()
            result = self.fast_events(request["params"])  # type: ignore[index]
            if result is not None:
                request_id = json.dumps(request.get("id")).encode()  # type: ignore[union-attr]
                payload = b'{"jsonrpc":"2.0","id":' + request_id + b',"result":' + result + b"}"
                self.page_seconds.append(time.perf_counter() - started)
                self.fast_pages += 1
        if payload is None:
            payload = json.dumps(self.answer(request)).encode()
        self.bytes_sent += len(payload)
        await respond(send, 200, payload)
        self.thread_seconds += time.thread_time() - began

    def fast_events(self, params: dict[str, Any]) -> bytes | None:
        """The ``result`` JSON of a plain one-contract request, or None to use the slow path.

        Mirrors :meth:`FakeStellarRpc._get_events` (start inclusive, endLedger exclusive, cursor
        strictly after, at most ``ledger_scan_limit`` ledgers and ``limit`` events).
        """
        chain = self.chain
        oldest, latest = chain.oldest_ledger, chain.latest_ledger
        if set(params) - {"filters", "pagination", "startLedger", "endLedger", "xdrFormat"}:
            return None
        if (params.get("xdrFormat") or "base64") != self.xdr_format:
            return None
        filters = params.get("filters")
        if not isinstance(filters, list) or len(filters) != 1 or not isinstance(filters[0], dict):
            return None
        only = filters[0]
        ids = only.get("contractIds")
        if set(only) - {"type", "contractIds"} or only.get("type") != "contract":
            return None
        if not isinstance(ids, list) or len(ids) != 1 or ids[0] not in self._index:
            return None
        pagination = params.get("pagination") or {}
        if not isinstance(pagination, dict) or set(pagination) - {"limit", "cursor"}:
            return None
        limit = pagination.get("limit") or self.default_limit
        start, end = params.get("startLedger"), params.get("endLedger")
        if type(limit) is not int or not 0 < limit <= self.max_limit:
            return None
        if end is not None and (type(end) is not int or not 0 < end < 2**32):
            return None
        cursor_text = pagination.get("cursor")
        if cursor_text is not None:
            if start or end:
                return None
            try:
                cursor = EventId.parse(cursor_text)
            except ValueError:
                return None
            first = (cursor.ledger, cursor.tx_index, cursor.op_index, cursor.event_index + 1)
        elif type(start) is int and 0 < start < 2**32:
            first = (start, 0, 0, 0)
        else:
            return None
        end_ledger = min(first[0] + self.ledger_scan_limit, latest + 1)
        if end:
            end_ledger = min(end, end_ledger)
        if not oldest <= first[0] <= latest:
            return None  # the slow path answers the range error
        self.scans.append((first[0], end_ledger))
        keys, event_ids, fragments = self._index[ids[0]]
        at = bisect.bisect_left(keys, first)
        stop = min(at + limit, bisect.bisect_left(keys, (end_ledger, 0, 0, 0)))
        if stop - at == limit:
            cursor_out = event_ids[stop - 1]
        else:
            cursor_out = str(EventId.window_end(end_ledger - 1))
        rest = {
            "latestLedger": latest,
            "oldestLedger": oldest,
            "latestLedgerCloseTime": str(int(chain.close_time(latest).timestamp())),
            "oldestLedgerCloseTime": str(int(chain.close_time(oldest).timestamp())),
            "cursor": cursor_out,
        }
        tail = json.dumps(rest, separators=(",", ":")).encode()
        return b'{"events":[' + b",".join(fragments[at:stop]) + b"]," + tail[1:]

    def pages(self, contract_id: str, limit: int) -> list[bytes]:
        """Every event of ``contract_id`` as getEvents ``result`` bodies, ``limit`` a page."""
        _, ids, fragments = self._index[contract_id]
        latest = str(self.chain.latest_ledger).encode()
        return [
            b'{"events":['
            + b",".join(fragments[at : at + limit])
            + b'],"cursor":"'
            + ids[min(at + limit, len(ids)) - 1].encode()
            + b'","latestLedger":'
            + latest
            + b"}"
            for at in range(0, len(ids), limit)
        ]

    def check(self, contract_id: str, start: int, end: int, limit: int) -> int:
        """Follow the pages a sync asks for (first, second, last): fast == slow path."""
        window = min(start + MAX_LEDGERS_PER_REQUEST, end + 1)
        params: dict[str, Any] = {
            "filters": [{"type": "contract", "contractIds": [contract_id]}],
            "pagination": {"limit": limit},
            "startLedger": start,
            "endLedger": window,
        }
        if self.xdr_format != "base64":
            params["xdrFormat"] = self.xdr_format
        checked = 0
        for _ in range(2):
            fast = self.fast_events(params)
            assert fast is not None, params
            slow = self._get_events(params)
            if json.loads(fast) != slow:
                raise AssertionError(f"fast getEvents differs from the fake node for {params}")
            checked += len(slow["events"])
            params = {
                "filters": params["filters"],
                "pagination": {"limit": limit, "cursor": slow["cursor"]},
                **({"xdrFormat": params["xdrFormat"]} if "xdrFormat" in params else {}),
            }
        keys = self._index[contract_id][0]
        near_end = EventId(*keys[max(0, len(keys) - limit // 2)])
        params["pagination"]["cursor"] = str(near_end)
        fast = self.fast_events(params)
        assert fast is not None and json.loads(fast) == self._get_events(params)
        self.scans.clear()
        self.calls.clear()
        return checked


def _digest(events: list[ChainEvent], xdr_format: str, more: str) -> str:
    """What the serialised events depend on: the events, the format, the fake node's code and
    chain (``more``)."""
    digest = hashlib.sha256(xdr_format.encode() + more.encode())
    digest.update(inspect.getsource(tests.support.stellar_rpc).encode())
    for event in events:
        digest.update(repr(dataclasses.astuple(event)).encode())
    return digest.hexdigest()[:32]
