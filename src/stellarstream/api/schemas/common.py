"""Shared schema pieces: the camelCase base model, amounts, the error shape."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
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


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
