from __future__ import annotations

from .._models import BaseModel
from .stream import Stream
from .stream_event import StreamEvent

__all__ = ["StreamHistory"]


class StreamHistory(BaseModel):
    """A stream and all its events (one call for a timeline)."""

    stream: Stream
    events: list[StreamEvent]
