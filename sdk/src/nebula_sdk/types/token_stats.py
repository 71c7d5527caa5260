from __future__ import annotations

from .._models import Amount, BaseModel

__all__ = ["TokenStats"]


class TokenStats(BaseModel):
    token: str
    streams: int
    value_locked: Amount
    """Deposited - withdrawn - refunded, over live streams."""
    total_volume: Amount
