"""SEP-10 request and response bodies (snake_case, as SEP-10 clients expect)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Challenge(BaseModel):
    transaction: str = Field(description="SEP-10 challenge transaction, base64 XDR envelope")
    network_passphrase: str


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction: str = Field(min_length=1, description="The challenge, signed by the account")


class TokenResponse(BaseModel):
    token: str
    expires_at: datetime
