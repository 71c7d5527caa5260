"""Unguessable, URL-safe, alphanumeric slugs (they double as the contract's memo Symbol)."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.digits + string.ascii_letters
SLUG_BITS = 128
SLUG_LENGTH = 22  # ceil(128 / log2(62))


def new_slug() -> str:
    """A 22-character base62 slug holding 128 random bits."""
    value = secrets.randbits(SLUG_BITS)
    chars = []
    for _ in range(SLUG_LENGTH):
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    return "".join(chars)


def is_slug(value: str) -> bool:
    return len(value) == SLUG_LENGTH and all(c in ALPHABET for c in value)
