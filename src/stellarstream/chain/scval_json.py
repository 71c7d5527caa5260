"""SCVals in XDR-JSON (SEP-51): typed readers, and the readable generic JSON form of any value.

A reader takes one XDR-JSON value and returns the Python value (``u64({"u64": "5"}) == 5``) or
raises :class:`Malformed` saying what it must be; :func:`generic_json` (of an ``SCVal``) and
:func:`generic` (of its XDR-JSON) give the same readable form, which :class:`UnknownEvent` and
:class:`ContractEvent` carry. Integers are range-checked and addresses StrKey-checked (a JSON
node is not trusted to send well-formed values).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from stellar_sdk import Address, scval
from stellar_sdk import xdr as x

from stellarstream.chain.events import Json

ScJson = Any
"""An SCVal in XDR-JSON (SEP-51): ``{"u64": "5"}``, ``{"symbol": "claim"}``, ``"void"``, ..."""

_U64_MAX = 2**64 - 1
_I128_MIN, _I128_MAX = -(2**127), 2**127 - 1


class Malformed(Exception):
    """The payload does not match the spec; the message becomes the reason."""


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
        return pairs_json([(generic_json(e.key), generic_json(e.val)) for e in entries])
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


def pairs_json(pairs: list[tuple[Json, Json]]) -> Json:
    """A map's readable form: a dict when every key is a string, else ``[key, value]`` pairs."""
    if all(isinstance(k, str) for k, _ in pairs):
        return {str(k): v for k, v in pairs}
    return [[k, v] for k, v in pairs]


def generic(val: ScJson) -> Json:
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
            return [generic(v) for v in inner]
        if kind == "map" and type(inner) is list:
            return pairs_json([(generic(e["key"]), generic(e["val"])) for e in inner])
    elif val == "void":
        return None
    return generic_json(x.SCVal.from_json_dict(val))


_WIDE_INTS = frozenset(("u64", "i64", "timepoint", "duration", "u128", "i128", "u256", "i256"))


# --- typed readers: XDR-JSON -> python value, raising Malformed("must be ...") ---


def kind_of(val: ScJson) -> str | None:
    """The SCVal type's XDR-JSON name (``"u64"``, ``"void"``), or None if ``val`` is not one."""
    if type(val) is dict:
        return next(iter(val)) if len(val) == 1 else None
    return val if type(val) is str else None


def sym_of(val: ScJson) -> str | None:
    """The symbol, or None when ``val`` is not a Symbol."""
    sym = val.get("symbol") if type(val) is dict else None
    return sym if type(sym) is str else None


def u32(val: ScJson) -> int:
    """A U32's value."""
    n = val.get("u32") if type(val) is dict else None
    if type(n) is not int or not 0 <= n < 2**32:
        raise Malformed(f"must be SCV_U32, not {type_name(val)}")
    return n


def u64(val: ScJson) -> int:
    """A U64's value."""
    text = val.get("u64") if type(val) is dict else None
    if type(text) is not str or not text.isdigit() or int(text) > _U64_MAX:
        raise Malformed(f"must be SCV_U64, not {type_name(val)}")
    return int(text)


def i128(val: ScJson) -> int:
    """An I128's value (the decimal string, or the older hi/lo halves)."""
    parts = val.get("i128") if type(val) is dict else None
    n: int | None = None
    if type(parts) is str and parts.lstrip("-").isdigit():
        n = int(parts)
    elif type(parts) is dict and {"hi", "lo"} == parts.keys():  # older XDR-JSON: the two halves
        n = (int(parts["hi"]) << 64) + int(parts["lo"])
    if n is None or not _I128_MIN <= n <= _I128_MAX:
        raise Malformed(f"must be SCV_I128, not {type_name(val)}")
    return n


def addr(val: ScJson) -> str:
    """An Address's StrKey, checksum checked."""
    text = val.get("address") if type(val) is dict else None
    if type(text) is not str:
        raise Malformed(f"must be SCV_ADDRESS, not {type_name(val)}")
    return strkey(text)


def opt_addr(val: ScJson) -> str | None:
    """An Address's StrKey, or None for Void."""
    return None if val == "void" else addr(val)


def symbol(val: ScJson) -> str:
    """A Symbol of printable ASCII."""
    sym = sym_of(val)
    if sym is None:
        raise Malformed(f"must be SCV_SYMBOL, not {type_name(val)}")
    if not sym.isascii() or "\\" in sym:  # XDR-JSON escapes bytes outside printable ASCII
        raise Malformed("must be an ASCII Symbol")
    return sym


def json_of(val: x.SCVal) -> ScJson:
    """An ``SCVal``'s XDR-JSON."""
    return val.to_json_dict()  # type: ignore[no-untyped-call]


# Addresses repeat across events: check each StrKey (checksum included) once.
@functools.lru_cache(maxsize=8192)
def strkey(text: str) -> str:
    """``text`` if it is a valid StrKey address."""
    try:
        return str(Address(text).address)
    except Exception:
        raise Malformed(f"must be a StrKey address, not {text[:60]!r}") from None


def generic_b64(b64: str) -> Json:
    """:func:`generic_json` of base64 XDR, or None if it is not an SCVal."""
    try:
        return generic_json(x.SCVal.from_xdr(b64))
    except Exception:
        return None


def generic_or_none(val: ScJson) -> Json:
    """:func:`generic` of an XDR-JSON value, or None if it has no readable form."""
    try:
        return generic(val)
    except Exception:
        return None


def generic_scval_or_none(val: x.SCVal) -> Json:
    """:func:`generic_json`, or None if the value has no readable form."""
    try:
        return generic_json(val)
    except Exception:
        return None


def describe(exc: BaseException) -> str:
    """An exception as ``Type: message`` for a reason text."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def type_name(val: ScJson) -> str:
    """``val``'s SCVal type as ``SCV_U64`` (for messages), or "not an SCVal"."""
    kind = kind_of(val)
    return "SCV_" + kind.upper() if kind else "not an SCVal"


# --- maps, structs and item lists ---

Reader = Callable[[ScJson], Any]
Readers = tuple[Reader, ...]
StructSpec = tuple[tuple[str, Reader], ...]


def struct_spec(*fields: tuple[str, Reader]) -> StructSpec:
    """The ``(name, reader)`` pairs of a struct map payload, in dataclass order."""
    return fields


def entries_of(value: ScJson) -> list[Any]:
    """A Map's entries, or none for any other value."""
    entries = value.get("map") if type(value) is dict else None
    return entries if type(entries) is list else []


def symbol_map(value: ScJson, what: str) -> dict[str, ScJson]:
    """Map entries keyed by symbol. Extra keys are kept (callers ignore them)."""
    entries = value.get("map") if type(value) is dict else None
    if type(entries) is not list:
        raise Malformed(f"{what}: payload is {type_name(value)}, not a Map")
    out: dict[str, ScJson] = {}
    for entry in entries:
        key = sym_of(entry["key"])
        if key is None:
            raise Malformed(f"{what}: map key is {type_name(entry['key'])}, not a Symbol")
        out[key] = entry["val"]
    return out


def read_struct(value: ScJson, spec: StructSpec, what: str) -> dict[str, Any]:
    """A symbol-keyed map read field by field; a missing or malformed field raises."""
    m = symbol_map(value, what)
    out: dict[str, Any] = {}
    for name, reader in spec:
        item = m.get(name)
        if item is None:
            raise Malformed(f"{what}: payload lacks {name!r}")
        try:
            out[name] = reader(item)
        except Malformed as exc:
            raise Malformed(f"{what}: {name} {exc}") from None
    return out


def read_items(action: str, data: list[ScJson], readers: Readers, start: int) -> list[Any]:
    """``data[start:]`` read by ``readers`` in turn; a malformed item raises naming its index."""
    out: list[Any] = []
    for i, reader in enumerate(readers, start):
        try:
            out.append(reader(data[i]))
        except Malformed as exc:
            raise Malformed(f"{action}: data[{i}] {exc}") from None
    return out
