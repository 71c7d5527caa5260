from __future__ import annotations

from datetime import datetime
from typing import Any

from .._models import BaseModel

__all__ = ["StreamEvent"]


class StreamEvent(BaseModel):
    """One contract event of a stream, in chain order."""

    type: str
    """The event's action: ``create_v2``, ``claim``, ``cancel``, ``top_up``..."""
    ledger: int
    ledger_closed_at: datetime
    tx_hash: str
    tx_index: int
    op_index: int
    event_index: int
    decoded: dict[str, Any]
    """The event's fields as decoded by the indexer (amounts as decimal strings)."""
