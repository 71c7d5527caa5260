"""Pure (no I/O) readings of a contract call's answers: the simulated and the landed return
value, and a failed transaction's result codes."""

from __future__ import annotations

from typing import Any

from stellar_sdk import xdr as stellar_xdr

from .._exceptions import TransactionFailedError

__all__ = ["failure", "return_value", "simulated_return"]


def simulated_return(simulation: dict[str, Any]) -> str | None:
    """The simulated return value (SCVal XDR) of a ``simulateTransaction`` answer, if any."""
    results = simulation.get("results") or []
    return str(results[0]["xdr"]) if results and results[0].get("xdr") else None


def return_value(get_transaction: dict[str, Any]) -> stellar_xdr.SCVal | None:
    """The invocation's return value from a SUCCESS ``getTransaction`` (meta v3 or v4)."""
    meta_xdr = get_transaction.get("resultMetaXdr")
    if not meta_xdr:
        return None
    meta = stellar_xdr.TransactionMeta.from_xdr(meta_xdr)
    for version in (meta.v4, meta.v3):
        if version is not None and version.soroban_meta is not None:
            value: stellar_xdr.SCVal | None = version.soroban_meta.return_value
            return value
    return None


def _op_code(result: stellar_xdr.OperationResult) -> str:
    if result.tr is None:
        return str(result.code.name)
    for name, value in vars(result.tr).items():
        if name != "type" and value is not None and hasattr(value, "code"):
            return str(value.code.name)
    return str(result.code.name)


def failure(
    result_xdr: str | None, *, tx_hash: str | None, ledger: int | None, what: str
) -> TransactionFailedError:
    """A :class:`TransactionFailedError` carrying the result codes of ``result_xdr``."""
    tx_code: str | None = None
    op_codes: list[str] = []
    if result_xdr:
        result = stellar_xdr.TransactionResult.from_xdr(result_xdr).result
        tx_code = str(result.code.name)
        for op_result in result.results or []:
            op_codes.append(_op_code(op_result))
        inner = result.inner_result_pair
        if inner is not None:
            tx_code = str(inner.result.result.code.name)
            op_codes = [_op_code(r) for r in inner.result.result.results or []]
    detail = tx_code or "unknown result"
    if op_codes:
        detail += f" [{', '.join(op_codes)}]"
    return TransactionFailedError(
        f"{what}: {detail}",
        tx_hash=tx_hash,
        transaction_code=tx_code,
        operation_codes=op_codes,
        ledger=ledger,
    )
