from __future__ import annotations

from .contract_call_result import ContractCallResult

__all__ = ["CreateStreamResult"]


class CreateStreamResult(ContractCallResult):
    """``create_stream`` landed: the new stream's ids and the times it was created with."""

    stream_id: str
    """Public id ``"<contract>-<on-chain id>"`` (what the API's stream routes take)."""
    on_chain_id: int
    start_time: int
    end_time: int
