"""Yield estimates for yield-enabled streams (V2 ``yield_enabled`` with a vault).

The chain does not publish a vault's rate, so the rate comes from configuration: a default APY
and per-vault overrides, in basis points. Every figure here is an estimate and labelled so.
The estimate integrates the principal still locked in the stream over time at that rate:
the locked principal falls from ``total`` at start to 0 at end (linear), so the yield from
``a`` to ``b`` is ``rate * integral(locked(t) dt) / year``, floored to base units.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from stellarstream.config import Settings
from stellarstream.db.models import Stream
from stellarstream.streams.view import amounts_of

YEAR_SECONDS = 365 * 86400


@dataclass(frozen=True, slots=True)
class YieldEstimate:
    enabled: bool
    vault: str | None
    apy_bps: int
    rate_source: str
    principal_locked: int
    accrued: int
    recipient: str | None


def rate_for(settings: Settings, vault: str | None) -> tuple[int, str]:
    if vault is not None and vault in settings.yield_vault_apy_bps:
        return settings.yield_vault_apy_bps[
            vault
        ], "configured vault rate (STELLARSTREAM_YIELD_VAULT_APY_BPS)"
    return (
        settings.yield_default_apy_bps,
        "configured default rate (STELLARSTREAM_YIELD_DEFAULT_APY_BPS)",
    )


def _locked_integral(stream: Stream, t: int) -> Fraction:
    """Integral of the locked principal from start to ``t`` (token-seconds)."""
    start, end, total = stream.start_time, stream.end_time, stream.total_amount
    if t <= start or end <= start:
        return Fraction(0)
    t = min(t, end)
    elapsed = t - start
    return Fraction(total * elapsed) - Fraction(total * elapsed * elapsed, 2 * (end - start))


def _accrued(stream: Stream, apy_bps: int, until: int) -> int:
    stop = min(until, stream.cancelled_at) if stream.cancelled_at else until
    value = _locked_integral(stream, stop) * apy_bps / (10_000 * YEAR_SECONDS)
    return int(value)  # floor: value is non-negative


def estimate(settings: Settings, stream: Stream, now: int) -> YieldEstimate:
    """Accrued yield estimate since start, at ``now``."""
    if not (stream.yield_enabled and stream.vault_address):
        return YieldEstimate(False, None, 0, "not yield-enabled", 0, 0, None)
    apy, source = rate_for(settings, stream.vault_address)
    return YieldEstimate(
        enabled=True,
        vault=stream.vault_address,
        apy_bps=apy,
        rate_source=source,
        principal_locked=amounts_of(stream, now).refundable,
        accrued=_accrued(stream, apy, now),
        recipient=stream.sender,
    )


def projection(
    settings: Settings, stream: Stream, now: int, days: int
) -> tuple[YieldEstimate, int, int]:
    """(estimate now, yield over the next ``days`` days, accrued total by then)."""
    current = estimate(settings, stream, now)
    if not current.enabled:
        return current, 0, 0
    later = _accrued(stream, current.apy_bps, now + days * 86400)
    return current, later - current.accrued, later
