from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from .._utils import check_address

__all__ = ["CancelStreamParams"]


class CancelStreamParams(BaseModel):
    """``cancel(stream_id, caller)``: the receiver gets what it earned, the sender the rest.

    ``caller`` (sender or receiver) defaults to the signing account.
    """

    model_config = ConfigDict(extra="forbid")

    stream_id: str | int
    caller: str | None = None

    @field_validator("caller")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value, "caller")
