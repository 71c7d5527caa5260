from __future__ import annotations

from datetime import datetime

from .._models import BaseModel

__all__ = ["ContractSync"]


class ContractSync(BaseModel):
    """How far the indexer has ingested one contract."""

    contract: str
    last_ingested_ledger: int | None = None
    network_latest_ledger: int | None = None
    lag_ledgers: int | None = None
    lag_seconds: int | None = None
    updated_at: datetime | None = None
    gaps: list[list[int]] = []
