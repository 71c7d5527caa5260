"""Live updates fan out: one change feed per API worker wakes every subscriber from memory.

The ingest transaction that stores new events sends ``NOTIFY stellarstream_events`` on
PostgreSQL (delivered when it commits). Each API worker keeps one :class:`ChangeFeed`: one
task that LISTENs on its own connection (and polls every ``poll_seconds`` as well, the only
wake-up on SQLite and the fallback if a notification is missed), reads the events stored
after its position once, and hands each subscriber the messages it asked for. Database work
per worker is one read per wake-up, whatever the number of open streams; a client that
reconnects with ``Last-Event-ID`` catches up from the database and then joins the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from sqlalchemy.engine import make_url
from starlette.concurrency import run_in_threadpool

from stellarstream.projection.notify import CHANNEL

QUEUE_LIMIT = 1000  # messages a subscriber may fall behind before it is told to reconnect

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Message:
    """One SSE message and what subscribers filter it by."""

    id: int
    key: tuple[str, int]  # (contract id, on-chain stream id)
    parties: frozenset[str]  # the stream's sender and receiver
    frame: bytes  # encoded once, sent as is to every subscriber


# (after event id) -> (messages after it, oldest first, at most a page; the new position)
Fetch = Callable[[int], tuple[list[Message], int]]


@dataclass(eq=False)
class Subscriber:
    """One open stream: its filter and the queue the feed fills."""

    address: str | None
    key: tuple[str, int] | None
    queue: asyncio.Queue[Message | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def wants(self, message: Message) -> bool:
        if self.key is not None and message.key != self.key:
            return False
        return self.address is None or self.address in message.parties


class ChangeFeed:
    """This process's reader of new events, shared by all its live subscribers."""

    def __init__(
        self, fetch: Fetch, last_id: Callable[[], int], poll_seconds: float, listen_url: str | None
    ) -> None:
        self._fetch = fetch
        self._last_id = last_id
        self._poll_seconds = poll_seconds
        self._listen_url = listen_url  # PostgreSQL: LISTEN there; None: poll only
        self._subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.position = 0
        self.reads = 0  # fetches made (for the benchmark and tests)

    async def start(self) -> None:
        self.position = await run_in_threadpool(self._last_id)
        self._tasks.append(asyncio.create_task(self._run()))
        if self._listen_url is not None:
            self._tasks.append(asyncio.create_task(self._listen(self._listen_url)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def subscribe(self, address: str | None, key: tuple[str, int] | None) -> Subscriber:
        subscriber = Subscriber(address, key)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            if not self._subscribers:
                continue
            try:
                await self._read_all()
            except Exception:  # the database is away: try again at the next wake-up
                log.warning("live_feed_read_failed", exc_info=True)

    async def _read_all(self) -> None:
        while True:
            self.reads += 1
            messages, position = await run_in_threadpool(self._fetch, self.position)
            self.position = position
            for message in messages:
                self._deliver(message)
            if not messages:
                return

    def _deliver(self, message: Message) -> None:
        for subscriber in list(self._subscribers):
            if not subscriber.wants(message):
                continue
            try:
                subscriber.queue.put_nowait(message)
            except asyncio.QueueFull:  # too slow: it reconnects and catches up from the database
                self._subscribers.discard(subscriber)
                with contextlib.suppress(asyncio.QueueFull):
                    subscriber.queue.get_nowait()
                    subscriber.queue.put_nowait(None)

    async def _listen(self, url: str) -> None:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    delay = 1.0
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                log.warning("live_feed_listen_failed", retry_seconds=delay, exc_info=True)
                await asyncio.sleep(delay)  # polling goes on meanwhile
                delay = min(delay * 2, 30.0)


def listen_url(database_url: str) -> str | None:
    """Where a feed LISTENs: the database itself on PostgreSQL, nowhere on SQLite."""
    return None if make_url(database_url).get_backend_name() == "sqlite" else database_url


def message_frame(event_id: int, payload: dict[str, Any]) -> bytes:
    """The SSE frame of one event (``id`` is what ``Last-Event-ID`` resumes from)."""
    return f"id: {event_id}\nevent: stream\ndata: {json.dumps(payload)}\n\n".encode()
