from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .._utils import I128_MAX, I128_MIN, MEMO_PATTERN, U32_MAX, U64_MAX, check_address

__all__ = ["SEED_NAMES", "CreateStreamFields", "CreateStreamParams", "contract_names"]

SEED_NAMES = {"amount": "total_amount", "token_address": "token"}
"""The seed's (and the invoice links') names -> the contract's ``StreamArgs`` names."""


def contract_names(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with the seed's names (``amount``, ``token_address``) as the contract's.

    Both names of one field with different values is an error: which one was meant is unknown.
    """
    out = dict(fields)
    for seed, name in SEED_NAMES.items():
        if seed not in out:
            continue
        value = out.pop(seed)
        if name in out and out[name] != value:
            raise ValueError(f"give {seed} or {name}, not both (they are the same field)")
        out[name] = value
    return out


class CreateStreamParams(BaseModel):
    """Arguments of the V2 contract's ``create_stream(args: StreamArgs)``.

    The seed's names work: ``amount`` (base units) and ``token_address`` (the token contract),
    with ``duration`` and ``yield_enabled``. Every ``StreamArgs`` key is accepted too, under the
    contract's name (``total_amount``, ``token``, ``start_time``, ``cliff_time``, ...), with the
    contract's default: the advanced form. Give either ``duration`` (start and end are then
    computed from the latest ledger's close time) or ``end_time``. ``sender`` defaults to the
    signing account.
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: Any) -> Any:
        return contract_names(data) if isinstance(data, Mapping) else data

    receiver: str
    token: str
    """The token contract (C...)."""
    total_amount: int = Field(gt=0, le=I128_MAX)
    """Base units (i128)."""
    sender: str | None = None
    duration: int | None = Field(default=None, gt=0, le=U64_MAX)
    """Seconds; with ``start_time`` unset the stream starts shortly after the latest ledger."""
    start_time: int | None = Field(default=None, ge=0, le=U64_MAX)
    cliff_time: int | None = Field(default=None, ge=0, le=U64_MAX)
    """Defaults to ``start_time`` (no cliff)."""
    end_time: int | None = Field(default=None, ge=0, le=U64_MAX)
    step_duration: int = Field(default=0, ge=I128_MIN, le=I128_MAX)
    multiplier_bps: int = Field(default=0, ge=I128_MIN, le=I128_MAX)
    penalty_bps: int = Field(default=0, ge=0, le=U32_MAX)
    vault_address: str | None = None
    yield_enabled: bool = False
    is_recurrent: bool = False
    cycle_duration: int = Field(default=0, ge=0, le=U64_MAX)
    cancellation_type: int = Field(default=0, ge=0, le=U32_MAX)
    affiliate: str | None = None
    memo: str | None = None
    """A Soroban Symbol (at most 32 of ``[A-Za-z0-9_]``); an invoice link's slug pays it."""
    yield_recipient: int = Field(default=0, ge=0, le=U32_MAX)
    split_bps: int = Field(default=0, ge=0, le=U32_MAX)
    curve_type: int = Field(default=0, ge=0, le=U32_MAX)
    """0 linear, 1 exponential."""
    split_address: str | None = None

    @field_validator("receiver", "sender", "vault_address", "affiliate", "split_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value, "address")

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        return check_address(value, "token", "C")

    @field_validator("memo")
    @classmethod
    def _memo(cls, value: str | None) -> str | None:
        if value is not None and not MEMO_PATTERN.match(value):
            raise ValueError("memo must be 1-32 characters of [A-Za-z0-9_] (a Soroban Symbol)")
        return value

    @model_validator(mode="after")
    def _times(self) -> CreateStreamParams:
        if (self.duration is None) == (self.end_time is None):
            raise ValueError("give exactly one of duration and end_time")
        if self.end_time is not None and self.start_time is None:
            raise ValueError("end_time needs start_time (or give duration instead)")
        if (
            self.start_time is not None
            and self.end_time is not None
            and self.end_time <= self.start_time
        ):
            raise ValueError("end_time must be after start_time")
        return self

    @property
    def amount(self) -> int:
        """``total_amount`` under the seed's name."""
        return self.total_amount

    @property
    def token_address(self) -> str:
        """``token`` under the seed's name."""
        return self.token


class CreateStreamFields(TypedDict, total=False):
    """The fields of :class:`CreateStreamParams` as keyword arguments (either name of a field)."""

    receiver: str
    amount: int
    token_address: str
    token: str
    total_amount: int
    sender: str | None
    duration: int | None
    start_time: int | None
    cliff_time: int | None
    end_time: int | None
    step_duration: int
    multiplier_bps: int
    penalty_bps: int
    vault_address: str | None
    yield_enabled: bool
    is_recurrent: bool
    cycle_duration: int
    cancellation_type: int
    affiliate: str | None
    memo: str | None
    yield_recipient: int
    split_bps: int
    curve_type: int
    split_address: str | None
