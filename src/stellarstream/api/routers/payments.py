"""The payer's side of an invoice link (public): a transaction request, its submission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from stellarstream.api.deps import Context
from stellarstream.api.routers.invoice_links import _out
from stellarstream.api.schemas.common import ErrorResponse
from stellarstream.api.schemas.payments import (
    SubmitIn,
    SubmitOut,
    SubmittedIn,
    SubmittedOut,
    TransactionRequestIn,
    TransactionRequestOut,
)
from stellarstream.errors import NotPayable
from stellarstream.invoices.followers import Followers
from stellarstream.invoices.payment import PaymentRequests
from stellarstream.invoices.service import InvoiceService
from stellarstream.invoices.submission import SubmissionConflict, Submissions

router = APIRouter(prefix="/api/v1/invoice-links", tags=["payer"])

RPC_ERRORS: dict[int | str, dict[str, Any]] = {
    502: {"model": ErrorResponse, "description": "The RPC answered with an error"},
    503: {"model": ErrorResponse, "description": "No RPC configured, or it is unreachable"},
}


def _conflict(exc: NotPayable | SubmissionConflict) -> JSONResponse:
    """409 in the common error shape, plus the link's ``status``."""
    error = {"code": exc.code, "message": exc.message, "field": exc.field}
    return JSONResponse({"error": {**error, "status": exc.status.value}}, status_code=409)


def _followers(request: Request) -> Followers:
    followers: Followers = request.app.state.followers
    return followers


@router.post(
    "/{slug}/transaction",
    response_model=TransactionRequestOut,
    responses={
        409: {"model": ErrorResponse, "description": "Not DRAFT or SIGNED (error.status says)"},
        422: {
            "model": ErrorResponse,
            "description": "A bad payer, or one that cannot pay (error.code insufficient_balance"
            ", no_trustline, account_not_found)",
        },
        **RPC_ERRORS,
    },
)
def transaction_request(slug: str, body: TransactionRequestIn, context: Context) -> Any:
    """The payer's prepared ``create_stream`` (memo = slug) and its signed SEP-7 URI."""
    payments = PaymentRequests(context.settings, context.sessions, context.clock)
    try:
        request = payments.build(slug, body.payer)
    except NotPayable as exc:
        return _conflict(exc)
    return TransactionRequestOut.model_validate(
        {**{f: getattr(request, f) for f in request.__slots__}, "fee": str(request.fee)}
    )


@router.post(
    "/{slug}/submit",
    response_model=SubmitOut,
    responses={
        409: {"model": ErrorResponse, "description": "Not payable now (error.status says)"},
        422: {
            "model": ErrorResponse,
            "description": "Not the prepared transaction, not signed by the payer, or expired: "
            "the message names what differs; nothing was sent",
        },
        **RPC_ERRORS,
    },
)
def submit(slug: str, body: SubmitIn, context: Context, request: Request) -> Any:
    """Send the payer's signed transaction: SIGNED once the RPC accepts it (see ``status``)."""
    submissions = Submissions(context.settings, context.sessions, context.clock)
    try:
        result = submissions.submit(slug, body.signed_xdr)
    except (NotPayable, SubmissionConflict) as exc:
        return _conflict(exc)
    if result.status == "PENDING":
        _followers(request).follow(slug, result.tx_hash)
    service = InvoiceService(context.sessions, context.clock)
    return SubmitOut(
        tx_hash=result.tx_hash,
        status=result.status,
        reason=result.reason,
        invoice_link=_out(result.link, service, context),
    )


@router.post(
    "/{slug}/submitted",
    response_model=SubmittedOut,
    responses={
        202: {"model": SubmittedOut, "description": "Not on the network yet: checked again"},
        409: {"model": ErrorResponse, "description": "error.status says why"},
        422: {
            "model": ErrorResponse,
            "description": "The transaction failed or does not pay this invoice",
        },
        **RPC_ERRORS,
    },
)
def submitted(slug: str, body: SubmittedIn, context: Context, request: Request) -> Any:
    """The payer's wallet sent transaction ``txHash``: SIGNED once the chain shows it paying
    this invoice (memo = slug, the invoice contract and terms); 202 while it is not there yet."""
    submissions = Submissions(context.settings, context.sessions, context.clock)
    try:
        link, confirmed = submissions.report(slug, body.tx_hash)
    except SubmissionConflict as exc:
        return _conflict(exc)
    out = SubmittedOut(
        status="CONFIRMED" if confirmed else "PENDING",
        invoice_link=_out(link, InvoiceService(context.sessions, context.clock), context),
    )
    if confirmed:
        return out
    _followers(request).follow(slug, body.tx_hash.lower())
    return JSONResponse(out.model_dump(mode="json", by_alias=True), status_code=202)
