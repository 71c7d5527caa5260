"""Shared schema pieces: the camelCase base model, amounts, the error shape."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from stellarstream.db.types import I128_MAX


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ApiOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


def _positive_amount(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError(
            "must be a string of digits (amounts are i128 base units; JSON numbers lose precision)"
        )
    if not value.isascii() or not value.isdigit():
        raise ValueError('must be a positive integer string of base units, e.g. "1000000000"')
    amount = int(value)
    if amount <= 0:
        raise ValueError("must be greater than 0")
    if amount > I128_MAX:
        raise ValueError(f"must be at most {I128_MAX} (i128 max)")
    return amount


PositiveAmount = Annotated[
    int,
    BeforeValidator(_positive_amount),
    PlainSerializer(str, return_type=str, when_used="json"),
]
AmountOut = Annotated[int, PlainSerializer(str, return_type=str)]


class TokenInfoOut(ApiOut):
    """What a person reads amounts of a token by: from the operator's settings, else what the
    token contract says of itself (SEP-41), else nothing known (symbol null, default decimals)."""

    address: str = Field(description="The token contract (C...)")
    symbol: str | None = Field(description="e.g. USDC; null while unknown")
    name: str | None = Field(description="e.g. USDC:G... for a classic asset's contract")
    decimals: int = Field(description="Base units per token: 10**decimals")
    home_domain: str | None = Field(
        default=None, description="A classic asset's issuer home domain, when known"
    )


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
