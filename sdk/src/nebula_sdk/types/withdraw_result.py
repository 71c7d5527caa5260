from __future__ import annotations

from .contract_call_result import ContractCallResult

__all__ = ["WithdrawResult"]


class WithdrawResult(ContractCallResult):
    """``withdraw`` landed; ``amount`` is what it paid out (base units)."""

    amount: int
