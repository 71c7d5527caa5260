"""``POST /invoice-links/{slug}/submitted``: the payer says it sent the transaction (public).

DRAFT -> SIGNED with the transaction hash. Idempotent: the same hash again answers the link as
it is (also once the indexer has COMPLETED it with that hash). Any other case is a 409 naming the
status. SIGNED is the payer's word, shown as "waiting for the chain"; only the indexer, from a
``create_v2`` event carrying the slug, makes a link COMPLETED.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.clock import Clock
from stellarstream.db.models import InvoiceLink
from stellarstream.errors import Conflict, NotFound, ValidationError
from stellarstream.invoices.lifecycle import InvoiceStatus, effective_status
from stellarstream.webhooks.outbox import enqueue_status_change

TX_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
CAS_ATTEMPTS = 5


class SubmissionConflict(Conflict):
    """The link cannot take this submission; ``status`` is what it is."""

    def __init__(self, message: str, status: InvoiceStatus) -> None:
        super().__init__(message, field="status")
        self.status = status


def mark_submitted(
    sessions: sessionmaker[Session], clock: Clock, slug: str, tx_hash: str
) -> InvoiceLink:
    """Record that the payer submitted ``tx_hash`` for link ``slug``; return the link."""
    if not isinstance(tx_hash, str) or not TX_HASH.match(tx_hash):
        raise ValidationError("txHash must be 64 hexadecimal characters", field="txHash")
    tx_hash = tx_hash.lower()
    for _ in range(CAS_ATTEMPTS):
        now = clock()
        with sessions() as session, session.begin():
            link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == slug))
            if link is None:
                raise NotFound(f"no invoice link with slug {slug!r}")
            current = effective_status(link.status, link.expires_at, now)
            if current in (InvoiceStatus.SIGNED, InvoiceStatus.COMPLETED):
                if link.tx_hash == tx_hash:
                    return link  # a retry of the same report
                raise SubmissionConflict(
                    f"invoice link is {current.value} with another transaction "
                    f"({link.tx_hash or 'none recorded'})",
                    current,
                )
            if current is not InvoiceStatus.DRAFT:
                raise SubmissionConflict(
                    f"invoice link is {current.value}: it cannot be paid any more", current
                )
            result = session.execute(
                update(InvoiceLink)
                .where(InvoiceLink.id == link.id, InvoiceLink.status == link.status)
                .values(
                    status=InvoiceStatus.SIGNED.value,
                    tx_hash=tx_hash,
                    signed_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                session.expire(link)
                session.refresh(link)
                enqueue_status_change(session, link, InvoiceStatus.SIGNED, now=now)
                return link
    raise Conflict("invoice link is being changed concurrently; retry", field="status")
