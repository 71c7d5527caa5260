"""Stellar RPC results parsed: ``getEvents`` pages (whole, or one event at a time), health,
latest ledger and network.

Every parser checks the shapes it reads and raises :class:`MalformedResponse` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from stellarstream import jsontext
from stellarstream.chain.decode import decode_json, decode_xdr
from stellarstream.chain.event_ids import EventId
from stellarstream.chain.events import DomainEvent
from stellarstream.chain.types import RawEvent
from stellarstream.errors import MalformedResponse

_TX_HASH = re.compile(r"^[0-9a-f]{64}$")


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


def parse_health(result: Any) -> Health:
    """A ``getHealth`` result."""
    body = _object(result, "result")
    return Health(
        status=_str(body, "status", "result"),
        latest_ledger=_int(body, "latestLedger", "result"),
        oldest_ledger=_int(body, "oldestLedger", "result"),
        ledger_retention_window=_opt_int(body, "ledgerRetentionWindow", "result"),
    )


def parse_latest_ledger(result: Any) -> LatestLedger:
    """A ``getLatestLedger`` result."""
    body = _object(result, "result")
    return LatestLedger(
        sequence=_int(body, "sequence", "result"),
        protocol_version=_int(body, "protocolVersion", "result"),
        id=_str(body, "id", "result"),
    )


def parse_network(result: Any) -> NetworkInfo:
    """A ``getNetwork`` result."""
    body = _object(result, "result")
    friendbot = body.get("friendbotUrl")
    return NetworkInfo(
        passphrase=_str(body, "passphrase", "result"),
        protocol_version=_opt_int(body, "protocolVersion", "result"),
        friendbot_url=friendbot if isinstance(friendbot, str) and friendbot else None,
    )
