from __future__ import annotations

from datetime import datetime

from .._models import Amount, BaseModel
from .invoice_link_status import InvoiceLinkStatus
from .token_info import TokenInfo

__all__ = ["InvoiceLink"]


class InvoiceLink(BaseModel):
    """A shareable request to be paid by a stream: ``amount`` of ``token_address`` to
    ``receiver`` over ``duration`` seconds. The payer's stream carries ``memo = slug``."""

    id: str
    slug: str
    sender: str
    """The issuer."""
    receiver: str
    amount: Amount
    token_address: str
    token_info: TokenInfo | None = None
    """The token's symbol, name and decimals (None from a server that does not send it)."""
    duration: int
    description: str | None = None
    pdf_url: str | None = None
    xdr_params: str
    """base64 of JSON ``{receiver, amount, tokenAddress, duration, startTime}``."""
    status: InvoiceLinkStatus
    share_url: str
    expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None
    stream_id: int | None = None
    tx_hash: str | None = None
