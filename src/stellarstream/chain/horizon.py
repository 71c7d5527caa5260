"""Horizon as a source of contract events: transactions' ``result_meta_xdr``.

Horizon has no contract-event endpoint. We page ``/transactions`` in ledger order
(``cursor`` = a paging token, ``order=asc``, ``limit=200``, ``include_failed=true``) and read the
events out of each transaction's TransactionMeta (v3 ``soroban_meta.events``, v4 per-operation
events) with :mod:`stellarstream.chain.meta`, which numbers them exactly as Stellar RPC does, so
``(tx_hash, event_index)`` keys agree whichever source delivered an event.

Many Horizon instances (SDF's public one since protocol 22) skip transaction meta: then this
source raises :class:`MetaUnavailable` naming the first ledger it cannot read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
from stellar_sdk import xdr

from stellarstream.chain.meta import events_from_transaction_meta
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.errors import (
    MalformedResponse,
    MetaUnavailable,
    RangeUnavailable,
    SourceError,
    SourceUnavailable,
)
from stellarstream.retry import Backoff, Uniform, retry_after

PAGE_LIMIT = 200
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def toid(ledger: int, tx_index: int = 0, op_index: int = 0) -> int:
    return (ledger << 32) | (tx_index << 12) | op_index


class HorizonClient:
    """A small Horizon REST client with retries (full-jitter backoff, ``Retry-After``).

    ``max_retries`` retries follow the first attempt; ``sleep`` and ``rng`` are injectable.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 15.0,
        max_retries: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], object] = time.sleep,
        rng: Uniform | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        self.backoff = Backoff(
            base=backoff_initial, cap=backoff_max, jitter="full", retries=max_retries
        )
        self.requests = 0
        self._sleep = sleep
        self._rng = rng
        self._http = httpx.Client(timeout=timeout, headers={"User-Agent": "stellarstream"})

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` as JSON, retrying transient failures."""
        last = ""
        for attempt in range(1, self.max_retries + 2):
            wait: float | None = None
            try:
                self.requests += 1
                response = self._http.get(f"{self.url}{path}", params=params)
                if response.status_code == 404:
                    raise RangeUnavailable(
                        f"Horizon has no {path}", oldest_ledger=0, latest_ledger=0
                    )
                if response.status_code in RETRY_STATUSES:
                    last = f"HTTP {response.status_code}"
                    wait = retry_after(response.headers.get("Retry-After"))
                elif response.status_code >= 400:
                    raise SourceError(f"Horizon {path} answered HTTP {response.status_code}")
                else:
                    body = response.json()
                    if not isinstance(body, dict):
                        raise ValueError("not an object")
                    return body
            except (httpx.TransportError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            if not self.backoff.exhausted(attempt):
                self._sleep(self.backoff.wait(attempt, wait, self._rng))
        raise SourceUnavailable(f"Horizon at {self.url} unavailable: {last}")

    def ledger_bounds(self) -> tuple[int, int]:
        """(oldest, latest) ledger this Horizon has history for."""
        root = self.get("/")
        try:
            return int(root["history_elder_ledger"]), int(root["history_latest_ledger"])
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse("Horizon root lacks history_*_ledger") from exc


class HorizonSource:
    """:class:`~stellarstream.chain.source.EventSource` over Horizon transactions."""

    name = "horizon"

    def __init__(self, client: HorizonClient, *, limit: int = PAGE_LIMIT) -> None:
        self.client = client
        self.limit = limit

    def batches(
        self,
        contract_ids: list[str],
        start_ledger: int,
        end_ledger: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Batch]:
        oldest, latest = self.client.ledger_bounds()
        end = latest if end_ledger is None else min(end_ledger, latest)
        if start_ledger < oldest:
            raise RangeUnavailable(
                f"Horizon keeps ledgers {oldest} - {latest}; {start_ledger} is older",
                oldest_ledger=oldest,
                latest_ledger=latest,
            )
        wanted = frozenset(contract_ids)
        # Every transaction of ledger L has a paging token above toid(L, 0, 0).
        position = cursor or str(toid(start_ledger))
        covered = start_ledger - 1
        while covered < end:
            page = self.client.get(
                "/transactions",
                {"cursor": position, "order": "asc", "limit": self.limit, "include_failed": "true"},
            )
            records = _records(page)
            events: list[RawEvent] = []
            past_end = False
            for record in records:
                ledger = int(record["ledger"])
                if ledger > end:
                    past_end = True
                    break
                events += _events_of(record, ledger, wanted)
                position = str(record["paging_token"])
            if past_end or len(records) < self.limit:
                covered = end
            elif records:
                covered = max(covered, int(records[-1]["ledger"]) - 1)
            yield Batch(
                events, covered_to=covered, cursor=position, latest_ledger=latest, source=self.name
            )


def _records(page: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        records = page["_embedded"]["records"]
    except (KeyError, TypeError) as exc:
        raise MalformedResponse("Horizon page lacks _embedded.records") from exc
    if not isinstance(records, list):
        raise MalformedResponse("Horizon _embedded.records is not a list")
    return records


def _events_of(record: dict[str, Any], ledger: int, wanted: frozenset[str]) -> list[RawEvent]:
    meta_b64 = record.get("result_meta_xdr")
    if not meta_b64:
        raise MetaUnavailable(
            f"this Horizon keeps no transaction meta (ledger {ledger}, tx {record.get('hash')})",
            ledger=ledger,
        )
    try:
        meta = xdr.TransactionMeta.from_xdr(meta_b64)
        tx_index = (int(record["paging_token"]) >> 12) & 0xFFFFF
        closed_at = datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
        return events_from_transaction_meta(
            meta,
            ledger=ledger,
            closed_at=closed_at,
            tx_hash=str(record["hash"]),
            tx_index=tx_index,
            contract_ids=wanted,
            successful=bool(record.get("successful", True)),
        )
    except Exception as exc:  # xdrlib raises assorted types on a bad envelope
        raise MalformedResponse(f"Horizon transaction record in ledger {ledger}: {exc}") from exc
