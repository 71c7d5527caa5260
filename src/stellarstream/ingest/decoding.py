"""Decode batches in worker processes, one batch ahead of the database work.

Decoding is stellar_sdk's pure-Python XDR parser: about 65 us of CPU per event, more than
storing and projecting it. One process can only do one at a time, so a historical sync of
many events hands each large batch to a small process pool and stores the previous batch while
the pool decodes (:meth:`Decoder.ahead`). The workers also render each event's ``decoded``
JSON text, so the database process does not serialise it again.

Workers are forked lazily (the first large batch; a small sync never starts any), so they share
the parent's imported modules. They get only the base64 XDR and send back compact tuples: a
dataclass pickles 5x slower than its values.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType
from typing import Any

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode_xdr
from stellarstream.chain.source import Batch

DECODE_WORKERS = 0
"""Worker processes a sync decodes with; 0 decodes in the sync process.

A trade of memory for speed (docs/BENCHMARKS.md, 2 cores, SQLite): one worker syncs about 40%
more events per second, and adds ~30 MB of private memory (its own RSS ~100 MB, mostly pages
shared with the sync process), which puts the sync over its 150 MB budget. Meant to become a
setting (STELLARSTREAM_SYNC_DECODE_WORKERS); until then memory wins.
"""
MIN_POOL_BATCH = 1_000
"""Smaller batches are decoded in-process: the round trip would cost more than it saves."""
CHUNK = 1_000
"""Events per pool task: several tasks per batch keep every worker busy."""

_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in ev.EVENT_TYPES}
_INDEX = {cls: i for i, cls in enumerate(ev.EVENT_TYPES)}

_Packed = tuple[int, tuple[Any, ...], str]  # (EVENT_TYPES index, field values, decoded JSON)


@dataclass(frozen=True, slots=True)
class DecodedBatch:
    """A batch's events decoded, in ``batch.events`` order, with their stored JSON text."""

    events: list[ev.DomainEvent]
    decoded_json: list[str]


def _decode_chunk(items: list[tuple[tuple[str, ...], str]]) -> list[_Packed]:
    """Worker: decode base64 (topics, value) pairs."""
    out: list[_Packed] = []
    for topic_xdr, value_xdr in items:
        event = decode_xdr(topic_xdr, value_xdr)
        values = tuple(getattr(event, name) for name in _FIELDS[type(event)])
        out.append((_INDEX[type(event)], values, json.dumps(ev.to_json(event))))
    return out


def _unpack(chunks: list[list[_Packed]]) -> DecodedBatch:
    events: list[ev.DomainEvent] = []
    texts: list[str] = []
    types = ev.EVENT_TYPES
    for chunk in chunks:
        for index, values, text in chunk:
            events.append(types[index](*values))
            texts.append(text)
    return DecodedBatch(events, texts)


def default_workers() -> int:
    """:data:`DECODE_WORKERS`, or 0 on a single core (a worker would only compete)."""
    return DECODE_WORKERS if (os.cpu_count() or 1) > 1 else 0


class Decoder:
    """Decodes batches with ``workers`` processes (0: in this process, as ingest_batch does).

    Use as a context manager (or ``close()``) so that the workers are stopped.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: Pool | None = None

    def __enter__(self) -> Decoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def ahead(self, batches: Iterable[Batch]) -> Iterator[tuple[Batch, DecodedBatch | None]]:
        """Yield each batch with its decoding; the next batch is fetched and handed to the
        workers before this one is yielded, so they decode while the caller stores.

        ``None`` means "decode it yourself" (no workers, or a small batch). When fetching the
        next batch fails, the batch before it is still yielded first, then the error raised:
        everything the source delivered before a failure gets stored, as without lookahead.
        """
        if self.workers < 1:
            # Nothing to overlap: fetching ahead would only hold one more batch in memory.
            yield from ((batch, None) for batch in batches)
            return
        iterator = iter(batches)
        pending: tuple[Batch, AsyncResult[list[list[_Packed]]] | None] | None = None
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                break
            except BaseException:
                if pending is not None:
                    yield pending[0], self._collect(pending[1])
                raise
            job = self._submit(batch.events)
            if pending is not None:
                yield pending[0], self._collect(pending[1])
            pending = (batch, job)
        if pending is not None:
            yield pending[0], self._collect(pending[1])

    def decode(self, events: Sequence[Any]) -> DecodedBatch:
        """Decode ``events`` (RawEvents) now, with the workers if the batch is large."""
        job = self._submit(events)
        result = self._collect(job)
        if result is not None:
            return result
        return _unpack([_decode_chunk([(e.topic_xdr, e.value_xdr) for e in events])])

    def _submit(self, events: Sequence[Any]) -> AsyncResult[list[list[_Packed]]] | None:
        if self.workers < 1 or len(events) < MIN_POOL_BATCH:
            return None
        items = [(e.topic_xdr, e.value_xdr) for e in events]
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        return self._workers().map_async(_decode_chunk, chunks, chunksize=1)

    @staticmethod
    def _collect(job: AsyncResult[list[list[_Packed]]] | None) -> DecodedBatch | None:
        return None if job is None else _unpack(job.get())

    def _workers(self) -> Pool:
        if self._pool is None:
            self._pool = multiprocessing.get_context("fork").Pool(self.workers)
        return self._pool
