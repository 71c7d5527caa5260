"""``getEvents`` event ids and cursors: ``"%019d-%010d" % (toid, event_index)``.

``toid = ledger << 32 | tx_index << 12 | op_index`` (see :class:`EventId`). How far a page of
``getEvents`` proves the chain scanned is derived from its cursor (see :func:`scanned_through`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TX_INDEX_MASK = 0xFFFFF
"""Largest transaction index a TOID holds (20 bits)."""
OP_INDEX_MASK = 0xFFF
"""Largest operation index a TOID holds (12 bits)."""
EVENT_INDEX_MAX = 0xFFFFFFFF
"""Largest event index of an event id (u32)."""

_EVENT_ID = re.compile(r"^(\d{1,19})-(\d{1,10})$")


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    """A parsed ``getEvents`` event id / cursor; orders like the node orders events."""

    ledger: int
    tx_index: int
    op_index: int
    event_index: int

    @classmethod
    def parse(cls, text: str) -> EventId:
        """Parse ``"%019d-%010d"``; raise ``ValueError`` on anything else."""
        match = _EVENT_ID.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not an event id: {text!r}")
        toid, event_index = int(match.group(1)), int(match.group(2))
        ledger = toid >> 32
        if not 0 < ledger < 2**31 or event_index > EVENT_INDEX_MAX:
            raise ValueError(f"event id out of range: {text!r}")
        return cls(ledger, (toid >> 12) & TX_INDEX_MASK, toid & OP_INDEX_MASK, event_index)

    @classmethod
    def window_end(cls, ledger: int) -> EventId:
        """The cursor a node returns for a short page whose scan window ended at ``ledger``."""
        return cls(ledger, TX_INDEX_MASK, OP_INDEX_MASK, EVENT_INDEX_MAX)

    @property
    def toid(self) -> int:
        return self.ledger << 32 | self.tx_index << 12 | self.op_index

    @property
    def is_window_end(self) -> bool:
        """True for a window-end cursor: past every event of its ledger."""
        return self == EventId.window_end(self.ledger)

    def __str__(self) -> str:
        return f"{self.toid:019d}-{self.event_index:010d}"


def scanned_through(cursor: EventId) -> int:
    """The last ledger a page ending at ``cursor`` has fully delivered.

    A short page's cursor is the window-end cursor of the last scanned ledger (stellar-rpc returns
    ``MaxCursor`` with ``Ledger = endLedger - 1``): every event of that ledger was scanned. Any
    other cursor (a full page: its last event's id) may have more events of its ledger after it,
    so only the ledger before is complete. Never over-claims.
    """
    return cursor.ledger if cursor.is_window_end else cursor.ledger - 1
