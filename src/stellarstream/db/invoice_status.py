"""The statuses an invoice link's ``status`` column holds (``invoice_links.status``).

Here, below both, so that the invoices (which move links between them, ``invoices.lifecycle``)
and the webhooks (which announce the moves and sweep expired links) share one enum.
"""

from __future__ import annotations

from enum import StrEnum


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    SIGNED = "SIGNED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"


OPEN = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.SIGNED})
