"""Time-dependent values of a stream, computed at read time with the contract's own math."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stellarstream.chain import math
from stellarstream.db.models import Stream


class StreamStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    ARCHIVED = "ARCHIVED"


@dataclass(frozen=True, slots=True)
class Amounts:
    streamed: int
    withdrawable: int
    refundable: int


def status_of(stream: Stream, now: int, paused_contracts: frozenset[str]) -> StreamStatus:
    """ARCHIVED > CANCELED > PAUSED > COMPLETED (end passed) > ACTIVE (not started counts)."""
    if stream.archived:
        return StreamStatus.ARCHIVED
    if stream.cancelled:
        return StreamStatus.CANCELED
    if stream.paused or (stream.version == 2 and stream.contract_id in paused_contracts):
        return StreamStatus.PAUSED
    if now >= stream.end_time:
        return StreamStatus.COMPLETED
    return StreamStatus.ACTIVE


def amounts_of(stream: Stream, now: int) -> Amounts:
    """Streamed (unlocked), withdrawable and refundable amounts at ``now``.

    Once cancelled or archived nothing more streams: the receiver's share is what was paid out
    (``withdrawn``), and nothing is withdrawable or refundable.
    """
    if stream.cancelled or stream.archived:
        return Amounts(stream.withdrawn_amount, 0, 0)
    terms = (stream.total_amount, stream.start_time, stream.cliff_time, stream.end_time, now)
    unlocked = math.unlocked(*terms, curve_type=stream.curve_type)
    return Amounts(
        streamed=unlocked,
        withdrawable=max(0, unlocked - stream.withdrawn_amount),
        refundable=max(0, stream.total_amount - unlocked),
    )
