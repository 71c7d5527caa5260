from __future__ import annotations

from .._models import BaseModel
from .stream import Stream

__all__ = ["SearchHit"]


class SearchHit(BaseModel):
    match: str
    """How it matched, in rank order: ``id``, ``tx``, ``address``, ``token``, ``address_prefix``."""
    stream: Stream
