"""Transaction request and submission bodies (the payer's side of an invoice link)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from stellarstream.api.schemas.common import ApiModel, ApiOut
from stellarstream.api.schemas.invoice_links import InvoiceLinkOut


class TransactionRequestIn(ApiModel):
    payer: str = Field(description="The paying account (G...): stream sender and tx source")


class TransactionRequestOut(ApiOut):
    xdr: str = Field(description="Prepared, unsigned transaction envelope (base64 XDR)")
    sep7_uri: str = Field(description="web+stellar:tx URI signed with URI_REQUEST_SIGNING_KEY")
    network_passphrase: str
    expires_at: datetime = Field(description="The transaction is invalid after this time")
    tx_hash: str = Field(description="Hash of the transaction once signed (hex)")
    contract_id: str
    start_time: int = Field(description="Stream start (unix seconds)")
    end_time: int = Field(description="Stream end (unix seconds)")
    payer: str = Field(description="The transaction's source and the stream's sender")
    fee: str = Field(description="Maximum network fee in stroops (inclusion + resource fee)")
    memo: str = Field(description="The stream's memo: the invoice link's slug")


class SubmittedIn(ApiModel):
    tx_hash: str = Field(description="Hash of the submitted transaction (64 hex characters)")


class SubmitIn(ApiModel):
    signed_xdr: str = Field(
        description="The prepared transaction, signed by the payer (base64 TransactionEnvelope)"
    )


class SubmitOut(ApiOut):
    tx_hash: str
    status: Literal["PENDING", "SUCCESS", "FAILED"] = Field(
        description="PENDING: accepted, not in a ledger yet (the server keeps checking); "
        "SUCCESS: in a ledger (the indexer completes the link); FAILED: see reason"
    )
    reason: str | None = Field(description="Why the network rejected or failed it")
    invoice_link: InvoiceLinkOut


class SubmittedOut(ApiOut):
    status: Literal["CONFIRMED", "PENDING"] = Field(
        description="CONFIRMED: the chain shows the payment, the link is SIGNED; PENDING: "
        "the RPC does not know the hash yet (the server checks again for a while)"
    )
    invoice_link: InvoiceLinkOut
