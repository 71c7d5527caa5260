from __future__ import annotations

from .._models import Amount, BaseModel

__all__ = ["YieldData"]


class YieldData(BaseModel):
    """Yield estimate of a stream (zeros and ``yield_enabled=False`` when it earns none)."""

    stream: str
    yield_enabled: bool
    estimate: bool = True
    """Every figure is an estimate."""
    vault: str | None = None
    apy_bps: int
    rate_source: str
    principal_locked: Amount
    accrued_estimate: Amount
    recipient: str | None = None
    as_of: int
