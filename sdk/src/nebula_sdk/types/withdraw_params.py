from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from .._utils import check_address

__all__ = ["WithdrawParams"]


class WithdrawParams(BaseModel):
    """``withdraw(stream_id, beneficiary)``: withdraw everything withdrawable to the beneficiary.

    ``stream_id`` is the public id (``"C...-42"``) or the on-chain id (with the client's
    ``contract_id``); ``beneficiary`` defaults to the signing account.
    """

    model_config = ConfigDict(extra="forbid")

    stream_id: str | int
    beneficiary: str | None = None

    @field_validator("beneficiary")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value, "beneficiary")
