from __future__ import annotations

from .._models import Amount
from .yield_data import YieldData

__all__ = ["YieldProjection"]


class YieldProjection(YieldData):
    """Projected yield over the next ``days`` days (an estimate)."""

    days: int
    projected_yield_estimate: Amount
    """Over the next ``days`` days."""
    projected_total_estimate: Amount
    """Accrued since the start, by then."""
