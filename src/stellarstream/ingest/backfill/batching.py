"""Join a source's consecutive pages into batches of a set size (one database transaction each).

Joining pages into fewer transactions saves each transaction's fixed work (stream lookups,
upserts, commit); holding events costs memory, hence 2,500 in one process (bench/sync.py,
1,000-event pages, 2026-11-27: 126 MB peak RSS; joined by 5,000, 132 MB and no faster within
the noise, 13,232-13,337 against 12,885-13,474 events/s). The sync's worker process joins its
own (``prefetch.WORKER_MAX_EVENTS``). A batch never holds more than ``max_events``: a
page larger than what the batch lacks (a node's 10,000-event page) is cut, and its rest starts
the next batch. Where a page is cut, the batch's ``covered_to`` is the ledger before the first
event left for the next batch (every earlier event is in this batch or before it) and its
cursor is None (a source's cursor resumes only after a whole page).

A batch is closed when it holds ``max_events``, when ``max_seconds`` have passed since its first
page (a slow source still commits, and so resumes, regularly), or when the source ends."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from stellarstream.chain.source import Batch

MAX_EVENTS = 2_500
MAX_SECONDS = 1.0
ONE_PROCESS_PAGE_LIMIT = 5_000
"""Largest getEvents page a sync asks for when it runs in one process (no worker): there the
page is parsed and its events held beside the transaction being stored, and 10,000-event pages
took the process to 149-160 MB peak RSS (bench/sync.py, deep shape, 2026-12-03). With the worker
the page is the worker's, and the sync asks for ``STELLARSTREAM_SYNC_PAGE_LIMIT`` (10,000)."""


def joined(
    batches: Iterable[Batch],
    *,
    max_events: int = MAX_EVENTS,
    max_seconds: float = MAX_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Batch]:
    """Yield ``batches`` joined (and cut) in order into batches of at most ``max_events``;
    what was fetched before a source error is yielded before the error is raised (so it is
    stored, as without joining)."""
    if max_events < 1:
        raise ValueError(f"max_events must be at least 1, got {max_events}")
    parts: list[Batch] = []
    size = 0
    started = 0.0
    covered = -1  # the highest covered_to yielded so far: never goes back
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            break
        except BaseException:
            if parts:
                yield _join(parts, covered)
            raise
        if not parts:
            started = clock()
        while size + len(batch.events) > max_events:
            # Cut: what fills this batch now, the rest (still this page's) after it.
            room = max_events - size
            head, batch = _cut(batch, room)
            parts.append(head)
            del head
            out = _join(parts, covered)
            parts = []
            covered = out.covered_to
            yield out
            del out  # stored: not kept alive while the next page is fetched
            size, started = 0, clock()
        parts.append(batch)
        size += len(batch.events)
        if size >= max_events or clock() - started >= max_seconds:
            out = _join(parts, covered)
            parts, size = [], 0
            covered = out.covered_to
            yield out
            del out
    if parts:
        yield _join(parts, covered)


def _cut(batch: Batch, count: int) -> tuple[Batch, Batch]:
    """The first ``count`` events of ``batch`` (covered up to the ledger before the first of
    the others, no cursor) and the others (with the batch's coverage and cursor)."""
    events, decoded = batch.events, batch.decoded
    rest_first = events[count]
    head = Batch(
        events[:count],
        min(rest_first.ledger - 1, batch.covered_to),  # never more than the page proved
        None,
        batch.latest_ledger,
        batch.source,
        None if decoded is None else decoded[:count],
    )
    tail = Batch(
        events[count:],
        batch.covered_to,
        batch.cursor,
        batch.latest_ledger,
        batch.source,
        None if decoded is None else decoded[count:],
    )
    return head, tail


def _join(parts: list[Batch], covered: int) -> Batch:
    last = parts[-1]
    covered_to = max(covered, *(part.covered_to for part in parts))
    if len(parts) == 1 and covered_to == last.covered_to:
        return last
    events = [event for part in parts for event in part.events]
    decoded = None
    if all(part.decoded is not None for part in parts):
        decoded = [event for part in parts for event in part.decoded or ()]
    return Batch(events, covered_to, last.cursor, last.latest_ledger, last.source, decoded)
