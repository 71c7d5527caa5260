from __future__ import annotations

from enum import StrEnum

__all__ = ["InvoiceLinkStatus"]


class InvoiceLinkStatus(StrEnum):
    """DRAFT -> SIGNED -> COMPLETED, DRAFT -> COMPLETED, DRAFT/SIGNED -> CANCELED; an open link
    past ``expires_at`` reads EXPIRED. COMPLETED, EXPIRED and CANCELED are final."""

    DRAFT = "DRAFT"
    SIGNED = "SIGNED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"
