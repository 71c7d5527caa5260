"""Invoice link bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from stellarstream.api.schemas.common import (
    AmountOut,
    ApiModel,
    ApiOut,
    PositiveAmount,
    TokenInfoOut,
)
from stellarstream.chain.addresses import is_account, is_contract, is_muxed
from stellarstream.invoices.lifecycle import InvoiceStatus

TEN_YEARS = 10 * 365 * 86400 + 3 * 86400  # ten years including leap days


class InvoiceLinkCreate(ApiModel):
    receiver: str = Field(description="Who is paid: G..., M... or C... address")
    amount: PositiveAmount = Field(description="Total in token base units, a decimal string")
    token_address: str = Field(description="Token contract, C... address")
    duration: int = Field(description="Stream duration in seconds (1 s to 10 years)")
    description: str | None = Field(default=None, max_length=500)
    pdf_url: str | None = Field(default=None, max_length=2048)
    expires_at: AwareDatetime | None = Field(default=None, description="ISO-8601 with zone")

    @field_validator("receiver")
    @classmethod
    def _receiver(cls, value: str) -> str:
        if not (is_account(value) or is_muxed(value) or is_contract(value)):
            raise ValueError("must be a valid Stellar address (G..., M... or C...)")
        return value

    @field_validator("token_address")
    @classmethod
    def _token(cls, value: str) -> str:
        if not is_contract(value):
            raise ValueError("must be a valid Stellar contract address (C...)")
        return value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number of seconds")
        if not 1 <= value <= TEN_YEARS:
            raise ValueError(f"must be between 1 and {TEN_YEARS} seconds (10 years)")
        return value

    @field_validator("pdf_url")
    @classmethod
    def _pdf(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.startswith("https://") or len(value) <= len("https://")
        ):
            raise ValueError("must be an https:// URL")
        return value


class InvoiceStatusUpdate(ApiModel):
    status: InvoiceStatus
    tx_hash: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    stream_id: int | None = Field(default=None, ge=0)


class PaymentFailure(ApiOut):
    tx_hash: str
    reason: str
    at: datetime


class InvoiceLinkOut(ApiOut):
    id: str
    slug: str
    sender: str = Field(description="The issuer")
    receiver: str
    amount: AmountOut
    token_address: str
    token_info: TokenInfoOut = Field(description="The token's symbol, name and decimals")
    duration: int
    description: str | None
    pdf_url: str | None
    xdr_params: str = Field(
        description="base64 of JSON {receiver, amount, tokenAddress, duration, startTime}"
    )
    status: InvoiceStatus
    share_url: str
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    completed_at: datetime | None
    canceled_at: datetime | None
    stream_id: int | None
    tx_hash: str | None
    completed_by: Literal["chain", "issuer"] | None = Field(
        description="Who made the link COMPLETED: the indexed create_v2 event, or the issuer"
    )
    last_failure: PaymentFailure | None = Field(
        description="The last payment the chain rejected (the link stayed or became payable)"
    )


class InvoiceLinkList(ApiOut):
    data: list[InvoiceLinkOut]
    next_cursor: str | None
