"""Invoice link statuses and the transitions between them.

DRAFT -> SIGNED -> COMPLETED, DRAFT -> COMPLETED, DRAFT/SIGNED -> CANCELED. A DRAFT or SIGNED
link past ``expires_at`` reads as EXPIRED. COMPLETED, EXPIRED and CANCELED are final.
"""

from __future__ import annotations

from datetime import datetime

from stellarstream.db.invoice_status import OPEN, InvoiceStatus

__all__ = [
    "DELETABLE",
    "OPEN",
    "TRANSITIONS",
    "InvoiceStatus",
    "allowed_from",
    "effective_status",
]

TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset(
        {InvoiceStatus.SIGNED, InvoiceStatus.COMPLETED, InvoiceStatus.CANCELED}
    ),
    InvoiceStatus.SIGNED: frozenset({InvoiceStatus.COMPLETED, InvoiceStatus.CANCELED}),
    InvoiceStatus.COMPLETED: frozenset(),
    InvoiceStatus.EXPIRED: frozenset(),
    InvoiceStatus.CANCELED: frozenset(),
}

DELETABLE = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.EXPIRED, InvoiceStatus.CANCELED})


def effective_status(stored: str, expires_at: datetime | None, now: datetime) -> InvoiceStatus:
    """The status a reader sees: an open link past its expiry is EXPIRED."""
    status = InvoiceStatus(stored)
    if status in OPEN and expires_at is not None and expires_at <= now:
        return InvoiceStatus.EXPIRED
    return status


def allowed_from(status: InvoiceStatus) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[status])
