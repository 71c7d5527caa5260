"""Compact JSON text, fast: orjson, with the standard library for what orjson refuses.

Used where JSON is made or read per event (the RPC wire, stored events, the engines' JSON
columns): orjson is several times faster than ``json`` there. orjson cannot write integers
beyond 64 bits (amounts are decimal strings everywhere, but a caller's JSON may hold one), so
those documents go through ``json`` with the same compact separators. Reading, orjson turns
such integers into floats: every reader of an untrusted document checks its types.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (no spaces, UTF-8 characters kept)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, or a type orjson does not know
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """Parse JSON text (raises ``ValueError`` on invalid JSON)."""
    return orjson.loads(text)
