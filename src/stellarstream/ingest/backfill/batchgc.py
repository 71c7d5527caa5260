"""Cyclic garbage collection paced by a batch loop (the historical sync).

A sync keeps a few hundred thousand young objects alive at a time (a page's events, their
decoding, insert parameters), so CPython's automatic full collections come often and each
walks all of them: about a fifth of a sync's CPU. Meanwhile each page's HTTP response sits in a
reference cycle holding megabytes until some collection finds it. :class:`BatchCollector` turns
automatic collection off for the loop, collects the young generations after every batch (the
garbage of that batch, promptly), and the old one every ``full_every`` batches. Objects from
before the loop (imported modules, settings) are frozen out of every collection.
"""

from __future__ import annotations

import gc
from types import TracebackType

FULL_EVERY = 16


class BatchCollector:
    """Use as a context manager around the loop; call :meth:`after_batch` after each batch."""

    def __init__(self, full_every: int = FULL_EVERY) -> None:
        self.full_every = full_every
        self.batches = 0
        self._was_enabled = True

    def __enter__(self) -> BatchCollector:
        self._was_enabled = gc.isenabled()
        gc.collect()
        gc.freeze()
        gc.disable()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()

    def after_batch(self) -> None:
        self.batches += 1
        gc.collect(2 if self.batches % self.full_every == 0 else 1)
