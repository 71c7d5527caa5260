"""Valid request bodies and well-formed addresses for tests."""

from __future__ import annotations

from typing import Any

from stellar_sdk import Keypair, StrKey


def account(n: int) -> str:
    """A deterministic G... address."""
    return str(Keypair.from_raw_ed25519_seed(bytes([n]) * 32).public_key)


def contract(n: int) -> str:
    """A deterministic C... address."""
    return str(StrKey.encode_contract(bytes([n]) * 32))


def invoice_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receiver": account(200),
        "amount": "1000000000",
        "tokenAddress": contract(201),
        "duration": 86400,
        "description": "March retainer",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}
