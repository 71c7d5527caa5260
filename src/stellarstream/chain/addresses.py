"""StrKey checks for the address kinds the API accepts."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from stellar_sdk import MuxedAccount, StrKey

from stellarstream.errors import ValidationError


# Every stream read checks its contract id and list reads an address: a checksum in Python
# each time. The answers depend on the string alone; the busiest strings stay remembered.
@lru_cache(maxsize=4096)
def is_account(value: str) -> bool:
    return StrKey.is_valid_ed25519_public_key(value)


@lru_cache(maxsize=4096)
def is_contract(value: str) -> bool:
    return StrKey.is_valid_contract(value)


def is_muxed(value: str) -> bool:
    return StrKey.is_valid_med25519_public_key(value)


def short(address: str, keep: int = 4) -> str:
    """``GABC…WXYZ`` for display next to the full address."""
    return address if len(address) <= 2 * keep + 1 else f"{address[:keep]}…{address[-keep:]}"


def base_account(address: str) -> str:
    """The G... account behind a muxed M... address (contracts pay accounts); others as is."""
    if address.startswith("M"):
        return str(MuxedAccount.from_account(address).account_id)
    return address


def require_address(value: str, field: str, *, kinds: str = "GMC") -> str:
    """Return ``value`` if it is a valid StrKey of one of ``kinds`` (G, M, C), else raise."""
    checks: dict[str, Callable[[str], bool]] = {"G": is_account, "M": is_muxed, "C": is_contract}
    if any(checks[kind](value) for kind in kinds):
        return value
    names = {"G": "account (G...)", "M": "muxed account (M...)", "C": "contract (C...)"}
    wanted = " or ".join(names[kind] for kind in kinds)
    raise ValidationError(f"{field} must be a valid Stellar {wanted} address", field=field)
