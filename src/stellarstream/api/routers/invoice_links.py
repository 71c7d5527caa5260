"""Invoice links: thin HTTP translation over :class:`InvoiceService`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse

from stellarstream.api.deps import Account, Context, Invoices
from stellarstream.api.schemas.invoice_links import (
    InvoiceLinkCreate,
    InvoiceLinkList,
    InvoiceLinkOut,
    InvoiceStatusUpdate,
)
from stellarstream.db.models import InvoiceLink
from stellarstream.errors import ValidationError
from stellarstream.invoices.lifecycle import InvoiceStatus
from stellarstream.invoices.service import InvoiceService, NewInvoice, Replay

router = APIRouter(prefix="/api/v1/invoice-links", tags=["invoice-links"])


FAILURE_COLUMNS = ("failure_reason", "failed_tx_hash", "failed_at")


def _out(link: InvoiceLink, service: InvoiceService, context: Context) -> InvoiceLinkOut:
    columns = [c for c in InvoiceLink.__table__.columns.keys() if c not in FAILURE_COLUMNS]  # noqa: SIM118
    failure = None
    if link.failed_tx_hash and link.failure_reason and link.failed_at:
        failure = {
            "tx_hash": link.failed_tx_hash,
            "reason": link.failure_reason,
            "at": link.failed_at,
        }
    return InvoiceLinkOut.model_validate(
        {
            **{c: getattr(link, c) for c in columns},
            "status": service.status_of(link),
            "share_url": f"{context.settings.public_url}/invoice/{link.slug}",
            "last_failure": failure,
            "token_info": context.tokens.document(link.token_address),
        }
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=InvoiceLinkOut)
def create_invoice_link(
    body: InvoiceLinkCreate,
    account: Account,
    service: Invoices,
    context: Context,
    idempotency_key: str | None = Header(
        default=None, max_length=255, description="Retry-safe creation: same key, same result"
    ),
) -> Any:
    """Create a DRAFT invoice link issued by the caller."""
    if idempotency_key is not None and not idempotency_key.strip():
        raise ValidationError("Idempotency-Key must not be empty", field="Idempotency-Key")
    new = NewInvoice(
        receiver=body.receiver,
        amount=body.amount,
        token_address=body.token_address,
        duration=body.duration,
        description=body.description,
        pdf_url=body.pdf_url,
        expires_at=body.expires_at,
    )
    result = service.create(
        account,
        new,
        idempotency_key=idempotency_key,
        render=lambda link: _out(link, service, context).model_dump(mode="json", by_alias=True),
    )
    if isinstance(result, Replay):
        return JSONResponse(
            result.body, status_code=result.status_code, headers={"Idempotent-Replayed": "true"}
        )
    return _out(result, service, context)


@router.get("/{slug}", response_model=InvoiceLinkOut)
def get_invoice_link(slug: str, service: Invoices, context: Context) -> InvoiceLinkOut:
    """A link by its slug (public: this is what the payer opens)."""
    return _out(service.get_by_slug(slug), service, context)


@router.get("", response_model=InvoiceLinkList)
def list_invoice_links(
    account: Account,
    service: Invoices,
    context: Context,
    status_filter: InvoiceStatus | None = Query(default=None, alias="status"),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=512),
) -> InvoiceLinkList:
    """The caller's links, newest first."""
    page = service.list_for(account, status=status_filter, limit=limit, cursor=cursor)
    return InvoiceLinkList(
        data=[_out(link, service, context) for link in page.items], next_cursor=page.next_cursor
    )


@router.patch("/{link_id}/status", response_model=InvoiceLinkOut)
def update_invoice_status(
    link_id: str, body: InvoiceStatusUpdate, account: Account, service: Invoices, context: Context
) -> InvoiceLinkOut:
    """Move the caller's link along its lifecycle."""
    link = service.update_status(
        link_id, account, body.status, tx_hash=body.tx_hash, stream_id=body.stream_id
    )
    return _out(link, service, context)


@router.delete("/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_invoice_link(link_id: str, account: Account, service: Invoices) -> Response:
    """Delete the caller's DRAFT, EXPIRED or CANCELED link."""
    service.delete(link_id, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
