"""Fetch and decode a sync's next batches in a second process while this one stores them.

A sync in one process does every stage in turn and uses one core. :class:`Prefetcher` forks a
worker when the sync starts; for each range the sync asks for, the worker pulls the source's
pages, joins and cuts them into batches (``batching``), decodes their events (the RPC
parser already has, from the values it parsed) and sends each batch
through a pipe, then the next, while the parent stores the previous one. bench/sync.py: ~1.5x
the events/s on SQLite, ~1.2x on PostgreSQL; each process stays under 125-130 MB RSS, the two
take ~45 MB more than one process (161-165 MB proportional set size in all). On by default
where it can help (:func:`use_worker`); ``STELLARSTREAM_SYNC_WORKER=false`` keeps one process.

- Order and failure are as in one process: the worker sends the batches it completed, then the
  source's error; the parent stores those batches, then raises the error (so the sync's fallback
  to the next source starts where the committed batches end).
- Memory stays bounded: the pipe holds no more than what one ``send`` writes, so the worker is
  at most one batch ahead.
- The worker never touches the database: it is forked before the engine exists.
- If the parent dies (even by SIGKILL), the worker's next send fails on the closed pipe and it
  exits; if the worker dies, the parent stops with an error and a rerun resumes from the last
  commit, as after any crash.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping
from multiprocessing.connection import Connection
from typing import Any, Literal

import structlog

from stellarstream.chain.decode import decode
from stellarstream.chain.source import Batch, EventSource
from stellarstream.errors import StellarStreamError, WorkerFailed
from stellarstream.ingest.backfill.batchgc import BatchCollector
from stellarstream.ingest.backfill.batching import joined

log = structlog.get_logger(__name__)

WORKER_MAX_EVENTS = 5_000
"""Events per batch (one transaction) with a worker: twice the one-process size, because the
parent no longer parses pages. bench/sync.py on SQLite (2026-11-27, two runs each): 5,000:
20,038-21,012 events/s, 161 MB PSS in all; 4,000: 19,270-19,442, 156 MB; 3,000: 18,992-19,527,
147 MB (docs/BENCHMARKS.md)."""


def use_worker(setting: Literal["auto", "true", "false"]) -> bool:
    """Whether a sync forks a worker (``STELLARSTREAM_SYNC_WORKER``). ``"auto"``: on Linux
    (where forking a running process is safe) with at least two CPUs this process may use; on
    one CPU the two processes would only take turns."""
    if setting != "auto":
        return setting == "true"
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) >= 2


class Prefetcher:
    """A worker process that serves ``sources``' batches for ``contract_ids``, decoded.

    Start it before any thread exists (it forks), use :meth:`batches` for one range at a time,
    and :meth:`close` it at the end (also a context manager).
    """

    def __init__(self, sources: Mapping[str, EventSource], contract_ids: list[str]) -> None:
        self._sources = dict(sources)
        self._contract_ids = list(contract_ids)
        self._requests: dict[str, int] = {}
        self._connection: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    def __enter__(self) -> Prefetcher:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Fork the worker (the sources, as they are now, go with it)."""
        parent_end, worker_end = multiprocessing.Pipe(duplex=True)
        context = multiprocessing.get_context("fork")
        process = context.Process(
            target=_serve,
            args=(worker_end, parent_end, self._sources, self._contract_ids),
            name="stellarstream-sync-worker",
            daemon=True,
        )
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks (Rich's refresh thread may
            # run): the worker uses none of their locks (logging re-creates its own at fork).
            warnings.simplefilter("ignore", DeprecationWarning)
            process.start()
        worker_end.close()
        self._connection, self._process = parent_end, process

    def requests(self, name: str) -> int | None:
        """Requests the worker's copy of source ``name`` has made so far (None: unknown)."""
        return self._requests.get(name)

    def batches(self, name: str, start: int, end: int) -> Iterator[Batch]:
        """Source ``name``'s batches of ``[start, end]``, joined and decoded, in order.

        Raises what the source raised after the batches before it; :class:`WorkerFailed` if the
        worker is gone.
        """
        connection = self._connection
        if connection is None:
            raise WorkerFailed("the sync worker is not running")
        finished = False
        try:
            connection.send((name, start, end))
            while True:
                try:
                    kind, payload, requests = connection.recv()
                except (EOFError, OSError) as exc:
                    raise WorkerFailed(
                        f"the sync worker exited unexpectedly ({self._exit_reason()})"
                    ) from exc
                if requests is not None:
                    self._requests[name] = requests
                if kind == "batch":
                    yield payload
                    del payload  # not kept alive while the next batch arrives
                elif kind == "done":
                    finished = True
                    return
                elif kind == "source_error":
                    finished = True
                    raise payload
                else:
                    finished = True
                    raise WorkerFailed(f"the sync worker failed:\n{payload}")
        finally:
            if not finished:
                # The caller stopped early (its own error): the worker is still sending this
                # range, so it cannot serve another one.
                self.close()

    def close(self) -> None:
        """Stop the worker (it exits when its pipe closes) and wait for it."""
        connection, process = self._connection, self._process
        self._connection = self._process = None
        if connection is not None:
            connection.close()
        if process is not None:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()

    def _exit_reason(self) -> str:
        process = self._process
        if process is None:
            return "stopped"
        process.join(timeout=1)
        code = process.exitcode
        if code is None:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


def _serve(
    connection: Connection,
    parent_end: Connection,
    sources: Mapping[str, EventSource],
    contract_ids: list[str],
) -> None:
    parent_end.close()  # else the pipe would stay open when the parent dies
    # Ctrl-C reaches the whole process group: the parent handles it and closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wanted = set(contract_ids)
    with BatchCollector() as collector:
        while True:
            try:
                name, start, end = connection.recv()
            except (EOFError, OSError):
                return  # the parent closed the pipe (done, or gone)
            source = sources[name]
            try:
                pages = source.batches(contract_ids, start, end)
                for batch in joined(pages, max_events=WORKER_MAX_EVENTS):
                    # Decoded here unless the source already did (the RPC parser does).
                    if batch.decoded is None:
                        events = [raw for raw in batch.events if raw.contract_id in wanted]
                        decoded = [decode(raw) for raw in events]
                    else:
                        pairs = zip(batch.events, batch.decoded, strict=True)
                        kept = [(raw, event) for raw, event in pairs if raw.contract_id in wanted]
                        events = [raw for raw, _ in kept]
                        decoded = [event for _, event in kept]
                        del kept
                    ready = dataclasses.replace(batch, events=events, decoded=decoded)
                    if not _send(connection, "batch", ready, requests_of(source)):
                        return
                    del batch, events, decoded, ready
                    collector.after_batch()
                message: tuple[str, Any] = ("done", None)
            except StellarStreamError as exc:
                message = ("source_error", exc)
            except Exception:
                message = ("failed", traceback.format_exc())
            if not _send(connection, *message, requests_of(source)):
                return


def _send(connection: Connection, kind: str, payload: Any, requests: int | None) -> bool:
    try:
        connection.send((kind, payload, requests))
    except (BrokenPipeError, ConnectionResetError, OSError):
        log.debug("sync_worker_orphaned", pid=os.getpid())
        return False
    return True


def requests_of(source: EventSource) -> int | None:
    """Requests ``source``'s client has made, if it counts them."""
    client = getattr(source, "client", None) or getattr(source, "_client", None)
    requests = getattr(client, "requests", None)
    return requests if isinstance(requests, int) else None
