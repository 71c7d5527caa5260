"""Time-dependent values of a stream, computed at read time with the contract's own math."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from stellarstream.chain import math


class StreamStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"
    ARCHIVED = "ARCHIVED"


class StreamTerms(Protocol):
    """What status and amounts read of a stream: an ORM ``Stream`` or a Core row of its columns."""

    @property
    def contract_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def total_amount(self) -> int: ...
    @property
    def withdrawn_amount(self) -> int: ...
    @property
    def start_time(self) -> int: ...
    @property
    def cliff_time(self) -> int: ...
    @property
    def end_time(self) -> int: ...
    @property
    def curve_type(self) -> int: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def archived(self) -> bool: ...
    @property
    def paused(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Amounts:
    streamed: int
    withdrawable: int
    refundable: int


def status_of(stream: StreamTerms, now: int, paused_contracts: frozenset[str]) -> StreamStatus:
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


def amounts_of(stream: StreamTerms, now: int) -> Amounts:
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
