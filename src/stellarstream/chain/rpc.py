"""Stellar RPC: a JSON-RPC 2.0 client (``getEvents``, ``getHealth``, ...) and :class:`RpcSource`.

The HTTP layer is plain ``httpx``. Transient failures (connection errors, timeouts, HTTP 429 and
5xx, unparseable bodies, "server busy" JSON-RPC errors) are retried with exponential backoff and
full jitter (:class:`~stellarstream.retry.Backoff`), honouring ``Retry-After``; a start outside
the node's retention window raises :class:`RangeUnavailable` at once.

Event ids and cursors are :mod:`stellarstream.chain.event_ids`; results are parsed by
:mod:`stellarstream.chain.rpc_results`.
"""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, NoReturn, TypeVar

import httpx
from stellar_sdk import StrKey

from stellarstream import jsontext
from stellarstream.chain.event_ids import EventId, scanned_through
from stellarstream.chain.rpc_results import (
    EventsPage,
    Health,
    LatestLedger,
    NetworkInfo,
    parse_events_page,
    parse_health,
    parse_latest_ledger,
    parse_network,
    split_events_body,
)
from stellarstream.chain.source import Batch
from stellarstream.errors import (
    MalformedResponse,
    RangeUnavailable,
    RpcError,
    SourceError,
    SourceUnavailable,
)
from stellarstream.retry import Backoff, retry_after

XdrFormat = Literal["base64", "json"]
"""How ``getEvents`` serialises topics and values: base64 XDR or XDR-JSON (SEP-51)."""

T = TypeVar("T")

MAX_LEDGERS_PER_REQUEST = 10_000
"""A node scans at most this many ledgers per ``getEvents`` request."""
MAX_LIMIT = 10_000
"""Largest ``pagination.limit`` a stock node accepts."""
MAX_FILTERS = 5
MAX_CONTRACT_IDS_PER_FILTER = 5
MAX_CONTRACT_IDS = MAX_FILTERS * MAX_CONTRACT_IDS_PER_FILTER

_RANGE_MESSAGE = re.compile(r"startLedger must be within the ledger range: (\d+) - (\d+)")
_LIMIT_MESSAGE = re.compile(r"limit must not exceed (\d+)")
_INTERNAL_ERROR = -32603
_SERVER_ERRORS = range(-32099, -32000 + 1)
"""JSON-RPC's implementation-defined server errors (busy, cancelled, deadline): retried."""


# --- retries ---


@dataclass(frozen=True, slots=True)
class RetryInfo:
    """One backoff step: ``attempt`` (1-based) failed for ``reason``; sleeping ``delay`` s."""

    attempt: int
    delay: float
    reason: str


class _Retry(Exception):
    """One failed attempt that is worth retrying."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, malformed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.malformed = malformed


# --- the client ---


class RpcClient:
    """A synchronous Stellar RPC client with retries; use as a context manager or ``close()``.

    ``max_retries`` is the number of retries after the first attempt. Before each backoff sleep
    ``on_retry`` (if given) receives a :class:`RetryInfo`. ``sleep`` and ``transport`` are
    injectable for tests.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        sleep: Callable[[float], object] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        on_retry: Callable[[RetryInfo], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.backoff = Backoff(
            base=backoff_initial, cap=backoff_max, jitter="full", retries=max_retries
        )
        self._sleep = sleep
        self._on_retry = on_retry
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._ids = itertools.count(1)
        self.requests = 0  # HTTP requests sent, retries included (for sync summaries)
        self._http = httpx.Client(
            timeout=timeout, transport=transport, headers={"User-Agent": "stellarstream"}
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- methods ---

    def get_events(
        self,
        contract_ids: Sequence[str],
        *,
        start_ledger: int | None = None,
        end_ledger_exclusive: int | None = None,
        cursor: str | None = None,
        limit: int = 1000,
        xdr_format: XdrFormat = "base64",
    ) -> EventsPage:
        """One ``getEvents`` page of the contract events of ``contract_ids``.

        Give either ``start_ledger`` (inclusive) with an optional ``end_ledger_exclusive``
        (EXCLUSIVE, like the RPC's ``endLedger``), or a ``cursor`` (events strictly after it; a
        node rejects a cursor together with a ledger range). Events of other contracts (CAP-67
        fee events of the native asset contract) and non-``contract`` events are dropped.
        ``xdr_format="json"`` asks for topics and value in XDR-JSON (``topicJson``/``valueJson``),
        which decode about ten times faster than base64 XDR.
        """
        ids = _check_contract_ids(contract_ids)
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_LIMIT}, got {limit}")
        params: dict[str, Any] = {
            "filters": [
                {"type": "contract", "contractIds": ids[i : i + MAX_CONTRACT_IDS_PER_FILTER]}
                for i in range(0, len(ids), MAX_CONTRACT_IDS_PER_FILTER)
            ],
            "pagination": {"limit": limit},
        }
        if xdr_format not in ("base64", "json"):
            raise ValueError(f"xdr_format must be 'base64' or 'json', got {xdr_format!r}")
        if xdr_format == "json":
            params["xdrFormat"] = "json"
        if cursor is not None:
            if start_ledger is not None or end_ledger_exclusive is not None:
                raise ValueError("give either a cursor or a ledger range, not both")
            EventId.parse(cursor)
            params["pagination"]["cursor"] = cursor
        elif start_ledger is None:
            raise ValueError("get_events needs start_ledger or cursor")
        else:
            if start_ledger < 1:
                raise ValueError(f"start_ledger must be >= 1, got {start_ledger}")
            params["startLedger"] = start_ledger
            if end_ledger_exclusive is not None:
                if end_ledger_exclusive <= start_ledger:
                    raise ValueError("end_ledger_exclusive must be greater than start_ledger")
                params["endLedger"] = end_ledger_exclusive
        wanted = frozenset(ids)
        return self._call(
            "getEvents",
            params,
            lambda result: parse_events_page(result, wanted),
            lambda content: split_events_body(content, wanted),
        )

    def get_health(self) -> Health:
        return self._call("getHealth", None, parse_health)

    def get_latest_ledger(self) -> LatestLedger:
        return self._call("getLatestLedger", None, parse_latest_ledger)

    def get_network(self) -> NetworkInfo:
        return self._call("getNetwork", None, parse_network)

    # --- transport and retries ---

    def _call(
        self,
        method: str,
        params: dict[str, Any] | None,
        parse: Callable[[Any], T],
        parse_body: Callable[[bytes], T | None] | None = None,
    ) -> T:
        """``parse``: the ``result`` of a JSON-RPC success. ``parse_body``: a faster path over
        a 200 response's bytes; None where it cannot tell (then the body is parsed whole)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, params, parse, parse_body)
            except _Retry as failure:
                if self.backoff.exhausted(attempt):
                    self._give_up(method, attempt, failure)
                delay = self.backoff.wait(attempt, failure.retry_after, self._rng)
                if self._on_retry is not None:
                    self._on_retry(RetryInfo(attempt, delay, f"{method}: {failure.reason}"))
                self._sleep(delay)

    def _give_up(self, method: str, attempts: int, failure: _Retry) -> NoReturn:
        what = f"Stellar RPC at {self.url}: {method} failed {attempts} times; last error: "
        if failure.malformed:
            raise MalformedResponse(what + failure.reason)
        raise SourceUnavailable(what + failure.reason + " (is the node up and reachable?)")

    def _attempt(
        self,
        method: str,
        params: dict[str, Any] | None,
        parse: Callable[[Any], T],
        parse_body: Callable[[bytes], T | None] | None = None,
    ) -> T:
        payload: dict[str, Any] = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            payload["params"] = params
        try:
            self.requests += 1
            response = self._http.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise _Retry(f"timed out after {self.timeout:g} s ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retry(f"connection failed: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"))
            raise _Retry(f"HTTP {status} {response.reason_phrase}", retry_after=wait)
        if parse_body is not None and status == 200:
            try:
                parsed = parse_body(response.content)
            except MalformedResponse as exc:
                raise _Retry(exc.message, malformed=True) from exc
            if parsed is not None:
                return parsed
        try:
            body = jsontext.loads(response.content)
        except ValueError as exc:
            if status != 200:
                raise RpcError(
                    f"{method} at {self.url}: HTTP {status}: {response.text[:200]}", rpc_code=None
                ) from exc
            raise _Retry(f"response is not JSON ({exc})", malformed=True) from exc
        if not isinstance(body, dict):
            raise _Retry("response is not a JSON-RPC object", malformed=True)
        if body.get("error") is not None:
            self._raise_rpc_error(method, body["error"])
        if status != 200:
            raise RpcError(f"{method} at {self.url}: HTTP {status}", rpc_code=None)
        if "result" not in body:
            raise _Retry("JSON-RPC response has neither result nor error", malformed=True)
        try:
            return parse(body["result"])
        except MalformedResponse as exc:
            raise _Retry(exc.message, malformed=True) from exc

    def _raise_rpc_error(self, method: str, error: Any) -> NoReturn:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str):
            message = repr(error)
        if not isinstance(code, int) or isinstance(code, bool):
            code = None
        match = _RANGE_MESSAGE.search(message)
        if match is not None:
            oldest, latest = int(match.group(1)), int(match.group(2))
            raise RangeUnavailable(
                f"Stellar RPC at {self.url} keeps ledgers {oldest}-{latest} only: {message}",
                oldest_ledger=oldest,
                latest_ledger=latest,
            )
        if code == _INTERNAL_ERROR or (code is not None and code in _SERVER_ERRORS):
            raise _Retry(f"JSON-RPC error {code}: {message}")
        raise RpcError(
            f"{method} rejected by Stellar RPC at {self.url}: {message} (JSON-RPC code {code})",
            rpc_code=code,
        )


# --- the event source ---


class RpcSource:
    """:class:`~stellarstream.chain.source.EventSource` over ``getEvents``.

    The first request asks ``startLedger`` with ``endLedger = min(start + 10,000, end + 1)``;
    later ones follow the cursor (a node scans at most 10,000 ledgers per request and returns a
    window-end cursor for short pages). ``covered_to`` is :func:`scanned_through` of the page's
    cursor, capped by ``end_ledger`` and the node's latest ledger, and never decreases.
    ``limit`` events a page, or the node's maximum if it rejects ``limit`` as beyond it ("limit
    must not exceed N": then N from there on).
    """

    name = "rpc"

    def __init__(
        self, client: RpcClient, *, limit: int = MAX_LIMIT, xdr_format: XdrFormat = "json"
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{MAX_LIMIT}, got {limit}")
        self.client = client
        self.limit = limit
        self.xdr_format = xdr_format

    def batches(
        self,
        contract_ids: list[str],
        start_ledger: int,
        end_ledger: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Batch]:
        """Yield one batch per page from ``start_ledger`` (or after ``cursor``).

        Stops once ``end_ledger`` (inclusive) is covered, or once a page reaches the node's latest
        ledger (also when ``end_ledger`` lies beyond it: ``covered_to`` then tells how far it got).
        Events past ``end_ledger`` are held back and the last batch's cursor is the window-end
        cursor of ``end_ledger``, so resuming from it neither skips nor repeats an event.
        A start past the node's latest ledger yields one empty batch (nothing to read yet).
        """
        if end_ledger is not None and end_ledger < start_ledger:
            raise ValueError(f"end_ledger {end_ledger} is before start_ledger {start_ledger}")
        stop = EventId.window_end(end_ledger) if end_ledger is not None else None
        covered = start_ledger - 1
        position = cursor
        while True:
            try:
                page = self._page(contract_ids, start_ledger, end_ledger, position)
            except RangeUnavailable as exc:
                asked = start_ledger if position is None else EventId.parse(position).ledger
                if asked <= exc.latest_ledger:
                    raise
                yield Batch([], covered, position, exc.latest_ledger, self.name)
                return
            reached = page.cursor_id  # validated while parsing
            events, decoded = page.events, page.decoded
            finished = False
            if stop is not None and reached >= stop:
                kept = [i for i, event in enumerate(events) if event.ledger <= stop.ledger]
                events = [events[i] for i in kept]
                decoded = None if decoded is None else [decoded[i] for i in kept]
                reached, finished = stop, True
            # reached <= stop, so this never passes end_ledger either
            covered = max(covered, min(scanned_through(reached), page.latest_ledger))
            caught_up = reached.is_window_end and reached.ledger >= page.latest_ledger
            previous, position = position, str(reached)
            found, latest = bool(events), page.latest_ledger
            # Handed over without a reference kept here: a consumer that cuts a large page into
            # transactions frees each part once stored, not when the next page is fetched.
            box = [Batch(events, covered, position, latest, self.name, decoded)]
            del page, events, decoded
            yield box.pop()
            if finished or caught_up:
                return
            if position == previous and not found:
                raise SourceError(
                    f"Stellar RPC at {self.client.url}: getEvents made no progress past cursor"
                    f" {position} (latest ledger {latest})"
                )

    def _page(
        self, contract_ids: list[str], start: int, end: int | None, position: str | None
    ) -> EventsPage:
        while True:
            try:
                return self._ask(contract_ids, start, end, position)
            except RpcError as exc:
                # A node configured with a lower maximum says so: ask for that much from then on.
                match = _LIMIT_MESSAGE.search(exc.message)
                lower = int(match.group(1)) if match is not None else 0
                if not 1 <= lower < self.limit:
                    raise
                self.limit = lower

    def _ask(
        self, contract_ids: list[str], start: int, end: int | None, position: str | None
    ) -> EventsPage:
        if position is not None:
            return self.client.get_events(
                contract_ids, cursor=position, limit=self.limit, xdr_format=self.xdr_format
            )
        window_end = start + MAX_LEDGERS_PER_REQUEST
        if end is not None:
            window_end = min(window_end, end + 1)
        return self.client.get_events(
            contract_ids,
            start_ledger=start,
            end_ledger_exclusive=window_end,
            limit=self.limit,
            xdr_format=self.xdr_format,
        )


# --- parsing ---


def _check_contract_ids(contract_ids: Sequence[str]) -> list[str]:
    if isinstance(contract_ids, str):
        raise ValueError("contract_ids must be a list of contract ids, not one string")
    ids = list(dict.fromkeys(contract_ids))
    if not 1 <= len(ids) <= MAX_CONTRACT_IDS:
        raise ValueError(f"give 1..{MAX_CONTRACT_IDS} contract ids, got {len(ids)}")
    for contract_id in ids:
        if not StrKey.is_valid_contract(contract_id):
            raise ValueError(f"not a contract id (C...): {contract_id!r}")
    return ids
