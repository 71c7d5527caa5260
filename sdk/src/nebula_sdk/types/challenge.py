from __future__ import annotations

from pydantic import ConfigDict

from .._models import BaseModel

__all__ = ["Challenge"]


class Challenge(BaseModel):
    """A SEP-10 challenge transaction to sign (snake_case on the wire, as SEP-10 has it)."""

    model_config = ConfigDict(alias_generator=None)

    transaction: str
    """base64 XDR envelope."""
    network_passphrase: str
