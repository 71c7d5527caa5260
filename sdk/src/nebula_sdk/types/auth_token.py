from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from .._models import BaseModel

__all__ = ["AuthToken"]


class AuthToken(BaseModel):
    """A bearer token (JWT) for the account that signed the SEP-10 challenge."""

    model_config = ConfigDict(alias_generator=None)

    token: str
    expires_at: datetime
