"""Small helpers shared by resources: address checks and stream id parsing."""

from __future__ import annotations

import re

from stellar_sdk import StrKey

__all__ = ["I128_MAX", "MEMO_PATTERN", "U32_MAX", "U64_MAX", "check_address", "split_stream_id"]

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
I128_MAX = 2**127 - 1
I128_MIN = -(2**127)
MEMO_PATTERN = re.compile(r"^[A-Za-z0-9_]{1,32}$")
"""A Soroban ``Symbol`` (what the contract's ``memo`` is)."""


def check_address(value: str, field: str, kinds: str = "GC") -> str:
    """``value`` if it is a valid StrKey of one of ``kinds`` (G account, C contract, M muxed)."""
    checks = {
        "G": StrKey.is_valid_ed25519_public_key,
        "C": StrKey.is_valid_contract,
        "M": StrKey.is_valid_med25519_public_key,
    }
    if not isinstance(value, str) or not any(checks[k](value) for k in kinds):
        names = {"G": "G... account", "C": "C... contract", "M": "M... muxed account"}
        wanted = " or ".join(names[k] for k in kinds)
        raise ValueError(f"{field} must be a valid Stellar {wanted} address, got {value!r}")
    return value


def split_stream_id(stream_id: str | int, default_contract: str | None) -> tuple[str, int]:
    """``(contract id, on-chain id)`` from a public id ``"C...-42"`` or a bare on-chain id."""
    if isinstance(stream_id, bool):
        raise ValueError("stream_id must be '<contract>-<id>' or an integer")
    if isinstance(stream_id, int):
        contract, number = default_contract, str(stream_id)
    else:
        head, sep, number = stream_id.rpartition("-")
        contract = head if sep else default_contract
    if contract is None:
        raise ValueError(
            f"stream id {stream_id!r} names no contract: pass '<contract>-<id>' or set contract_id"
        )
    check_address(contract, "stream contract", "C")
    if not number.isascii() or not number.isdigit() or int(number) > U64_MAX:
        raise ValueError(f"the on-chain stream id in {stream_id!r} must be a u64")
    return contract, int(number)
