from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .._utils import I128_MAX, check_address

__all__ = ["TopUpParams"]


class TopUpParams(BaseModel):
    """``top_up(stream_id, sender, extra_amount)``: add tokens; the contract moves the end time.

    ``sender`` defaults to the signing account.
    """

    model_config = ConfigDict(extra="forbid")

    stream_id: str | int
    extra_amount: int = Field(gt=0, le=I128_MAX)
    sender: str | None = None

    @field_validator("sender")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value, "sender")
