from __future__ import annotations

from .._models import BaseModel
from .token_stats import TokenStats

__all__ = ["Stats"]


class Stats(BaseModel):
    """Protocol-wide counts, value locked and volume per token, and indexer freshness."""

    total: int
    active: int
    completed: int
    canceled: int
    paused: int
    archived: int
    unique_senders: int
    unique_receivers: int
    tokens: list[TokenStats]
    indexer_latest_ledger: int | None = None
    network_latest_ledger: int | None = None
    lag_ledgers: int | None = None
    as_of: int
