"""Write webhook deliveries in the caller's transaction (the outbox); the worker sends them.

Every function here takes the caller's ``Session`` and only adds rows: the notification commits
or rolls back with the change it describes. Bodies are rendered once, here, and never change:
the worker signs and sends exactly the stored text on every attempt.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stellarstream.chain import events as ev
from stellarstream.chain.stream_ids import public_id
from stellarstream.chain.types import RawEvent
from stellarstream.db.invoice_status import InvoiceStatus
from stellarstream.db.models import (
    InvoiceLink,
    Stream,
    TokenMetadata,
    WebhookDelivery,
    WebhookEndpoint,
)

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"

INVOICE_EVENT_TYPES = (
    "invoice.created",
    "invoice.signed",
    "invoice.completed",
    "invoice.canceled",
    "invoice.expired",
)
STREAM_EVENT_TYPES = tuple(
    f"stream.{cls.kind}" for cls in ev.STREAM_EVENT_TYPES if cls.version == 2
)
EVENT_TYPES = (*INVOICE_EVENT_TYPES, *STREAM_EVENT_TYPES)
WILDCARDS = ("*", "invoice.*", "stream.*")

STATUS_EVENTS = {
    InvoiceStatus.SIGNED: "invoice.signed",
    InvoiceStatus.COMPLETED: "invoice.completed",
    InvoiceStatus.CANCELED: "invoice.canceled",
    InvoiceStatus.EXPIRED: "invoice.expired",
}
_CHUNK = 500


def wants(filters: list[str] | None, event_type: str) -> bool:
    """Does an endpoint subscribed to ``filters`` (None: everything) get ``event_type``?"""
    if filters is None:
        return True
    prefix = event_type.split(".", 1)[0] + ".*"
    return any(f in ("*", prefix, event_type) for f in filters)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def invoice_data(link: InvoiceLink, status: InvoiceStatus | None = None) -> dict[str, Any]:
    """The invoice link as a webhook sees it (amounts as decimal strings, times ISO-8601 UTC)."""
    return {
        "id": link.id,
        "slug": link.slug,
        "status": (status or InvoiceStatus(link.status)).value,
        "sender": link.sender,
        "receiver": link.receiver,
        "amount": str(link.amount),
        "tokenAddress": link.token_address,
        "duration": link.duration,
        "description": link.description,
        "pdfUrl": link.pdf_url,
        "expiresAt": _iso(link.expires_at),
        "createdAt": _iso(link.created_at),
        "updatedAt": _iso(link.updated_at),
        "signedAt": _iso(link.signed_at),
        "completedAt": _iso(link.completed_at),
        "canceledAt": _iso(link.canceled_at),
        "streamId": link.stream_id,
        "txHash": link.tx_hash,
        "completedBy": link.completed_by,
    }


def token_data(session: Session, address: str) -> dict[str, Any]:
    """What the token contract said of itself (``token_metadata``), nulls while unknown.

    Webhooks carry the chain's word only: a server's display overrides
    (``STELLARSTREAM_TOKEN_SYMBOLS``/``_DECIMALS``) are its own pages' and API's business.
    """
    row = session.get(TokenMetadata, address)
    known = row is not None and row.is_token
    return {
        "address": address,
        "symbol": row.symbol if known and row else None,
        "name": row.name if known and row else None,
        "decimals": row.decimals if known and row else None,
    }


def render(event_id: str, event_type: str, created: datetime, data: dict[str, Any]) -> str:
    """The exact JSON body sent (and signed) for one event."""
    body = {"id": event_id, "type": event_type, "createdAt": _iso(created), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def enqueue(
    session: Session,
    owner: str,
    event_type: str,
    data: dict[str, Any],
    *,
    now: datetime,
    event_id: str | None = None,
) -> int:
    """Queue ``event_type`` for each of ``owner``'s endpoints that wants it; return how many.

    A fixed ``event_id`` makes the call idempotent (one delivery per endpoint and event id).
    """
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.owner == owner
        )
    ).all()
    targets = [endpoint_id for endpoint_id, filters in endpoints if wants(filters, event_type)]
    if not targets:
        return 0
    event_id = event_id or uuid.uuid4().hex
    body = render(event_id, event_type, now, data)
    rows = [
        {
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "event_type": event_type,
            "body": body,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint_id in targets
    ]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
    )
    return len(targets)


def enqueue_invoice_event(
    session: Session,
    link: InvoiceLink,
    event_type: str,
    *,
    now: datetime,
    status: InvoiceStatus | None = None,
    event_id: str | None = None,
) -> int:
    """Queue an ``invoice.*`` event for the link's issuer."""
    invoice = {**invoice_data(link, status), "tokenInfo": token_data(session, link.token_address)}
    return enqueue(
        session, link.sender, event_type, {"invoiceLink": invoice}, now=now, event_id=event_id
    )


def enqueue_status_change(
    session: Session, link: InvoiceLink, status: InvoiceStatus, *, now: datetime
) -> int:
    """Queue the event for ``link`` having just become ``status`` (if that status has one)."""
    event_type = STATUS_EVENTS.get(status)
    if event_type is None:
        return 0
    return enqueue_invoice_event(session, link, event_type, now=now, status=status)


def _stream_event_id(raw: RawEvent) -> str:
    key = f"{raw.contract_id}:{raw.tx_hash}:{raw.event_index}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def enqueue_stream_events(
    session: Session,
    new: Sequence[tuple[RawEvent, ev.DomainEvent]],
    *,
    now: datetime,
) -> int:
    """Queue ``stream.<action>`` for new events of streams that paid an invoice.

    A stream pays an invoice when its ``create_v2`` memo is the link's slug and the link recorded
    that stream (the indexer's completion). Costs one query per batch when nobody subscribed.
    """
    keyed = [(raw, event, ev.stream_id_of(event)) for raw, event in new]
    keyed = [(raw, event, sid) for raw, event, sid in keyed if sid is not None]
    if not keyed or session.scalar(select(WebhookEndpoint.id).limit(1)) is None:
        return 0
    ids = sorted({sid for _, _, sid in keyed if sid is not None})
    links: dict[tuple[str, int], InvoiceLink] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Stream.contract_id, Stream.stream_id, InvoiceLink)
            .join(InvoiceLink, InvoiceLink.slug == Stream.memo)
            .where(
                Stream.stream_id.in_(ids[start : start + _CHUNK]),
                Stream.memo.is_not(None),
                InvoiceLink.stream_id == Stream.stream_id,
            )
        ).all()
        for contract_id, stream_id, paid in rows:
            links[(contract_id, stream_id)] = paid
    queued = 0
    for raw, event, sid in sorted(keyed, key=lambda item: item[0].order_key):
        assert sid is not None
        link = links.get((raw.contract_id, sid))
        if link is None or event.version != 2:
            continue
        data = {
            "invoiceLink": {"id": link.id, "slug": link.slug},
            "stream": {
                "id": public_id(raw.contract_id, sid),
                "contractId": raw.contract_id,
                "streamId": str(sid),
            },
            "event": {
                "ledger": raw.ledger,
                "ledgerClosedAt": _iso(raw.ledger_closed_at),
                "txHash": raw.tx_hash,
                "eventIndex": raw.event_index,
                "data": ev.to_json(event),
            },
        }
        queued += enqueue(
            session,
            link.sender,
            f"stream.{event.kind}",
            data,
            now=now,
            event_id=_stream_event_id(raw),
        )
    return queued
