"""Invoice link service: every rule about invoice links lives here; routes only translate HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.clock import Clock
from stellarstream.db.models import IdempotencyKey, InvoiceLink
from stellarstream.errors import Conflict, NotFound, ValidationError
from stellarstream.invoices.lifecycle import (
    DELETABLE,
    OPEN,
    TRANSITIONS,
    InvoiceStatus,
    allowed_from,
    effective_status,
)
from stellarstream.invoices.slug import new_slug
from stellarstream.pagination import check_limit, decode_cursor, encode_cursor, invalid_cursor
from stellarstream.webhooks.outbox import enqueue_invoice_event, enqueue_status_change

CAS_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class NewInvoice:
    """Validated input for a new invoice link."""

    receiver: str
    amount: int
    token_address: str
    duration: int
    description: str | None = None
    pdf_url: str | None = None
    expires_at: datetime | None = None

    def fingerprint(self) -> str:
        """A hash of the request, to tell an idempotent replay from a different request."""
        body = {
            "receiver": self.receiver,
            "amount": str(self.amount),
            "tokenAddress": self.token_address,
            "duration": self.duration,
            "description": self.description,
            "pdfUrl": self.pdf_url,
            "expiresAt": self.expires_at.isoformat() if self.expires_at else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    """A stored response for an Idempotency-Key that was already used with the same body."""

    status_code: int
    body: Any


@dataclass(frozen=True, slots=True)
class InvoicePage:
    items: list[InvoiceLink]
    next_cursor: str | None


def xdr_params(link: InvoiceLink) -> str:
    """Base64 of the JSON stream parameters a payer's wallet needs."""
    params = {
        "receiver": link.receiver,
        "amount": str(link.amount),
        "tokenAddress": link.token_address,
        "duration": link.duration,
        "startTime": int(link.created_at.timestamp()),
    }
    return base64.b64encode(json.dumps(params, separators=(",", ":")).encode()).decode()


class InvoiceService:
    """Create, read, list, change and delete invoice links."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def status_of(self, link: InvoiceLink) -> InvoiceStatus:
        return effective_status(link.status, link.expires_at, self._clock())

    def create(
        self,
        issuer: str,
        new: NewInvoice,
        *,
        idempotency_key: str | None = None,
        render: Callable[[InvoiceLink], Any] | None = None,
    ) -> InvoiceLink | Replay:
        """Create a DRAFT link for ``issuer``.

        With an ``idempotency_key``, the first response (``render(link)``) is stored in the same
        transaction; a retry with the same key and body gets a :class:`Replay` of it, and the same
        key with another body is a :class:`Conflict`.
        """
        now = self._clock()
        if new.expires_at is not None and new.expires_at <= now:
            raise ValidationError("expiresAt must be in the future", field="expiresAt")
        fingerprint = new.fingerprint()
        if idempotency_key is not None:
            replay = self._replay(issuer, idempotency_key, fingerprint)
            if replay is not None:
                return replay
        link = InvoiceLink(
            id=uuid.uuid4().hex,
            slug=new_slug(),
            sender=issuer,
            receiver=new.receiver,
            amount=new.amount,
            token_address=new.token_address,
            duration=new.duration,
            description=new.description,
            pdf_url=new.pdf_url,
            status=InvoiceStatus.DRAFT.value,
            expires_at=new.expires_at,
            created_at=now,
            updated_at=now,
        )
        link.xdr_params = xdr_params(link)
        try:
            with self._sessions() as session, session.begin():
                session.add(link)
                enqueue_invoice_event(session, link, "invoice.created", now=now)
                if idempotency_key is not None:
                    session.flush()
                    session.add(
                        IdempotencyKey(
                            account=issuer,
                            key=idempotency_key,
                            request_hash=fingerprint,
                            status_code=201,
                            response_body=render(link) if render else None,
                            created_at=now,
                        )
                    )
        except IntegrityError:
            # A concurrent request with the same key won the insert: answer as it did.
            if idempotency_key is None:
                raise
            replay = self._replay(issuer, idempotency_key, fingerprint)
            if replay is None:
                raise
            return replay
        return link

    def _replay(self, issuer: str, key: str, fingerprint: str) -> Replay | None:
        with self._sessions() as session:
            stored = session.get(IdempotencyKey, (issuer, key))
        if stored is None:
            return None
        if stored.request_hash != fingerprint:
            raise Conflict(
                "Idempotency-Key was already used with a different request body",
                field="Idempotency-Key",
            )
        return Replay(stored.status_code, stored.response_body)

    def get_by_slug(self, slug: str) -> InvoiceLink:
        with self._sessions() as session:
            link = session.scalar(select(InvoiceLink).where(InvoiceLink.slug == slug))
        if link is None:
            raise NotFound(f"no invoice link with slug {slug!r}")
        return link

    def list_for(
        self, issuer: str, *, status: InvoiceStatus | None, limit: int, cursor: str | None
    ) -> InvoicePage:
        """The issuer's links, newest first, keyset-paginated."""
        check_limit(limit)
        now = self._clock()
        query = select(InvoiceLink).where(InvoiceLink.sender == issuer)
        if status is not None:
            query = query.where(_status_filter(status, now))
        if cursor is not None:
            created_iso, last_id = decode_cursor(cursor, (str, str))
            try:
                created = datetime.fromisoformat(created_iso)
            except ValueError as exc:
                raise invalid_cursor() from exc
            if created.tzinfo is None:
                raise invalid_cursor()
            query = query.where(
                or_(
                    InvoiceLink.created_at < created,
                    and_(InvoiceLink.created_at == created, InvoiceLink.id < last_id),
                )
            )
        query = query.order_by(InvoiceLink.created_at.desc(), InvoiceLink.id.desc()).limit(
            limit + 1
        )
        with self._sessions() as session:
            rows = list(session.scalars(query))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor(last.created_at.isoformat(), last.id)
        return InvoicePage(rows, next_cursor)

    def _owned(self, session: Session, link_id: str, issuer: str) -> InvoiceLink:
        link = session.get(InvoiceLink, link_id)
        # Another issuer's link answers exactly like a missing one: do not reveal it exists.
        if link is None or link.sender != issuer:
            raise NotFound(f"no invoice link with id {link_id!r}")
        return link

    def update_status(
        self,
        link_id: str,
        issuer: str,
        target: InvoiceStatus,
        *,
        tx_hash: str | None = None,
        stream_id: int | None = None,
    ) -> InvoiceLink:
        """Move the issuer's link to ``target`` if the lifecycle allows it.

        Compare-and-set on the stored status: of two concurrent updates, neither is lost; the
        later one is re-checked against the status the earlier one left.
        """
        for _ in range(CAS_ATTEMPTS):
            now = self._clock()
            with self._sessions() as session, session.begin():
                link = self._owned(session, link_id, issuer)
                current = effective_status(link.status, link.expires_at, now)
                if target not in TRANSITIONS[current]:
                    raise Conflict(
                        f"invoice link is {current.value}; it cannot become {target.value} "
                        f"(allowed: {', '.join(allowed_from(current)) or 'none, it is final'})",
                        field="status",
                    )
                values: dict[str, Any] = {"status": target.value, "updated_at": now}
                stamp = {
                    InvoiceStatus.SIGNED: "signed_at",
                    InvoiceStatus.COMPLETED: "completed_at",
                    InvoiceStatus.CANCELED: "canceled_at",
                }.get(target)
                if stamp:
                    values[stamp] = now
                if target is InvoiceStatus.COMPLETED:
                    values["completed_by"] = "issuer"  # the issuer's word, not the chain's
                if tx_hash is not None:
                    values["tx_hash"] = tx_hash
                if stream_id is not None:
                    values["stream_id"] = stream_id
                result = session.execute(
                    update(InvoiceLink)
                    .where(InvoiceLink.id == link_id, InvoiceLink.status == link.status)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    session.flush()
                    session.expire(link)
                    session.refresh(link)
                    enqueue_status_change(session, link, target, now=now)  # same transaction
                    return link
        raise Conflict("invoice link is being changed concurrently; retry", field="status")

    def delete(self, link_id: str, issuer: str) -> None:
        """Delete a DRAFT, EXPIRED or CANCELED link; SIGNED/COMPLETED links are payment records."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            link = self._owned(session, link_id, issuer)
            current = effective_status(link.status, link.expires_at, now)
            if current not in DELETABLE:
                raise Conflict(
                    f"invoice link is {current.value}: a payment record, it cannot be deleted "
                    f"(deletable: {', '.join(sorted(s.value for s in DELETABLE))})",
                    field="status",
                )
            result = session.execute(
                delete(InvoiceLink)
                .where(InvoiceLink.id == link_id, InvoiceLink.status == link.status)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict("invoice link changed while deleting; retry", field="status")


def _status_filter(status: InvoiceStatus, now: datetime) -> Any:
    """SQL for "reads as ``status`` at ``now``" (EXPIRED is partly computed)."""
    open_values = [s.value for s in OPEN]
    expired = and_(
        InvoiceLink.status.in_(open_values),
        InvoiceLink.expires_at.is_not(None),
        InvoiceLink.expires_at <= now,
    )
    if status is InvoiceStatus.EXPIRED:
        return or_(InvoiceLink.status == status.value, expired)
    if status in OPEN:
        return and_(
            InvoiceLink.status == status.value,
            or_(InvoiceLink.expires_at.is_(None), InvoiceLink.expires_at > now),
        )
    return InvoiceLink.status == status.value
