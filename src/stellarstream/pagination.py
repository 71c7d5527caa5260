"""Opaque keyset cursors: URL-safe base64 of a small JSON list, validated on the way in."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from stellarstream.errors import BadRequest, ValidationError

MAX_LIMIT = 200
_INVALID = "cursor is not valid: pass back a nextCursor as is"


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, types: tuple[type, ...]) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`, checking the arity and each value's type."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid_cursor() from exc
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(
            isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)
        )
    ):
        raise invalid_cursor()
    return values


def invalid_cursor() -> BadRequest:
    """The 400 for a cursor that is not one of ours."""
    return BadRequest(_INVALID, field="cursor")


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    return limit
