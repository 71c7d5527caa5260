"""Why the network refused or failed a transaction, in a sentence a payer can act on.

:func:`describe` reads a ``TransactionResult`` XDR (``sendTransaction``'s ``errorResultXdr`` or
``getTransaction``'s ``resultXdr``); :func:`simulation_problem` reads a failed simulation's error
text for the two failures a payer can fix themselves (balance, trustline).
"""

from __future__ import annotations

from stellar_sdk import xdr as x

_TX = {
    "txBAD_SEQ": "the account's sequence number changed since the transaction was prepared "
    "(another transaction was sent from it); request a new one",
    "txTOO_LATE": "it reached the network after its time bounds; request a new one",
    "txTOO_EARLY": "it reached the network before its time bounds",
    "txINSUFFICIENT_BALANCE": "the account cannot pay the network fee",
    "txINSUFFICIENT_FEE": "its fee is too low for the network's current load; try again",
    "txBAD_AUTH": "its signature is not valid (signed for another network or by another key)",
    "txNO_ACCOUNT": "the paying account does not exist on the network",
    "txMALFORMED": "the network found it malformed",
    "txSOROBAN_INVALID": "the network found its Soroban resources invalid",
}
_INVOKE = {
    "INVOKE_HOST_FUNCTION_TRAPPED": "the contract call failed (a balance, trustline or the "
    "invoice's state changed since the transaction was prepared)",
    "INVOKE_HOST_FUNCTION_RESOURCE_LIMIT_EXCEEDED": "the contract call needed more resources "
    "than were prepared; request a new transaction",
    "INVOKE_HOST_FUNCTION_INSUFFICIENT_REFUNDABLE_FEE": "the prepared fee did not cover the "
    "contract call; request a new transaction",
    "INVOKE_HOST_FUNCTION_ENTRY_ARCHIVED": "contract state it needs is archived",
}


def describe(result_xdr: str | None) -> str:
    """A sentence for a failed ``TransactionResult`` (its code name when it is not one we know)."""
    if not result_xdr:
        return "the network rejected it without saying why"
    try:
        result = x.TransactionResult.from_xdr(result_xdr)
    except Exception:  # XDR decoding raises assorted errors
        return "the network rejected it (unreadable result)"
    code = result.result.code.name
    if code == "txFAILED" and result.result.results:
        for op in result.result.results:
            invoke = op.tr.invoke_host_function_result if op.tr is not None else None
            if invoke is not None:
                name = invoke.code.name
                return f"{_INVOKE.get(name, 'the contract call failed')} ({name})"
    return f"{_TX.get(code, 'the network rejected it')} ({code})"


def simulation_problem(error: str) -> tuple[str, str] | None:
    """``(code, sentence)`` for a simulation that failed on the payer's token balance or
    trustline (the Stellar Asset Contract's ``BalanceError`` #10, ``TrustlineMissingError``
    #13, or their diagnostic text), else None."""
    text = error.lower()
    if "trustline" in text and "missing" in text:
        return (
            "no_trustline",
            "your account has no trustline to this token: add the asset in your wallet first",
        )
    if "balance is not sufficient" in text or "insufficient balance" in text:
        return ("insufficient_balance", "your account's balance of this token is too low")
    return None
