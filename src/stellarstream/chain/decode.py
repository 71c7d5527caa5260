"""Decode raw StellarStream contract events into typed domain events.

Events arrive as base64 XDR (Horizon and data-lake meta, RPC by default before ``xdrFormat``)
or as XDR-JSON (SEP-51: what RPC ``getEvents`` returns with ``xdrFormat: "json"``). Both are
routed in their XDR-JSON form: XDR is parsed with ``SCVal.from_xdr`` and converted with
``to_json_dict`` (stellar_sdk), so one router serves every source and gives the same event,
reasons included. Parsing JSON costs a tenth of parsing XDR in pure Python, which is why the
RPC sources ask for it.

Pure and total: :func:`decode`, :func:`decode_xdr` and :func:`decode_json` never raise on bad
input; anything that is not a well-formed event of the spec becomes :class:`UnknownEvent` with a
reason. Topic routing:

- ``[U64 id, Symbol action]``: V2 stream event (NebulaEvent payload; ``dust``/``split`` use a
  plain struct map). An unknown action is an ``UnknownEvent``.
- ``[Symbol, Address]``: V2 ``pause``/``unpause``/``btch_crt``; V1 ``create`` (stream or proposal,
  by payload key).
- ``[Symbol, U64 id]``: V1 ``topup``/``pause``/``resume``.
- Any other ``[Symbol, ...]`` whose payload is a version-2 NebulaEvent with the same action (e.g.
  ``fee_out``, ``adm_xfer``, ``emergency``): :class:`ContractEvent`. Everything else:
  ``UnknownEvent`` (e.g. SAC ``transfer``/``fee`` events).

Checks beyond types and arity: the NebulaEvent ``action`` equals the topic symbol, ``version`` is
2, data[0] / ``stream_id`` equals the topic id, and a repeated address equals the topic's. A V2
event's ``timestamp`` field is its data's ``now`` item. Extra struct/NebulaEvent map keys are
ignored. Integers are range-checked and addresses StrKey-checked (a JSON node is not trusted to
send well-formed values). ``RawEvent.in_successful_call`` is not consulted: callers decide what
to project.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from stellar_sdk import xdr as x

from stellarstream import jsontext
from stellarstream.chain.events import (
    Archived,
    BatchCreated,
    BeneficiaryTransferred,
    BridgedIn,
    Canceled,
    ContractEvent,
    ContractPaused,
    ContractUnpaused,
    DomainEvent,
    Dust,
    MetaWithdrawn,
    Migrated,
    RateAccepted,
    Refilled,
    SplitConfigured,
    SplitExecuted,
    StreamCreated,
    ToppedUp,
    UnknownEvent,
    V1Paused,
    V1ProposalCreated,
    V1Resumed,
    V1StreamCreated,
    V1ToppedUp,
    Withdrawn,
)
from stellarstream.chain.scval_json import (
    Malformed,
    Readers,
    ScJson,
    StructSpec,
    addr,
    describe,
    entries_of,
    generic,
    generic_b64,
    generic_or_none,
    generic_scval_or_none,
    i128,
    json_of,
    kind_of,
    opt_addr,
    read_items,
    read_struct,
    struct_spec,
    sym_of,
    symbol,
    symbol_map,
    type_name,
    u32,
    u64,
)
from stellarstream.chain.types import RawEvent

__all__ = ["decode", "decode_json", "decode_json_text", "decode_scvals", "decode_xdr"]

_NEBULA_KEYS = ("action", "data", "timestamp", "version")


# --- public API ---


def decode(raw: RawEvent) -> DomainEvent:
    """Decode one raw event, from its XDR-JSON if the source gave that, else its XDR."""
    if raw.value_json is not None:
        return decode_json_text(raw.topic_json or (), raw.value_json)
    return decode_xdr(raw.topic_xdr, raw.value_xdr)


def decode_json_text(topic_json: Sequence[str], value_json: str) -> DomainEvent:
    """Decode an event's topics and value given as XDR-JSON text."""
    try:
        topics = [_topic_from_text(t) for t in topic_json]
        value = jsontext.loads(value_json)
    except ValueError as exc:
        return UnknownEvent(f"not valid JSON ({describe(exc)})", (), None)
    return decode_json(topics, value)


def decode_xdr(topic_xdr: Sequence[str], value_xdr: str) -> DomainEvent:
    """Decode an event's base64 topics and value."""
    topics: list[ScJson] = []
    for i, b64 in enumerate(topic_xdr):
        try:
            topics.append(_topic_json(b64))
        except Exception as exc:
            reason = f"topic {i} is not valid SCVal XDR ({describe(exc)})"
            return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    try:
        value = x.SCVal.from_xdr(value_xdr)
    except Exception as exc:
        reason = f"value is not valid SCVal XDR ({describe(exc)})"
        return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    try:
        value_json = json_of(value)
    except Exception as exc:  # e.g. a Vec or Map whose optional body is absent
        reason = f"value has no XDR-JSON form ({describe(exc)})"
        return UnknownEvent(
            reason, tuple(generic_or_none(t) for t in topics), generic_b64(value_xdr)
        )
    return decode_json(topics, value_json)


def decode_json(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    """Decode an event's topics and value in XDR-JSON (SEP-51). Never raises."""
    try:
        return _route(topics, value)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, Malformed) else f"decode error: {describe(exc)}"
        return UnknownEvent(
            reason, tuple(generic_or_none(t) for t in topics), generic_or_none(value)
        )


def decode_scvals(topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    """Decode already-parsed topics and value. Never raises."""
    try:
        topics_json = [json_of(t) for t in topics]
        value_json = json_of(value)
    except Exception as exc:
        reason = f"value has no XDR-JSON form ({describe(exc)})"
        readable = tuple(generic_scval_or_none(t) for t in topics)
        return UnknownEvent(reason, readable, generic_scval_or_none(value))
    return decode_json(topics_json, value_json)


# --- routing ---


def _route(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    if not topics:
        raise Malformed("event has no topics")
    first = topics[0]
    if kind_of(first) == "u64":
        return _v2_stream(topics, value)
    name = sym_of(first)
    if name is None:
        raise Malformed(f"first topic is {type_name(first)}, not U64 or Symbol")
    second = kind_of(topics[1]) if len(topics) == 2 else None
    handler = _SYMBOL_ROUTES.get((name, second))
    if handler is not None:
        return handler(topics[1], value)
    return _contract_event(name, topics, value)


def _v2_stream(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    action = sym_of(topics[1]) if len(topics) == 2 else None
    if action is None:
        raise Malformed("V2 stream event topics must be [U64 stream_id, Symbol action]")
    stream_id = u64(topics[0])
    struct = _STRUCT_EVENTS.get(action)
    if struct is not None:
        cls, spec = struct
        fields = read_struct(value, spec, action)
        if fields["stream_id"] != stream_id:
            raise Malformed(f"{action}: stream_id {fields['stream_id']} != topic {stream_id}")
        return cls(**fields)
    nebula = _NEBULA_STREAM_EVENTS.get(action)
    if nebula is None:
        raise Malformed(f"unknown V2 stream action {action!r}")
    data = _nebula(value, action)
    if not data or kind_of(data[0]) != "u64" or u64(data[0]) != stream_id:
        raise Malformed(f"{action}: data[0] must be the topic's stream id {stream_id}")
    if action == "create_v2":
        return _create_v2(stream_id, data)
    cls_, readers = nebula
    if len(data) != len(readers) + 1:
        raise Malformed(f"{action}: expected {len(readers) + 1} data items, got {len(data)}")
    return cls_(stream_id, *read_items(action, data, readers, 1))


def _create_v2(stream_id: int, data: list[ScJson]) -> StreamCreated:
    n = len(data)
    if n not in (9, 10):
        raise Malformed(f"create_v2: expected 9 or 10 data items, got {n}")
    memo = None
    if n == 10 and data[9] != "void":
        try:
            memo = symbol(data[9])
        except Malformed as exc:
            raise Malformed(f"create_v2: data[9] (memo) {exc}, nor Void") from None
    sender, receiver, token, amount, start, cliff, end, now = read_items(
        "create_v2", data, _CREATE_V2_READERS, 1
    )
    return StreamCreated(
        stream_id, sender, receiver, token, amount, start, cliff, end, now, memo, n == 10
    )


def _v2_contract_wide(cls: Callable[..., DomainEvent], action: str) -> _Handler:
    """Handler for ``[action, Address]`` NebulaEvents whose data[0] repeats the address."""
    readers = _CONTRACT_WIDE_READERS[action]

    def handle(topic: ScJson, value: ScJson) -> DomainEvent:
        data = _nebula(value, action)
        if len(data) != len(readers):
            raise Malformed(f"{action}: expected {len(readers)} data items, got {len(data)}")
        fields = read_items(action, data, readers, 0)
        if fields[0] != addr(topic):
            raise Malformed(f"{action}: data[0] differs from the topic address")
        return cls(*fields)

    return handle


def _v1_create(topic: ScJson, value: ScJson) -> DomainEvent:
    sender = addr(topic)
    entries = symbol_map(value, "V1 create")
    if "proposal_id" in entries and "stream_id" not in entries:
        fields = read_struct(value, _V1_PROPOSAL, "V1 create")
        readable = {k: generic(v) for k, v in entries.items()}
        return V1ProposalCreated(fields["proposal_id"], sender, readable)
    stream = read_struct(value, _V1_CREATE, "V1 create")
    if stream["sender"] != sender:
        raise Malformed("V1 create: payload sender differs from the topic sender")
    return V1StreamCreated(**stream)


def _v1_stream(cls: Callable[..., DomainEvent], spec: StructSpec, name: str) -> _Handler:
    what = "V1 " + name

    def handle(topic: ScJson, value: ScJson) -> DomainEvent:
        fields = read_struct(value, spec, what)
        if fields["stream_id"] != u64(topic):
            raise Malformed(f"{what}: payload stream_id differs from the topic id")
        return cls(**fields)

    return handle


def _contract_event(action: str, topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    if not _looks_nebula(value):
        raise Malformed(f"unrecognised event with topic {action!r}")
    data = _nebula(value, action)
    timestamp = u64(symbol_map(value, action)["timestamp"])
    return ContractEvent(
        action, tuple(generic(t) for t in topics), tuple(generic(d) for d in data), timestamp
    )


# --- payload shapes ---


def _nebula(value: ScJson, action: str) -> list[ScJson]:
    """Validate a NebulaEvent map against ``action`` and return its ``data`` items."""
    m = symbol_map(value, action)
    missing = [k for k in _NEBULA_KEYS if k not in m]
    if missing:
        raise Malformed(f"{action}: NebulaEvent lacks {', '.join(missing)}")
    version = m["version"]
    if kind_of(version) != "u32" or u32(version) != 2:
        raise Malformed(f"{action}: NebulaEvent version {generic(version)!r} is not 2")
    if sym_of(m["action"]) != action:
        found = generic(m["action"])
        raise Malformed(f"{action}: payload action {found!r} differs from the topic")
    try:
        u64(m["timestamp"])
    except Malformed as exc:
        raise Malformed(f"{action}: timestamp {exc}") from None
    data = m["data"]
    items = data.get("vec") if type(data) is dict else None
    if type(items) is not list:
        raise Malformed(f"{action}: NebulaEvent data is {type_name(data)}, not a Vec")
    return items


def _looks_nebula(value: ScJson) -> bool:
    entries = entries_of(value)
    keys = {sym_of(e.get("key")) if type(e) is dict else None for e in entries}
    return kind_of(value) == "map" and keys.issuperset(_NEBULA_KEYS)


# Topic values repeat (action symbols, admin/sender addresses); callers never mutate them.
@functools.lru_cache(maxsize=8192)
def _topic_from_text(text: str) -> ScJson:
    return jsontext.loads(text)


@functools.lru_cache(maxsize=8192)
def _topic_json(b64: str) -> ScJson:
    return json_of(x.SCVal.from_xdr(b64))


# --- unknown-event helpers ---


def _unknown_from_xdr(topic_xdr: Sequence[str], value_xdr: str, reason: str) -> UnknownEvent:
    topics = tuple(generic_b64(t) for t in topic_xdr)
    return UnknownEvent(reason, topics, generic_b64(value_xdr))


# --- tables ---

_Handler = Callable[[ScJson, ScJson], DomainEvent]


# create_v2 items 1-8; the optional memo (item 9) is read in _create_v2.
_CREATE_V2_READERS: Readers = (addr, addr, addr, i128, u64, u64, u64, u64)

# Readers for data[1:] (data[0] is the stream id, checked against the topic), in dataclass order.
_NEBULA_STREAM_EVENTS: dict[str, tuple[Callable[..., DomainEvent], Readers]] = {
    "create_v2": (StreamCreated, _CREATE_V2_READERS),
    "claim": (Withdrawn, (addr, i128, i128, u64)),
    "meta_wdrw": (MetaWithdrawn, (addr, i128, i128, u64)),
    "cancel": (Canceled, (addr, i128, i128, u64)),
    "archived": (Archived, (i128, i128, addr, u64)),
    "benefic": (BeneficiaryTransferred, (addr, addr, u64)),
    "top_up": (ToppedUp, (addr, i128, i128, u64, u64)),
    "refill": (Refilled, (addr, i128, u64, u64, u64)),
    "migrated": (Migrated, (u64, addr, i128, u64)),
    "bridge_in": (BridgedIn, (addr, addr, i128, u64, u64)),
    "split_exec": (SplitExecuted, (addr, addr, i128, symbol, u64)),
    "rate_accept": (RateAccepted, (addr, i128, u64, i128, u64)),
}

_STRUCT_EVENTS: dict[str, tuple[Callable[..., DomainEvent], StructSpec]] = {
    "dust": (
        Dust,
        struct_spec(
            ("stream_id", u64),
            ("token", addr),
            ("to_withdraw", i128),
            ("dust_amount", i128),
            ("split_address", addr),
            ("split_amount", i128),
            ("split_bps", u32),
            ("timestamp", u64),
        ),
    ),
    "split": (
        SplitConfigured,
        struct_spec(
            ("stream_id", u64),
            ("beneficiary", addr),
            ("split_address", opt_addr),
            ("split_bps", u32),
            ("timestamp", u64),
        ),
    ),
}

_CONTRACT_WIDE_READERS: dict[str, Readers] = {
    "pause": (addr, u64),
    "unpause": (addr, u64),
    "btch_crt": (addr, u32, i128, u64),
}

_V1_CREATE = struct_spec(
    ("stream_id", u64),
    ("sender", addr),
    ("receiver", addr),
    ("token", addr),
    ("total_amount", i128),
    ("start_time", u64),
    ("end_time", u64),
    ("timestamp", u64),
)
_V1_TOPUP = struct_spec(
    ("stream_id", u64),
    ("sender", addr),
    ("amount", i128),
    ("new_total", i128),
    ("new_end_time", u64),
    ("timestamp", u64),
)
_V1_PROPOSAL = struct_spec(("proposal_id", u64))
_V1_PAUSE = struct_spec(("stream_id", u64), ("pauser", addr), ("timestamp", u64))
_V1_RESUME = struct_spec(
    ("stream_id", u64), ("resumer", addr), ("paused_duration", u64), ("timestamp", u64)
)

# (first topic symbol, second topic type) -> handler(second topic, value)
_SYMBOL_ROUTES: dict[tuple[str, str | None], _Handler] = {
    ("pause", "address"): _v2_contract_wide(ContractPaused, "pause"),
    ("unpause", "address"): _v2_contract_wide(ContractUnpaused, "unpause"),
    ("btch_crt", "address"): _v2_contract_wide(BatchCreated, "btch_crt"),
    ("create", "address"): _v1_create,
    ("topup", "u64"): _v1_stream(V1ToppedUp, _V1_TOPUP, "topup"),
    ("pause", "u64"): _v1_stream(V1Paused, _V1_PAUSE, "pause"),
    ("resume", "u64"): _v1_stream(V1Resumed, _V1_RESUME, "resume"),
}
