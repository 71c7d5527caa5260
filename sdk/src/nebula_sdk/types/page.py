from __future__ import annotations

from typing import Generic, TypeVar

from .._models import BaseModel

__all__ = ["Page"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``data`` and the keyset ``next_cursor`` (``None`` on the last page)."""

    data: list[T]
    next_cursor: str | None = None
