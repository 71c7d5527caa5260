from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import model_validator

from .stream import Stream

__all__ = ["SearchHit"]


class SearchHit(Stream):
    """A stream that matched a search: every :class:`Stream` field, plus how it matched.

    The API sends ``{"match": ..., "stream": {...}}``; the SDK flattens it, so a hit is used
    like any stream (``hit.id``, ``hit.status``).
    """

    match: str
    """How it matched, in rank order: ``id``, ``tx``, ``address``, ``token``, ``address_prefix``."""

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("stream"), Mapping):
            return {**data["stream"], "match": data.get("match")}
        return data

    @property
    def stream(self) -> Stream:
        """The stream alone (without ``match``)."""
        return Stream.model_validate(self.model_dump(exclude={"match"}))
