"""Invoice completion from the chain: a ``create_v2`` carrying an invoice's slug as memo.

Trust the chain, not a redirect: the link becomes COMPLETED only when the created stream pays the
invoice's receiver, in its token, its amount (net of the protocol fee) over its duration.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from stellarstream.chain.addresses import base_account
from stellarstream.chain.events import StreamCreated
from stellarstream.chain.types import RawEvent
from stellarstream.db.models import InvoiceLink
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.slug import is_slug
from stellarstream.webhooks.outbox import enqueue_status_change

log = structlog.get_logger(__name__)


def expected_net(amount: int, fee_bps: int) -> int:
    """What ``create_v2`` reports for a payment of ``amount`` after the protocol fee."""
    return amount - amount * fee_bps // 10_000


def mismatch(link: InvoiceLink, event: StreamCreated, fee_bps: int) -> str | None:
    """Why ``event`` does not pay ``link``, or ``None`` if it does."""
    if base_account(link.receiver) != event.receiver:
        return f"receiver {event.receiver} is not the invoice's {link.receiver}"
    if link.token_address != event.token:
        return f"token {event.token} is not the invoice's {link.token_address}"
    if event.amount != expected_net(link.amount, fee_bps):
        return (
            f"amount {event.amount} is not the invoice's {link.amount} "
            f"net of a {fee_bps} bps protocol fee ({expected_net(link.amount, fee_bps)})"
        )
    if event.end_time - event.start_time != link.duration:
        return (
            f"duration {event.end_time - event.start_time}s is not the invoice's {link.duration}s"
        )
    return None


def complete_invoices(
    session: Session,
    created: list[tuple[RawEvent, StreamCreated]],
    *,
    fee_bps: int,
    now: datetime,
) -> int:
    """Mark the invoices these new streams pay as COMPLETED; return how many changed."""
    by_slug: dict[str, tuple[RawEvent, StreamCreated]] = {}
    for raw, event in sorted(created, key=lambda pair: pair[0].order_key):
        if event.memo and is_slug(event.memo):
            by_slug.setdefault(event.memo, (raw, event))  # the first payment in chain order
    if not by_slug:
        return 0
    links = session.scalars(
        select(InvoiceLink).where(InvoiceLink.slug.in_(by_slug)).with_for_update()
    )
    changed = 0
    for link in links:
        raw, event = by_slug[link.slug]
        context = {"slug": link.slug, "stream_id": event.stream_id, "tx_hash": raw.tx_hash}
        reason = mismatch(link, event, fee_bps)
        if reason is not None:
            log.warning("invoice_payment_mismatch", reason=reason, **context)
            continue
        if link.status == InvoiceStatus.COMPLETED.value:
            if (link.stream_id, link.tx_hash) != (event.stream_id, raw.tx_hash):
                log.warning("invoice_already_completed", by_stream=link.stream_id, **context)
            continue
        if link.status == InvoiceStatus.CANCELED.value:
            # The chain says it was paid after the issuer voided it: record, do not resurrect.
            link.stream_id, link.tx_hash = event.stream_id, raw.tx_hash
            link.updated_at = now
            log.warning("invoice_paid_after_cancel", **context)
            continue
        link.status = InvoiceStatus.COMPLETED.value
        link.completed_by = "chain"
        link.stream_id, link.tx_hash = event.stream_id, raw.tx_hash
        link.completed_at = raw.ledger_closed_at
        link.updated_at = now
        enqueue_status_change(session, link, InvoiceStatus.COMPLETED, now=now)  # the outbox
        changed += 1
        log.info("invoice_completed", **context)
    return changed
