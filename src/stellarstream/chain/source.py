"""What every source of contract events yields, and the small protocol they share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from stellarstream.chain.events import DomainEvent
from stellarstream.chain.types import RawEvent

LIVE_SOURCE = "rpc"
"""The live indexer's source name: its checkpoint row in ``sync_state`` and its coverage."""


def ledgers_behind(covered: int | None, latest: int | None) -> int | None:
    """How far ``covered`` trails the network's ``latest`` ledger (None if either is unknown)."""
    if covered is None or latest is None:
        return None
    return max(0, latest - covered)


@dataclass(frozen=True, slots=True)
class Batch:
    """A run of events in chain order, and how far the source has looked.

    ``covered_to``: every event of the requested contracts with ``start <= ledger <= covered_to``
    has been delivered by this batch or an earlier one, so a checkpoint may record it.
    ``cursor``: source-specific resume position after this batch (the RPC cursor), or None.
    ``decoded``: each event's decoding, in order, when whoever delivers the batch already did it
    (the sync's worker process, ``ingest.backfill.prefetch``); None means decode on ingestion.
    """

    events: list[RawEvent]
    covered_to: int
    cursor: str | None
    latest_ledger: int
    source: str
    decoded: list[DomainEvent] | None = None


class EventSource(Protocol):
    """A source of contract events for a ledger range, page by page, resumable."""

    name: str

    def batches(
        self,
        contract_ids: list[str],
        start_ledger: int,
        end_ledger: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Batch]:
        """Yield batches from ``start_ledger`` (or ``cursor``) up to ``end_ledger`` inclusive.

        With ``end_ledger=None`` it stops once it has caught up with the source's latest ledger.
        """
        ...
