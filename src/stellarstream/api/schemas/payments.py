"""Transaction request and submission bodies (the payer's side of an invoice link)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stellarstream.api.schemas.common import ApiModel, ApiOut


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


class SubmittedIn(ApiModel):
    tx_hash: str = Field(description="Hash of the submitted transaction (64 hex characters)")
