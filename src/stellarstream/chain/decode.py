"""Decode raw StellarStream contract events (SCVal XDR) into typed domain events.

Pure and total: :func:`decode` and :func:`decode_scvals` never raise on bad input; anything that is
not a well-formed event of the spec becomes :class:`UnknownEvent` with a reason. Topic routing:

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
ignored. ``RawEvent.in_successful_call`` is not consulted: callers decide what to project.

Speed matters (the indexer decodes tens of thousands of events a second): each topic and value is
parsed once with ``SCVal.from_xdr`` and the SCVal objects are walked directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from stellar_sdk import Address, StrKey, scval
from stellar_sdk import xdr as x

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
    "decode_scvals",
    "decode_xdr",
    "generic_json",
    "is_stream_event",
    "stream_id_of",
]

_VT = x.SCValType
_U32, _U64, _I128 = _VT.SCV_U32, _VT.SCV_U64, _VT.SCV_I128
_SYMBOL, _ADDRESS, _MAP, _VEC, _VOID = (
    _VT.SCV_SYMBOL,
    _VT.SCV_ADDRESS,
    _VT.SCV_MAP,
    _VT.SCV_VEC,
    _VT.SCV_VOID,
)
_ACCOUNT = x.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT
_CONTRACT = x.SCAddressType.SC_ADDRESS_TYPE_CONTRACT
_NEBULA_KEYS = (b"action", b"data", b"timestamp", b"version")


class _Malformed(Exception):
    """Internal: the payload does not match the spec; the message becomes the reason."""


# --- public API ---


def decode(raw: RawEvent) -> DomainEvent:
    """Decode one raw event. Never raises: bad XDR becomes :class:`UnknownEvent`."""
    return decode_xdr(raw.topic_xdr, raw.value_xdr)


def decode_xdr(topic_xdr: Sequence[str], value_xdr: str) -> DomainEvent:
    """Decode an event's base64 topics and value (what :func:`decode` reads of a RawEvent)."""
    topics: list[x.SCVal] = []
    for i, b64 in enumerate(topic_xdr):
        try:
            topics.append(_parse_topic(b64))
        except Exception as exc:
            reason = f"topic {i} is not valid SCVal XDR ({_describe(exc)})"
            return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    try:
        value = x.SCVal.from_xdr(value_xdr)
    except Exception as exc:
        reason = f"value is not valid SCVal XDR ({_describe(exc)})"
        return _unknown_from_xdr(topic_xdr, value_xdr, reason)
    return decode_scvals(topics, value)


def decode_scvals(topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    """Decode already-parsed topics and value. Never raises."""
    try:
        return _route(topics, value)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, _Malformed) else f"decode error: {_describe(exc)}"
        return UnknownEvent(reason, _generic_all(topics), _generic_or_none(value))


def generic_json(val: x.SCVal) -> Json:
    """Readable JSON-safe form of any SCVal (64-bit and wider ints as decimal strings).

    Symbols and strings become ``str``, addresses StrKey ``str``, bytes ``{"bytes": hex}``,
    vectors lists, maps dicts (or ``[key, value]`` pairs when a key is not a string), and any
    other type ``{"type": name, "xdr": base64}``.
    """
    t = val.type
    if t == _VEC:
        return [generic_json(v) for v in (val.vec.sc_vec if val.vec else ())]
    if t == _MAP:
        pairs = [(generic_json(e.key), generic_json(e.val)) for e in _entries(val)]
        if all(isinstance(k, str) for k, _ in pairs):
            return {str(k): v for k, v in pairs}
        return [[k, v] for k, v in pairs]
    if t == _SYMBOL and val.sym is not None:
        return bytes(val.sym.sc_symbol).decode("utf-8", "backslashreplace")
    native = scval.to_native(val)
    if native is None or isinstance(native, bool | str):
        return native
    if isinstance(native, int):
        return native if t in (_U32, _VT.SCV_I32) else str(native)
    if isinstance(native, bytes):
        return {"bytes": native.hex()}
    if isinstance(native, Address):
        return str(native.address)
    return {"type": t.name, "xdr": val.to_xdr()}


# --- routing ---


def _route(topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    if not topics:
        raise _Malformed("event has no topics")
    first = topics[0]
    if first.type == _U64:
        return _v2_stream(topics, value)
    name = _sym_of(first)
    if name is None:
        raise _Malformed(f"first topic is {_t(first)}, not U64 or Symbol")
    second = topics[1].type if len(topics) == 2 else None
    handler = _SYMBOL_ROUTES.get((name, second))
    if handler is not None:
        return handler(topics[1], value)
    return _contract_event(name, topics, value)


def _v2_stream(topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    action = _sym_of(topics[1]) if len(topics) == 2 else None
    if action is None:
        raise _Malformed("V2 stream event topics must be [U64 stream_id, Symbol action]")
    stream_id = _u64(topics[0])
    struct = _STRUCT_EVENTS.get(action)
    if struct is not None:
        cls, spec = struct
        fields = _struct(value, spec, action)
        if fields["stream_id"] != stream_id:
            raise _Malformed(f"{_s(action)}: stream_id {fields['stream_id']} != topic {stream_id}")
        return cls(**fields)
    nebula = _NEBULA_STREAM_EVENTS.get(action)
    if nebula is None:
        raise _Malformed(f"unknown V2 stream action {_s(action)!r}")
    data = _nebula(value, action)
    if not data or data[0].type != _U64 or _u64(data[0]) != stream_id:
        raise _Malformed(f"{_s(action)}: data[0] must be the topic's stream id {stream_id}")
    if action == b"create_v2":
        return _create_v2(stream_id, data)
    cls_, readers = nebula
    if len(data) != len(readers) + 1:
        raise _Malformed(f"{_s(action)}: expected {len(readers) + 1} data items, got {len(data)}")
    return cls_(stream_id, *_read_items(action, data, readers, 1))


def _create_v2(stream_id: int, data: list[x.SCVal]) -> StreamCreated:
    n = len(data)
    if n not in (9, 10):
        raise _Malformed(f"create_v2: expected 9 or 10 data items, got {n}")
    memo = None
    if n == 10 and data[9].type != _VOID:
        try:
            memo = _symbol(data[9])
        except _Malformed as exc:
            raise _Malformed(f"create_v2: data[9] (memo) {exc}, nor Void") from None
    sender, receiver, token, amount, start, cliff, end, now = _read_items(
        b"create_v2", data, _CREATE_V2_READERS, 1
    )
    return StreamCreated(
        stream_id, sender, receiver, token, amount, start, cliff, end, now, memo, n == 10
    )


def _v2_contract_wide(cls: Callable[..., DomainEvent], action: bytes) -> _Handler:
    """Handler for ``[action, Address]`` NebulaEvents whose data[0] repeats the address."""
    readers = _CONTRACT_WIDE_READERS[action]

    def handle(topic: x.SCVal, value: x.SCVal) -> DomainEvent:
        data = _nebula(value, action)
        if len(data) != len(readers):
            raise _Malformed(f"{_s(action)}: expected {len(readers)} data items, got {len(data)}")
        fields = _read_items(action, data, readers, 0)
        if fields[0] != _addr(topic):
            raise _Malformed(f"{_s(action)}: data[0] differs from the topic address")
        return cls(*fields)

    return handle


def _v1_create(topic: x.SCVal, value: x.SCVal) -> DomainEvent:
    sender = _addr(topic)
    entries = _symbol_map(value, b"V1 create")
    if b"proposal_id" in entries and b"stream_id" not in entries:
        fields = _struct(value, _V1_PROPOSAL, b"V1 create")
        generic = {_s(k): generic_json(v) for k, v in entries.items()}
        return V1ProposalCreated(fields["proposal_id"], sender, generic)
    stream = _struct(value, _V1_CREATE, b"V1 create")
    if stream["sender"] != sender:
        raise _Malformed("V1 create: payload sender differs from the topic sender")
    return V1StreamCreated(**stream)


def _v1_stream(cls: Callable[..., DomainEvent], spec: _StructSpec, name: bytes) -> _Handler:
    what = b"V1 " + name

    def handle(topic: x.SCVal, value: x.SCVal) -> DomainEvent:
        fields = _struct(value, spec, what)
        if fields["stream_id"] != _u64(topic):
            raise _Malformed(f"{_s(what)}: payload stream_id differs from the topic id")
        return cls(**fields)

    return handle


def _contract_event(action: bytes, topics: Sequence[x.SCVal], value: x.SCVal) -> DomainEvent:
    if not _looks_nebula(value):
        raise _Malformed(f"unrecognised event with topic {_s(action)!r}")
    data = _nebula(value, action)
    timestamp = _u64(_symbol_map(value, action)[b"timestamp"])
    return ContractEvent(
        _s(action), _generic_all(topics), tuple(generic_json(d) for d in data), timestamp
    )


# --- payload shapes ---


def _nebula(value: x.SCVal, action: bytes) -> list[x.SCVal]:
    """Validate a NebulaEvent map against ``action`` and return its ``data`` items."""
    m = _symbol_map(value, action)
    missing = [_s(k) for k in _NEBULA_KEYS if k not in m]
    if missing:
        raise _Malformed(f"{_s(action)}: NebulaEvent lacks {', '.join(missing)}")
    version = m[b"version"]
    if version.type != _U32 or _u32(version) != 2:
        raise _Malformed(f"{_s(action)}: NebulaEvent version {generic_json(version)!r} is not 2")
    if _sym_of(m[b"action"]) != action:
        found = generic_json(m[b"action"])
        raise _Malformed(f"{_s(action)}: payload action {found!r} differs from the topic")
    try:
        _u64(m[b"timestamp"])
    except _Malformed as exc:
        raise _Malformed(f"{_s(action)}: timestamp {exc}") from None
    data = m[b"data"]
    if data.type != _VEC or data.vec is None:
        raise _Malformed(f"{_s(action)}: NebulaEvent data is {_t(data)}, not a Vec")
    return list(data.vec.sc_vec)


def _looks_nebula(value: x.SCVal) -> bool:
    keys = {_sym_of(e.key) for e in _entries(value)}
    return value.type == _MAP and keys.issuperset(_NEBULA_KEYS)


def _entries(value: x.SCVal) -> list[x.SCMapEntry]:
    return list(value.map.sc_map) if value.type == _MAP and value.map is not None else []


def _symbol_map(value: x.SCVal, what: bytes) -> dict[bytes, x.SCVal]:
    """Map entries keyed by symbol bytes. Extra keys are kept (callers ignore them)."""
    if value.type != _MAP or value.map is None:
        raise _Malformed(f"{_s(what)}: payload is {_t(value)}, not a Map")
    out: dict[bytes, x.SCVal] = {}
    for entry in value.map.sc_map:
        key = _sym_of(entry.key)
        if key is None:
            raise _Malformed(f"{_s(what)}: map key is {_t(entry.key)}, not a Symbol")
        out[key] = entry.val
    return out


def _struct(value: x.SCVal, spec: _StructSpec, what: bytes) -> dict[str, Any]:
    m = _symbol_map(value, what)
    out: dict[str, Any] = {}
    for name, key, reader in spec:
        item = m.get(key)
        if item is None:
            raise _Malformed(f"{_s(what)}: payload lacks {name!r}")
        try:
            out[name] = reader(item)
        except _Malformed as exc:
            raise _Malformed(f"{_s(what)}: {name} {exc}") from None
    return out


def _read_items(action: bytes, data: list[x.SCVal], readers: _Readers, start: int) -> list[Any]:
    out: list[Any] = []
    for i, reader in enumerate(readers, start):
        try:
            out.append(reader(data[i]))
        except _Malformed as exc:
            raise _Malformed(f"{_s(action)}: data[{i}] {exc}") from None
    return out


# --- typed readers: SCVal -> python value, raising _Malformed("must be ...") ---


def _sym_of(val: x.SCVal) -> bytes | None:
    """The symbol's bytes, or None when ``val`` is not a Symbol."""
    sym = val.sym if val.type == _SYMBOL else None
    return None if sym is None else bytes(sym.sc_symbol)


def _u32(val: x.SCVal) -> int:
    if val.type != _U32 or val.u32 is None:
        raise _Malformed(f"must be SCV_U32, not {_t(val)}")
    return int(val.u32.uint32)


def _u64(val: x.SCVal) -> int:
    if val.type != _U64 or val.u64 is None:
        raise _Malformed(f"must be SCV_U64, not {_t(val)}")
    return int(val.u64.uint64)


def _i128(val: x.SCVal) -> int:
    parts = val.i128 if val.type == _I128 else None
    if parts is None:
        raise _Malformed(f"must be SCV_I128, not {_t(val)}")
    return int((parts.hi.int64 << 64) + parts.lo.uint64)


def _addr(val: x.SCVal) -> str:
    addr = val.address if val.type == _ADDRESS else None
    if addr is None:
        raise _Malformed(f"must be SCV_ADDRESS, not {_t(val)}")
    if addr.type == _ACCOUNT and addr.account_id is not None:
        key = addr.account_id.account_id.ed25519
        if key is not None:
            return _account_strkey(bytes(key.uint256))
    if addr.type == _CONTRACT and addr.contract_id is not None:
        return _contract_strkey(bytes(addr.contract_id.contract_id.hash))
    return str(Address.from_xdr_sc_address(addr).address)


def _opt_addr(val: x.SCVal) -> str | None:
    return None if val.type == _VOID else _addr(val)


def _symbol(val: x.SCVal) -> str:
    raw = _sym_of(val)
    if raw is None:
        raise _Malformed(f"must be SCV_SYMBOL, not {_t(val)}")
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise _Malformed("must be an ASCII Symbol") from None


# Addresses repeat across events, and StrKey encoding (base32 + CRC16 in Python) is not free.
@functools.lru_cache(maxsize=8192)
def _account_strkey(raw: bytes) -> str:
    return str(StrKey.encode_ed25519_public_key(raw))


@functools.lru_cache(maxsize=8192)
def _contract_strkey(raw: bytes) -> str:
    return str(StrKey.encode_contract(raw))


# Topic values repeat (action symbols, admin/sender addresses); the decoded SCVal is never mutated.
@functools.lru_cache(maxsize=8192)
def _parse_topic(b64: str) -> x.SCVal:
    return x.SCVal.from_xdr(b64)


# --- unknown-event helpers ---


def _unknown_from_xdr(topic_xdr: Sequence[str], value_xdr: str, reason: str) -> UnknownEvent:
    topics = tuple(_generic_b64(t) for t in topic_xdr)
    return UnknownEvent(reason, topics, _generic_b64(value_xdr))


def _generic_b64(b64: str) -> Json:
    try:
        return generic_json(x.SCVal.from_xdr(b64))
    except Exception:
        return None


def _generic_or_none(val: x.SCVal) -> Json:
    try:
        return generic_json(val)
    except Exception:
        return None


def _generic_all(topics: Sequence[x.SCVal]) -> tuple[Json, ...]:
    return tuple(_generic_or_none(t) for t in topics)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _s(raw: str | bytes) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", "backslashreplace")


def _t(val: x.SCVal) -> str:
    return str(val.type.name)


# --- tables ---

_Reader = Callable[[x.SCVal], Any]
_Readers = tuple[_Reader, ...]
_StructSpec = tuple[tuple[str, bytes, _Reader], ...]
_Handler = Callable[[x.SCVal, x.SCVal], DomainEvent]


def _spec(*fields: tuple[str, _Reader]) -> _StructSpec:
    return tuple((name, name.encode(), reader) for name, reader in fields)


# create_v2 items 1-8; the optional memo (item 9) is read in _create_v2.
_CREATE_V2_READERS: _Readers = (_addr, _addr, _addr, _i128, _u64, _u64, _u64, _u64)

# Readers for data[1:] (data[0] is the stream id, checked against the topic), in dataclass order.
_NEBULA_STREAM_EVENTS: dict[bytes, tuple[Callable[..., DomainEvent], _Readers]] = {
    b"create_v2": (StreamCreated, _CREATE_V2_READERS),
    b"claim": (Withdrawn, (_addr, _i128, _i128, _u64)),
    b"meta_wdrw": (MetaWithdrawn, (_addr, _i128, _i128, _u64)),
    b"cancel": (Canceled, (_addr, _i128, _i128, _u64)),
    b"archived": (Archived, (_i128, _i128, _addr, _u64)),
    b"benefic": (BeneficiaryTransferred, (_addr, _addr, _u64)),
    b"top_up": (ToppedUp, (_addr, _i128, _i128, _u64, _u64)),
    b"refill": (Refilled, (_addr, _i128, _u64, _u64, _u64)),
    b"migrated": (Migrated, (_u64, _addr, _i128, _u64)),
    b"bridge_in": (BridgedIn, (_addr, _addr, _i128, _u64, _u64)),
    b"split_exec": (SplitExecuted, (_addr, _addr, _i128, _symbol, _u64)),
    b"rate_accept": (RateAccepted, (_addr, _i128, _u64, _i128, _u64)),
}

_STRUCT_EVENTS: dict[bytes, tuple[Callable[..., DomainEvent], _StructSpec]] = {
    b"dust": (
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
    b"split": (
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

_CONTRACT_WIDE_READERS: dict[bytes, _Readers] = {
    b"pause": (_addr, _u64),
    b"unpause": (_addr, _u64),
    b"btch_crt": (_addr, _u32, _i128, _u64),
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
_SYMBOL_ROUTES: dict[tuple[bytes, x.SCValType | None], _Handler] = {
    (b"pause", _ADDRESS): _v2_contract_wide(ContractPaused, b"pause"),
    (b"unpause", _ADDRESS): _v2_contract_wide(ContractUnpaused, b"unpause"),
    (b"btch_crt", _ADDRESS): _v2_contract_wide(BatchCreated, b"btch_crt"),
    (b"create", _ADDRESS): _v1_create,
    (b"topup", _U64): _v1_stream(V1ToppedUp, _V1_TOPUP, b"topup"),
    (b"pause", _U64): _v1_stream(V1Paused, _V1_PAUSE, b"pause"),
    (b"resume", _U64): _v1_stream(V1Resumed, _V1_RESUME, b"resume"),
}
