"""The payer's side of an invoice link (public): a transaction request, then "submitted"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stellarstream.api.deps import Context
from stellarstream.api.routers.invoice_links import _out
from stellarstream.api.schemas.common import ErrorResponse
from stellarstream.api.schemas.invoice_links import InvoiceLinkOut
from stellarstream.api.schemas.payments import (
    SubmittedIn,
    TransactionRequestIn,
    TransactionRequestOut,
)
from stellarstream.invoices.payment import NotPayable, PaymentRequests
from stellarstream.invoices.service import InvoiceService
from stellarstream.invoices.submission import SubmissionConflict, mark_submitted

router = APIRouter(prefix="/api/v1/invoice-links", tags=["payer"])


def _conflict(exc: NotPayable | SubmissionConflict) -> JSONResponse:
    """409 in the common error shape, plus the link's ``status``."""
    error = {"code": exc.code, "message": exc.message, "field": exc.field}
    return JSONResponse({"error": {**error, "status": exc.status.value}}, status_code=409)


@router.post(
    "/{slug}/transaction",
    response_model=TransactionRequestOut,
    responses={
        409: {"model": ErrorResponse, "description": "Not DRAFT or SIGNED (error.status says)"},
        502: {"model": ErrorResponse, "description": "The RPC failed or the simulation failed"},
        503: {"model": ErrorResponse, "description": "No RPC configured or it is unreachable"},
    },
)
def transaction_request(slug: str, body: TransactionRequestIn, context: Context) -> Any:
    """The payer's prepared ``create_stream`` (memo = slug) and its signed SEP-7 URI."""
    payments = PaymentRequests(context.settings, context.sessions, context.clock)
    try:
        request = payments.build(slug, body.payer)
    except NotPayable as exc:
        return _conflict(exc)
    return TransactionRequestOut.model_validate(request, from_attributes=True)


@router.post(
    "/{slug}/submitted",
    response_model=InvoiceLinkOut,
    responses={409: {"model": ErrorResponse, "description": "error.status says why"}},
)
def submitted(slug: str, body: SubmittedIn, context: Context) -> Any:
    """The payer submitted transaction ``txHash``: DRAFT -> SIGNED (idempotent per hash)."""
    try:
        link = mark_submitted(context.sessions, context.clock, slug, body.tx_hash)
    except SubmissionConflict as exc:
        return _conflict(exc)
    return _out(link, InvoiceService(context.sessions, context.clock), context)
