from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ContractCallResult"]


class ContractCallResult(BaseModel):
    """A contract call that succeeded in a ledger."""

    function: str
    contract_id: str
    tx_hash: str
    ledger: int
    """The ledger that included the transaction."""
    created_at: int | None = None
    """Its close time (Unix seconds)."""
    return_value_xdr: str | None = None
    """The function's return value, base64 ``SCVal``."""
