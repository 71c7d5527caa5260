from __future__ import annotations

from enum import StrEnum

__all__ = ["StreamStatus"]


class StreamStatus(StrEnum):
    """A stream's status, computed by the API at ``as_of``."""

    ACTIVE = "ACTIVE"
    """Live (also before ``start_time``: then nothing has streamed yet)."""
    PAUSED = "PAUSED"
    """Paused (a V1 pause, or the whole V2 contract is paused)."""
    COMPLETED = "COMPLETED"
    """The end time has passed without a cancel."""
    CANCELED = "CANCELED"
    ARCHIVED = "ARCHIVED"
    """Closed and archived on-chain."""
