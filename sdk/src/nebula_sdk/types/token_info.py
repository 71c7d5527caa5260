from __future__ import annotations

from .._models import BaseModel

__all__ = ["TokenInfo"]


class TokenInfo(BaseModel):
    """What people read a token's amounts by: from the server operator's settings, else what
    the token contract says of itself (SEP-41), else nothing known (``symbol`` None)."""

    address: str
    """The token contract (C...)."""
    symbol: str | None = None
    name: str | None = None
    decimals: int
    home_domain: str | None = None
    """A classic asset's issuer home domain, when known."""

    @property
    def label(self) -> str:
        """The symbol, else the short address (``CBMO…YKMI``)."""
        a = self.address
        return self.symbol or (a if len(a) <= 9 else f"{a[:4]}…{a[-4:]}")

    def units(self, amount: int) -> str:
        """``amount`` base units as an exact decimal string of tokens (``"1.5"``), no floats."""
        whole, fraction = divmod(abs(amount), 10**self.decimals)
        text = f"{'-' if amount < 0 else ''}{whole}"
        if fraction:
            text += "." + str(fraction).zfill(self.decimals).rstrip("0")
        return text
