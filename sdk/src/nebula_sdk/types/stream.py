from __future__ import annotations

from .._models import Amount, BaseModel
from .stream_status import StreamStatus
from .token_info import TokenInfo

__all__ = ["Stream"]


class Stream(BaseModel):
    """A payment stream as the API serves it. Amounts are token base units; times Unix seconds."""

    id: str
    """Public id: ``"<contract id>-<on-chain stream id>"``."""
    contract: str
    stream_id: int
    """The contract's own (on-chain) id."""
    version: int
    sender: str
    receiver: str
    beneficiary: str
    """Who withdraws (the receiver unless transferred)."""
    token: str
    token_info: TokenInfo | None = None
    """The token's symbol, name and decimals (None from a server that does not send it)."""
    total_amount: Amount
    withdrawn_amount: Amount
    start_time: int
    cliff_time: int
    end_time: int
    status: StreamStatus
    streamed_amount: Amount
    """Unlocked so far, at ``as_of``."""
    withdrawable_amount: Amount
    refundable_amount: Amount
    canceled_at: int | None = None
    cancel_to_receiver: Amount | None = None
    cancel_to_sender: Amount | None = None
    archived_at: int | None = None
    yield_enabled: bool = False
    memo: str | None = None
    invoice_slug: str | None = None
    """The invoice link this stream paid, if any."""
    created_ledger: int
    created_tx: str
    created_at: int
    updated_ledger: int
    as_of: int
    """The time (Unix seconds) the computed amounts and status use."""

    @property
    def amount(self) -> int:
        """``total_amount`` under the seed's (and the invoice links') name."""
        return self.total_amount

    @property
    def token_address(self) -> str:
        """``token`` under the seed's (and the invoice links') name."""
        return self.token
