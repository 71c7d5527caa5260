"""Keyset pages. A list method returns one page; iterating it walks every page.

Sync::

    page = client.streams.list(sender="G...", limit=50)
    for stream in page:                 # all streams, fetching further pages as needed
        ...
    while page.has_next_page():         # or page by page
        page = page.next_page()

Async::

    page = await client.streams.list(limit=50)
    async for stream in page:
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from pydantic import PrivateAttr

from .types.page import Page

__all__ = ["AsyncCursorPage", "SyncCursorPage"]

T = TypeVar("T")


class SyncCursorPage(Page[T], Generic[T]):
    """A page of ``data`` plus ``next_cursor``; iterate it to walk all pages."""

    _fetch_next: Callable[[str], SyncCursorPage[T]] | None = PrivateAttr(default=None)

    def has_next_page(self) -> bool:
        return self.next_cursor is not None and self._fetch_next is not None

    def next_page(self) -> SyncCursorPage[T]:
        """Fetch the next page (``RuntimeError`` on the last page)."""
        if self.next_cursor is None or self._fetch_next is None:
            raise RuntimeError("this is the last page: check has_next_page() first")
        return self._fetch_next(self.next_cursor)

    def iter_pages(self) -> Iterator[SyncCursorPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = page.next_page()
            yield page

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        for page in self.iter_pages():
            yield from page.data


class AsyncCursorPage(Page[T], Generic[T]):
    """The async twin of :class:`SyncCursorPage`: ``await page.next_page()``, ``async for``."""

    _fetch_next: Callable[[str], Awaitable[AsyncCursorPage[T]]] | None = PrivateAttr(default=None)

    def has_next_page(self) -> bool:
        return self.next_cursor is not None and self._fetch_next is not None

    async def next_page(self) -> AsyncCursorPage[T]:
        if self.next_cursor is None or self._fetch_next is None:
            raise RuntimeError("this is the last page: check has_next_page() first")
        return await self._fetch_next(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item
