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
from typing import Any

from stellar_sdk import Address, scval
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
    Json,
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
    is_stream_event,
    stream_id_of,
)
from stellarstream.chain.types import RawEvent

__all__ = [
    "decode",
    "decode_json",
    "decode_json_text",
    "decode_scvals",
    "decode_xdr",
    "generic_json",
    "is_stream_event",
    "stream_id_of",
]

ScJson = Any
"""An SCVal in XDR-JSON (SEP-51): ``{"u64": "5"}``, ``{"symbol": "claim"}``, ``"void"``, ..."""

_NEBULA_KEYS = ("action", "data", "timestamp", "version")
_U64_MAX = 2**64 - 1
_I128_MIN, _I128_MAX = -(2**127), 2**127 - 1


class _Malformed(Exception):
    """Internal: the payload does not match the spec; the message becomes the reason."""


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
        return UnknownEvent(f"not valid JSON ({_describe(exc)})", (), None)
    return decode_json(topics, value)


def decode_xdr(topic_xdr: Sequence[str], value_xdr: str) -> DomainEvent:
    """Decode an event's base64 topics and value."""
    topics: list[ScJson] = []
    for i, b64 in enumerate(topic_xdr):
        try:
            topics.append(_topic_json(b64))
        except Exception as exc:
            reason = f"topic {i} is not valid SCVal XDR ({_describe(exc)})"
            return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    try:
        value = x.SCVal.from_xdr(value_xdr)
    except Exception as exc:
        reason = f"value is not valid SCVal XDR ({_describe(exc)})"
        return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    try:
        value_json = _json_of(value)
    except Exception as exc:  # e.g. a Vec or Map whose optional body is absent
        reason = f"value has no XDR-JSON form ({_describe(exc)})"
        return UnknownEvent(
            reason, tuple(_generic_or_none(t) for t in topics), _generic_b64(value_xdr)
        )
    return decode_json(topics, value_json)


def decode_json(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    """Decode an event's topics and value in XDR-JSON (SEP-51). Never raises."""
    try:
        return _route(topics, value)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, _Malformed) else f"decode error: {_describe(exc)}"
        return UnknownEvent(
            reason, tuple(_generic_or_none(t) for t in topics), _generic_or_none(value)
        )


def decode_scvals(topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    """Decode already-parsed topics and value. Never raises."""
    try:
        topics_json = [_json_of(t) for t in topics]
        value_json = _json_of(value)
    except Exception as exc:
        reason = f"value has no XDR-JSON form ({_describe(exc)})"
        generic = tuple(_generic_scval_or_none(t) for t in topics)
        return UnknownEvent(reason, generic, _generic_scval_or_none(value))
    return decode_json(topics_json, value_json)


def generic_json(val: x.SCVal) -> Json:
    """Readable JSON-safe form of any SCVal (64-bit and wider ints as decimal strings).

    Symbols and strings become ``str``, addresses StrKey ``str``, bytes ``{"bytes": hex}``,
    vectors lists, maps dicts (or ``[key, value]`` pairs when a key is not a string), and any
    other type ``{"type": name, "xdr": base64}``.
    """
    t = val.type
    if t == x.SCValType.SCV_VEC:
        return [generic_json(v) for v in (val.vec.sc_vec if val.vec else ())]
    if t == x.SCValType.SCV_MAP:
        entries = val.map.sc_map if val.map else ()
        return _pairs_json([(generic_json(e.key), generic_json(e.val)) for e in entries])
    if t == x.SCValType.SCV_SYMBOL and val.sym is not None:
        return bytes(val.sym.sc_symbol).decode("utf-8", "backslashreplace")
    native = scval.to_native(val)
    if native is None or isinstance(native, bool | str):
        return native
    if isinstance(native, int):
        return native if t in (x.SCValType.SCV_U32, x.SCValType.SCV_I32) else str(native)
    if isinstance(native, bytes):
        return {"bytes": native.hex()}
    if isinstance(native, Address):
        return str(native.address)
    return {"type": t.name, "xdr": val.to_xdr()}


def _pairs_json(pairs: list[tuple[Json, Json]]) -> Json:
    if all(isinstance(k, str) for k, _ in pairs):
        return {str(k): v for k, v in pairs}
    return [[k, v] for k, v in pairs]


def _generic(val: ScJson) -> Json:
    """:func:`generic_json` of an XDR-JSON value: the same result, without parsing XDR for the
    usual types (the rest goes through ``SCVal.from_json_dict``)."""
    if type(val) is dict and len(val) == 1:
        ((kind, inner),) = val.items()
        if kind in ("u32", "i32") and type(inner) is int:
            return inner
        if kind in _WIDE_INTS and type(inner) is str:
            return str(int(inner))
        if kind in ("bool", "address") and type(inner) is (bool if kind == "bool" else str):
            return inner
        if kind == "symbol" and type(inner) is str and "\\" not in inner:
            return inner
        if kind == "vec" and type(inner) is list:
            return [_generic(v) for v in inner]
        if kind == "map" and type(inner) is list:
            return _pairs_json([(_generic(e["key"]), _generic(e["val"])) for e in inner])
    elif val == "void":
        return None
    return generic_json(x.SCVal.from_json_dict(val))


_WIDE_INTS = frozenset(("u64", "i64", "timepoint", "duration", "u128", "i128", "u256", "i256"))


# --- routing ---


def _route(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    if not topics:
        raise _Malformed("event has no topics")
    first = topics[0]
    if _kind(first) == "u64":
        return _v2_stream(topics, value)
    name = _sym_of(first)
    if name is None:
        raise _Malformed(f"first topic is {_t(first)}, not U64 or Symbol")
    second = _kind(topics[1]) if len(topics) == 2 else None
    handler = _SYMBOL_ROUTES.get((name, second))
    if handler is not None:
        return handler(topics[1], value)
    return _contract_event(name, topics, value)


def _v2_stream(topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    action = _sym_of(topics[1]) if len(topics) == 2 else None
    if action is None:
        raise _Malformed("V2 stream event topics must be [U64 stream_id, Symbol action]")
    stream_id = _u64(topics[0])
    struct = _STRUCT_EVENTS.get(action)
    if struct is not None:
        cls, spec = struct
        fields = _struct(value, spec, action)
        if fields["stream_id"] != stream_id:
            raise _Malformed(f"{action}: stream_id {fields['stream_id']} != topic {stream_id}")
        return cls(**fields)
    nebula = _NEBULA_STREAM_EVENTS.get(action)
    if nebula is None:
        raise _Malformed(f"unknown V2 stream action {action!r}")
    data = _nebula(value, action)
    if not data or _kind(data[0]) != "u64" or _u64(data[0]) != stream_id:
        raise _Malformed(f"{action}: data[0] must be the topic's stream id {stream_id}")
    if action == "create_v2":
        return _create_v2(stream_id, data)
    cls_, readers = nebula
    if len(data) != len(readers) + 1:
        raise _Malformed(f"{action}: expected {len(readers) + 1} data items, got {len(data)}")
    return cls_(stream_id, *_read_items(action, data, readers, 1))


def _create_v2(stream_id: int, data: list[ScJson]) -> StreamCreated:
    n = len(data)
    if n not in (9, 10):
        raise _Malformed(f"create_v2: expected 9 or 10 data items, got {n}")
    memo = None
    if n == 10 and data[9] != "void":
        try:
            memo = _symbol(data[9])
        except _Malformed as exc:
            raise _Malformed(f"create_v2: data[9] (memo) {exc}, nor Void") from None
    sender, receiver, token, amount, start, cliff, end, now = _read_items(
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
            raise _Malformed(f"{action}: expected {len(readers)} data items, got {len(data)}")
        fields = _read_items(action, data, readers, 0)
        if fields[0] != _addr(topic):
            raise _Malformed(f"{action}: data[0] differs from the topic address")
        return cls(*fields)

    return handle


def _v1_create(topic: ScJson, value: ScJson) -> DomainEvent:
    sender = _addr(topic)
    entries = _symbol_map(value, "V1 create")
    if "proposal_id" in entries and "stream_id" not in entries:
        fields = _struct(value, _V1_PROPOSAL, "V1 create")
        generic = {k: _generic(v) for k, v in entries.items()}
        return V1ProposalCreated(fields["proposal_id"], sender, generic)
    stream = _struct(value, _V1_CREATE, "V1 create")
    if stream["sender"] != sender:
        raise _Malformed("V1 create: payload sender differs from the topic sender")
    return V1StreamCreated(**stream)


def _v1_stream(cls: Callable[..., DomainEvent], spec: _StructSpec, name: str) -> _Handler:
    what = "V1 " + name

    def handle(topic: ScJson, value: ScJson) -> DomainEvent:
        fields = _struct(value, spec, what)
        if fields["stream_id"] != _u64(topic):
            raise _Malformed(f"{what}: payload stream_id differs from the topic id")
        return cls(**fields)

    return handle


def _contract_event(action: str, topics: Sequence[ScJson], value: ScJson) -> DomainEvent:
    if not _looks_nebula(value):
        raise _Malformed(f"unrecognised event with topic {action!r}")
    data = _nebula(value, action)
    timestamp = _u64(_symbol_map(value, action)["timestamp"])
    return ContractEvent(
        action, tuple(_generic(t) for t in topics), tuple(_generic(d) for d in data), timestamp
    )


# --- payload shapes ---


def _nebula(value: ScJson, action: str) -> list[ScJson]:
    """Validate a NebulaEvent map against ``action`` and return its ``data`` items."""
    m = _symbol_map(value, action)
    missing = [k for k in _NEBULA_KEYS if k not in m]
    if missing:
        raise _Malformed(f"{action}: NebulaEvent lacks {', '.join(missing)}")
    version = m["version"]
    if _kind(version) != "u32" or _u32(version) != 2:
        raise _Malformed(f"{action}: NebulaEvent version {_generic(version)!r} is not 2")
    if _sym_of(m["action"]) != action:
        found = _generic(m["action"])
        raise _Malformed(f"{action}: payload action {found!r} differs from the topic")
    try:
        _u64(m["timestamp"])
    except _Malformed as exc:
        raise _Malformed(f"{action}: timestamp {exc}") from None
    data = m["data"]
    items = data.get("vec") if type(data) is dict else None
    if type(items) is not list:
        raise _Malformed(f"{action}: NebulaEvent data is {_t(data)}, not a Vec")
    return items


def _looks_nebula(value: ScJson) -> bool:
    entries = _entries(value)
    keys = {_sym_of(e.get("key")) if type(e) is dict else None for e in entries}
    return _kind(value) == "map" and keys.issuperset(_NEBULA_KEYS)


def _entries(value: ScJson) -> list[Any]:
    entries = value.get("map") if type(value) is dict else None
    return entries if type(entries) is list else []


def _symbol_map(value: ScJson, what: str) -> dict[str, ScJson]:
    """Map entries keyed by symbol. Extra keys are kept (callers ignore them)."""
    entries = value.get("map") if type(value) is dict else None
    if type(entries) is not list:
        raise _Malformed(f"{what}: payload is {_t(value)}, not a Map")
    out: dict[str, ScJson] = {}
    for entry in entries:
        key = _sym_of(entry["key"])
        if key is None:
            raise _Malformed(f"{what}: map key is {_t(entry['key'])}, not a Symbol")
        out[key] = entry["val"]
    return out


def _struct(value: ScJson, spec: _StructSpec, what: str) -> dict[str, Any]:
    m = _symbol_map(value, what)
    out: dict[str, Any] = {}
    for name, reader in spec:
        item = m.get(name)
        if item is None:
            raise _Malformed(f"{what}: payload lacks {name!r}")
        try:
            out[name] = reader(item)
        except _Malformed as exc:
            raise _Malformed(f"{what}: {name} {exc}") from None
    return out


def _read_items(action: str, data: list[ScJson], readers: _Readers, start: int) -> list[Any]:
    out: list[Any] = []
    for i, reader in enumerate(readers, start):
        try:
            out.append(reader(data[i]))
        except _Malformed as exc:
            raise _Malformed(f"{action}: data[{i}] {exc}") from None
    return out


# --- typed readers: XDR-JSON -> python value, raising _Malformed("must be ...") ---


def _kind(val: ScJson) -> str | None:
    """The SCVal type's XDR-JSON name (``"u64"``, ``"void"``), or None if ``val`` is not one."""
    if type(val) is dict:
        return next(iter(val)) if len(val) == 1 else None
    return val if type(val) is str else None


def _sym_of(val: ScJson) -> str | None:
    """The symbol, or None when ``val`` is not a Symbol."""
    sym = val.get("symbol") if type(val) is dict else None
    return sym if type(sym) is str else None


def _u32(val: ScJson) -> int:
    n = val.get("u32") if type(val) is dict else None
    if type(n) is not int or not 0 <= n < 2**32:
        raise _Malformed(f"must be SCV_U32, not {_t(val)}")
    return n


def _u64(val: ScJson) -> int:
    text = val.get("u64") if type(val) is dict else None
    if type(text) is not str or not text.isdigit() or int(text) > _U64_MAX:
        raise _Malformed(f"must be SCV_U64, not {_t(val)}")
    return int(text)


def _i128(val: ScJson) -> int:
    parts = val.get("i128") if type(val) is dict else None
    n: int | None = None
    if type(parts) is str and parts.lstrip("-").isdigit():
        n = int(parts)
    elif type(parts) is dict and {"hi", "lo"} == parts.keys():  # older XDR-JSON: the two halves
        n = (int(parts["hi"]) << 64) + int(parts["lo"])
    if n is None or not _I128_MIN <= n <= _I128_MAX:
        raise _Malformed(f"must be SCV_I128, not {_t(val)}")
    return n


def _addr(val: ScJson) -> str:
    text = val.get("address") if type(val) is dict else None
    if type(text) is not str:
        raise _Malformed(f"must be SCV_ADDRESS, not {_t(val)}")
    return _strkey(text)


def _opt_addr(val: ScJson) -> str | None:
    return None if val == "void" else _addr(val)


def _symbol(val: ScJson) -> str:
    sym = _sym_of(val)
    if sym is None:
        raise _Malformed(f"must be SCV_SYMBOL, not {_t(val)}")
    if not sym.isascii() or "\\" in sym:  # XDR-JSON escapes bytes outside printable ASCII
        raise _Malformed("must be an ASCII Symbol")
    return sym


def _json_of(val: x.SCVal) -> ScJson:
    return val.to_json_dict()  # type: ignore[no-untyped-call]


# Addresses repeat across events: check each StrKey (checksum included) once.
@functools.lru_cache(maxsize=8192)
def _strkey(text: str) -> str:
    try:
        return str(Address(text).address)
    except Exception:
        raise _Malformed(f"must be a StrKey address, not {text[:60]!r}") from None


# Topic values repeat (action symbols, admin/sender addresses); callers never mutate them.
@functools.lru_cache(maxsize=8192)
def _topic_from_text(text: str) -> ScJson:
    return jsontext.loads(text)


@functools.lru_cache(maxsize=8192)
def _topic_json(b64: str) -> ScJson:
    return _json_of(x.SCVal.from_xdr(b64))


# --- unknown-event helpers ---


def _unknown_from_xdr(topic_xdr: Sequence[str], value_xdr: str, reason: str) -> UnknownEvent:
    topics = tuple(_generic_b64(t) for t in topic_xdr)
    return UnknownEvent(reason, topics, _generic_b64(value_xdr))


def _generic_b64(b64: str) -> Json:
    try:
        return generic_json(x.SCVal.from_xdr(b64))
    except Exception:
        return None


def _generic_or_none(val: ScJson) -> Json:
    try:
        return _generic(val)
    except Exception:
        return None


def _generic_scval_or_none(val: x.SCVal) -> Json:
    try:
        return generic_json(val)
    except Exception:
        return None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _t(val: ScJson) -> str:
    kind = _kind(val)
    return "SCV_" + kind.upper() if kind else "not an SCVal"


# --- tables ---

_Reader = Callable[[ScJson], Any]
_Readers = tuple[_Reader, ...]
_StructSpec = tuple[tuple[str, _Reader], ...]
_Handler = Callable[[ScJson, ScJson], DomainEvent]


def _spec(*fields: tuple[str, _Reader]) -> _StructSpec:
    return fields


# create_v2 items 1-8; the optional memo (item 9) is read in _create_v2.
_CREATE_V2_READERS: _Readers = (_addr, _addr, _addr, _i128, _u64, _u64, _u64, _u64)

# Readers for data[1:] (data[0] is the stream id, checked against the topic), in dataclass order.
_NEBULA_STREAM_EVENTS: dict[str, tuple[Callable[..., DomainEvent], _Readers]] = {
    "create_v2": (StreamCreated, _CREATE_V2_READERS),
    "claim": (Withdrawn, (_addr, _i128, _i128, _u64)),
    "meta_wdrw": (MetaWithdrawn, (_addr, _i128, _i128, _u64)),
    "cancel": (Canceled, (_addr, _i128, _i128, _u64)),
    "archived": (Archived, (_i128, _i128, _addr, _u64)),
    "benefic": (BeneficiaryTransferred, (_addr, _addr, _u64)),
    "top_up": (ToppedUp, (_addr, _i128, _i128, _u64, _u64)),
    "refill": (Refilled, (_addr, _i128, _u64, _u64, _u64)),
    "migrated": (Migrated, (_u64, _addr, _i128, _u64)),
    "bridge_in": (BridgedIn, (_addr, _addr, _i128, _u64, _u64)),
    "split_exec": (SplitExecuted, (_addr, _addr, _i128, _symbol, _u64)),
    "rate_accept": (RateAccepted, (_addr, _i128, _u64, _i128, _u64)),
}

_STRUCT_EVENTS: dict[str, tuple[Callable[..., DomainEvent], _StructSpec]] = {
    "dust": (
        Dust,
        _spec(
            ("stream_id", _u64),
            ("token", _addr),
            ("to_withdraw", _i128),
            ("dust_amount", _i128),
            ("split_address", _addr),
            ("split_amount", _i128),
            ("split_bps", _u32),
            ("timestamp", _u64),
        ),
    ),
    "split": (
        SplitConfigured,
        _spec(
            ("stream_id", _u64),
            ("beneficiary", _addr),
            ("split_address", _opt_addr),
            ("split_bps", _u32),
            ("timestamp", _u64),
        ),
    ),
}

_CONTRACT_WIDE_READERS: dict[str, _Readers] = {
    "pause": (_addr, _u64),
    "unpause": (_addr, _u64),
    "btch_crt": (_addr, _u32, _i128, _u64),
}

_V1_CREATE = _spec(
    ("stream_id", _u64),
    ("sender", _addr),
    ("receiver", _addr),
    ("token", _addr),
    ("total_amount", _i128),
    ("start_time", _u64),
    ("end_time", _u64),
    ("timestamp", _u64),
)
_V1_TOPUP = _spec(
    ("stream_id", _u64),
    ("sender", _addr),
    ("amount", _i128),
    ("new_total", _i128),
    ("new_end_time", _u64),
    ("timestamp", _u64),
)
_V1_PROPOSAL = _spec(("proposal_id", _u64))
_V1_PAUSE = _spec(("stream_id", _u64), ("pauser", _addr), ("timestamp", _u64))
_V1_RESUME = _spec(
    ("stream_id", _u64), ("resumer", _addr), ("paused_duration", _u64), ("timestamp", _u64)
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
