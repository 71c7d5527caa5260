"""Stellar RPC: a JSON-RPC 2.0 client (``getEvents``, ``getHealth``, ...) and :class:`RpcSource`.

The HTTP layer is plain ``httpx``. Transient failures (connection errors, timeouts, HTTP 429 and
5xx, unparseable bodies, "server busy" JSON-RPC errors) are retried with exponential backoff and
full jitter, honouring ``Retry-After``; a start outside the node's retention window raises
:class:`RangeUnavailable` at once.

Event ids are ``"%019d-%010d" % (toid, event_index)`` with
``toid = ledger << 32 | tx_index << 12 | op_index`` (see :class:`EventId`). How far a page of
``getEvents`` proves the chain scanned is derived from its cursor (see :func:`scanned_through`).
"""

from __future__ import annotations

import email.utils
import itertools
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, NoReturn, TypeVar

import httpx
from stellar_sdk import StrKey

from stellarstream import jsontext
from stellarstream.chain.decode import decode_json, decode_xdr
from stellarstream.chain.events import DomainEvent
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.errors import (
    MalformedResponse,
    RangeUnavailable,
    SourceError,
    SourceUnavailable,
)

XdrFormat = Literal["base64", "json"]
"""How ``getEvents`` serialises topics and values: base64 XDR or XDR-JSON (SEP-51)."""

T = TypeVar("T")

TX_INDEX_MASK = 0xFFFFF
"""Largest transaction index a TOID holds (20 bits)."""
OP_INDEX_MASK = 0xFFF
"""Largest operation index a TOID holds (12 bits)."""
EVENT_INDEX_MAX = 0xFFFFFFFF
"""Largest event index of an event id (u32)."""
MAX_LEDGERS_PER_REQUEST = 10_000
"""A node scans at most this many ledgers per ``getEvents`` request."""
MAX_LIMIT = 10_000
"""Largest ``pagination.limit`` a stock node accepts."""
MAX_FILTERS = 5
MAX_CONTRACT_IDS_PER_FILTER = 5
MAX_CONTRACT_IDS = MAX_FILTERS * MAX_CONTRACT_IDS_PER_FILTER

_EVENT_ID = re.compile(r"^(\d{1,19})-(\d{1,10})$")
_RANGE_MESSAGE = re.compile(r"startLedger must be within the ledger range: (\d+) - (\d+)")
_LIMIT_MESSAGE = re.compile(r"limit must not exceed (\d+)")
_TX_HASH = re.compile(r"^[0-9a-f]{64}$")
_INTERNAL_ERROR = -32603
_SERVER_ERRORS = range(-32099, -32000 + 1)
"""JSON-RPC's implementation-defined server errors (busy, cancelled, deadline): retried."""


# --- event ids ---


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    """A parsed ``getEvents`` event id / cursor; orders like the node orders events."""

    ledger: int
    tx_index: int
    op_index: int
    event_index: int

    @classmethod
    def parse(cls, text: str) -> EventId:
        """Parse ``"%019d-%010d"``; raise ``ValueError`` on anything else."""
        match = _EVENT_ID.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not an event id: {text!r}")
        toid, event_index = int(match.group(1)), int(match.group(2))
        ledger = toid >> 32
        if not 0 < ledger < 2**31 or event_index > EVENT_INDEX_MAX:
            raise ValueError(f"event id out of range: {text!r}")
        return cls(ledger, (toid >> 12) & TX_INDEX_MASK, toid & OP_INDEX_MASK, event_index)

    @classmethod
    def window_end(cls, ledger: int) -> EventId:
        """The cursor a node returns for a short page whose scan window ended at ``ledger``."""
        return cls(ledger, TX_INDEX_MASK, OP_INDEX_MASK, EVENT_INDEX_MAX)

    @property
    def toid(self) -> int:
        return self.ledger << 32 | self.tx_index << 12 | self.op_index

    @property
    def is_window_end(self) -> bool:
        """True for a window-end cursor: past every event of its ledger."""
        return self == EventId.window_end(self.ledger)

    def __str__(self) -> str:
        return f"{self.toid:019d}-{self.event_index:010d}"


def scanned_through(cursor: EventId) -> int:
    """The last ledger a page ending at ``cursor`` has fully delivered.

    A short page's cursor is the window-end cursor of the last scanned ledger (stellar-rpc returns
    ``MaxCursor`` with ``Ledger = endLedger - 1``): every event of that ledger was scanned. Any
    other cursor (a full page: its last event's id) may have more events of its ledger after it,
    so only the ledger before is complete. Never over-claims.
    """
    return cursor.ledger if cursor.is_window_end else cursor.ledger - 1


# --- results ---


@dataclass(frozen=True, slots=True)
class RetryInfo:
    """One backoff step: ``attempt`` (1-based) failed for ``reason``; sleeping ``delay`` s."""

    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class EventsPage:
    """One ``getEvents`` answer, reduced to contract events of the requested contracts.

    ``returned`` counts the events the node sent before that filtering. Close times are the
    node's unix timestamps as aware datetimes (None where a node omits them). ``decoded``: each
    event's :func:`~stellarstream.chain.decode.decode`, made from the values parsed with the
    page (an XDR-JSON event's text is not parsed a second time); None for a page built
    without it.
    """

    events: list[RawEvent]
    cursor: str
    latest_ledger: int
    oldest_ledger: int | None
    latest_ledger_close_time: datetime | None
    oldest_ledger_close_time: datetime | None
    returned: int = 0
    decoded: list[DomainEvent] | None = None

    @property
    def cursor_id(self) -> EventId:
        return EventId.parse(self.cursor)


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    latest_ledger: int
    oldest_ledger: int
    ledger_retention_window: int | None


@dataclass(frozen=True, slots=True)
class LatestLedger:
    sequence: int
    protocol_version: int
    id: str


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    passphrase: str
    protocol_version: int | None
    friendbot_url: str | None


class RpcError(SourceError):
    """The node answered a JSON-RPC error (not retried); ``rpc_code`` is its code."""

    code = "rpc_error"

    def __init__(self, message: str, *, rpc_code: int | None) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code


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
        return self._call("getHealth", None, _parse_health)

    def get_latest_ledger(self) -> LatestLedger:
        return self._call("getLatestLedger", None, _parse_latest_ledger)

    def get_network(self) -> NetworkInfo:
        return self._call("getNetwork", None, _parse_network)

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
                if attempt > self.max_retries:
                    self._give_up(method, attempt, failure)
                delay = self._delay(attempt, failure.retry_after)
                if self._on_retry is not None:
                    self._on_retry(RetryInfo(attempt, delay, f"{method}: {failure.reason}"))
                self._sleep(delay)

    def _give_up(self, method: str, attempts: int, failure: _Retry) -> NoReturn:
        what = f"Stellar RPC at {self.url}: {method} failed {attempts} times; last error: "
        if failure.malformed:
            raise MalformedResponse(what + failure.reason)
        raise SourceUnavailable(what + failure.reason + " (is the node up and reachable?)")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_initial * 2 ** min(attempt - 1, 60))
        return self._rng.uniform(0.0, ceiling)

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
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise _Retry(f"HTTP {status} {response.reason_phrase}", retry_after=retry_after)
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


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


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


def _malformed(field: str, problem: str) -> NoReturn:
    raise MalformedResponse(f"{field}: {problem}", field=field)


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        _malformed(field, f"expected an object, got {type(value).__name__}")
    return value


def _int(obj: Mapping[str, Any], key: str, field: str) -> int:
    value = _opt_int(obj, key, field)
    if value is None:
        _malformed(f"{field}.{key}", "missing")
    return value


def _opt_int(obj: Mapping[str, Any], key: str, field: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    _malformed(f"{field}.{key}", f"expected an integer, got {value!r}")


def _str(obj: Mapping[str, Any], key: str, field: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        _malformed(f"{field}.{key}", "missing or not a string")
    return value


def _opt_time(obj: Mapping[str, Any], key: str, field: str) -> datetime | None:
    seconds = _opt_int(obj, key, field)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def parse_events_page(result: Any, wanted: frozenset[str]) -> EventsPage:
    """A ``getEvents`` result: the events of the ``wanted`` contracts, cursor and ledgers."""
    body = _object(result, "result")
    items = body.get("events")
    if not isinstance(items, list):
        _malformed("result.events", "missing or not a list")
    events: list[RawEvent] = []
    decoded: list[DomainEvent] = []
    for index, item in enumerate(items):
        parsed = _parse_event(item, f"result.events[{index}]", wanted)
        if parsed is not None:
            events.append(parsed[0])
            decoded.append(parsed[1])
    return _page(body, events, decoded, len(items))


def _page(
    body: Mapping[str, Any], events: list[RawEvent], decoded: list[DomainEvent], returned: int
) -> EventsPage:
    cursor = _str(body, "cursor", "result")
    try:
        EventId.parse(cursor)
    except ValueError as exc:
        _malformed("result.cursor", str(exc))
    return EventsPage(
        events=events,
        cursor=cursor,
        latest_ledger=_int(body, "latestLedger", "result"),
        oldest_ledger=_opt_int(body, "oldestLedger", "result"),
        latest_ledger_close_time=_opt_time(body, "latestLedgerCloseTime", "result"),
        oldest_ledger_close_time=_opt_time(body, "oldestLedgerCloseTime", "result"),
        returned=returned,
        decoded=decoded,
    )


_EVENTS_KEY = re.compile(rb'"events"\s*:\s*\[\s*')
_NEXT_EVENT = re.compile(rb'}\s*,\s*{\s*"type"\s*:')
_LAST_EVENT = re.compile(rb"}\s*]")


def split_events_body(content: bytes, wanted: frozenset[str]) -> EventsPage | None:
    """A ``getEvents`` response's page, parsed one event at a time; None if it cannot tell.

    What :func:`parse_events_page` of the parsed body gives, without the whole body's parsed
    tree at once (~7 KB an XDR-JSON event: 70 MB for a 10,000-event page): each event's tree
    becomes its :class:`RawEvent` (and decoding) as soon as it is parsed, and is let go. Events
    are cut before each ``{"type":`` that follows a ``},`` (stellar-rpc writes ``type`` first),
    which no JSON string can hold unescaped; a cut inside an event (a nested object that starts
    with a "type" key) leaves text that is not one JSON value, so each event is the shortest run
    of pieces that parses. The rest (the envelope, with the events array emptied) is parsed as
    usual and must be a plain result whose ``events`` was that array; a body that is anything
    else (an error, another layout) is left to the whole-body parser (None). An event that is
    malformed is reported only once the envelope proved the body a result (as the whole-body
    parser would).
    """
    found = _EVENTS_KEY.search(content)
    if found is None:
        return None
    start = position = found.end()
    events: list[RawEvent] = []
    decoded: list[DomainEvent] = []
    returned = 0
    malformed: MalformedResponse | None = None

    def take(item: Mapping[str, Any]) -> None:
        nonlocal returned, malformed
        index, returned = returned, returned + 1
        if malformed is not None:
            return
        try:
            parsed = _parse_event(item, f"result.events[{index}]", wanted)
        except MalformedResponse as exc:
            malformed = exc
            return
        if parsed is not None:
            events.append(parsed[0])
            decoded.append(parsed[1])

    if content.startswith(b"]", position):
        end = position
    else:
        end = -1
        for cut in _NEXT_EVENT.finditer(content, position):
            item = _one_value(content[position : cut.start() + 1])
            if item is not None:
                take(item)
                position = content.index(b"{", cut.start() + 1)
        for cut in _LAST_EVENT.finditer(content, position):
            # the last event: the shortest run that parses, ending at "}]"
            item = _one_value(content[position : cut.start() + 1])
            if item is not None:
                take(item)
                end = cut.end() - 1
                break
        if end < 0:
            return None
    try:
        envelope = jsontext.loads(content[:start] + content[end:])
    except ValueError:
        return None
    if not isinstance(envelope, dict) or envelope.get("error") is not None:
        return None
    result = envelope.get("result")
    if not isinstance(result, dict) or result.get("events") != []:
        return None
    if malformed is not None:
        raise malformed
    return _page(result, events, decoded, returned)


def _one_value(piece: bytes) -> Any:
    """``piece`` parsed if it is one JSON object, else None."""
    try:
        value = jsontext.loads(piece)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _parse_event(
    item: Any, field: str, wanted: frozenset[str]
) -> tuple[RawEvent, DomainEvent] | None:
    """One event and its decoding, or None for a non-contract event or one of a contract not
    asked for.

    The id is authoritative for (ledger, tx_index, op_index, event_index): it is what the node
    orders and pages by. ``ledger``, ``transactionIndex`` and ``operationIndex`` (newer nodes)
    must agree with it, else the page is malformed. ``event_index`` is the id's: v23+ nodes count
    an operation's contract events (of all contracts) from 0, which for a Soroban transaction (one
    operation) is the event's position among the transaction's contract events.
    """
    event = _object(item, field)
    if _str(event, "type", field) != "contract":
        return None
    contract_id = _str(event, "contractId", field)
    if contract_id not in wanted:
        return None
    try:
        eid = EventId.parse(_str(event, "id", field))
    except ValueError as exc:
        _malformed(f"{field}.id", str(exc))
    for key, expected in (
        ("ledger", eid.ledger),
        ("transactionIndex", eid.tx_index),
        ("operationIndex", eid.op_index),
    ):
        given = _int(event, key, field) if key == "ledger" else _opt_int(event, key, field)
        if given is not None and given != expected:
            _malformed(f"{field}.{key}", f"{given} disagrees with id {eid} ({expected})")
    closed_text = _str(event, "ledgerClosedAt", field)
    try:
        closed_at = datetime.fromisoformat(closed_text)
    except ValueError:
        _malformed(f"{field}.ledgerClosedAt", f"not ISO-8601: {closed_text!r}")
    closed_at = (
        closed_at.replace(tzinfo=UTC) if closed_at.tzinfo is None else closed_at.astimezone(UTC)
    )
    tx_hash = _str(event, "txHash", field)
    if not _TX_HASH.match(tx_hash):
        _malformed(f"{field}.txHash", f"not a 64-hex transaction hash: {tx_hash!r}")
    successful = event.get("inSuccessfulContractCall", True)
    if not isinstance(successful, bool):
        _malformed(f"{field}.inSuccessfulContractCall", f"not a boolean: {successful!r}")
    topic_xdr: tuple[str, ...] = ()
    value_xdr = ""
    topic_json: tuple[str, ...] | None = None
    value_json: str | None = None
    if "valueJson" in event:  # xdrFormat json; the decoder checks the values' shapes
        # Kept as compact text: a tenth of the memory of the parsed values, and stored as is.
        topics = _list(event, "topicJson", field)
        value = event["valueJson"]
        if not all(isinstance(t, dict | str) for t in topics):
            _malformed(f"{field}.topicJson", "not a list of XDR-JSON values")
        if not isinstance(value, dict | str):
            _malformed(f"{field}.valueJson", "not an XDR-JSON value")
        topic_json = tuple(jsontext.dumps(t) for t in topics)
        value_json = jsontext.dumps(value)
        # decode() of the texts just made, from the values already parsed
        domain = decode_json(topics, value)
    else:
        topic = event.get("topic", [])
        if not isinstance(topic, list) or not all(isinstance(t, str) and t for t in topic):
            _malformed(f"{field}.topic", "not a list of base64 strings")
        topic_xdr = tuple(topic)
        value_xdr = _str(event, "value", field)
        domain = decode_xdr(topic_xdr, value_xdr)
    raw = RawEvent(
        contract_id=contract_id,
        ledger=eid.ledger,
        ledger_closed_at=closed_at,
        tx_hash=tx_hash,
        tx_index=eid.tx_index,
        op_index=eid.op_index,
        event_index=eid.event_index,
        topic_xdr=topic_xdr,
        value_xdr=value_xdr,
        in_successful_call=successful,
        topic_json=topic_json,
        value_json=value_json,
    )
    return raw, domain


def _list(body: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key, [])  # an empty topic list is omitted
    if not isinstance(value, list):
        _malformed(f"{where}.{key}", "not a list")
    return value


def _parse_health(result: Any) -> Health:
    body = _object(result, "result")
    return Health(
        status=_str(body, "status", "result"),
        latest_ledger=_int(body, "latestLedger", "result"),
        oldest_ledger=_int(body, "oldestLedger", "result"),
        ledger_retention_window=_opt_int(body, "ledgerRetentionWindow", "result"),
    )


def _parse_latest_ledger(result: Any) -> LatestLedger:
    body = _object(result, "result")
    return LatestLedger(
        sequence=_int(body, "sequence", "result"),
        protocol_version=_int(body, "protocolVersion", "result"),
        id=_str(body, "id", "result"),
    )


def _parse_network(result: Any) -> NetworkInfo:
    body = _object(result, "result")
    friendbot = body.get("friendbotUrl")
    return NetworkInfo(
        passphrase=_str(body, "passphrase", "result"),
        protocol_version=_opt_int(body, "protocolVersion", "result"),
        friendbot_url=friendbot if isinstance(friendbot, str) and friendbot else None,
    )
