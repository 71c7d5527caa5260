"""Why the network refused or failed a transaction, read from its TransactionResult XDR, and the
simulation failures a payer can fix."""

from __future__ import annotations

import pytest
from stellar_sdk import xdr as x
from tests.support.soroban_rpc import tx_result
from tests.support.stellar_rpc import recorded_method_result

from stellarstream.chain.results import describe, simulation_problem

T = x.TransactionResultCode
I = x.InvokeHostFunctionResultCode  # noqa: E741


def test_no_result_and_an_unreadable_one() -> None:
    assert describe(None) == "the network rejected it without saying why"
    assert describe("") == "the network rejected it without saying why"
    assert describe("not xdr!") == "the network rejected it (unreadable result)"


def test_a_bad_sequence_asks_for_a_new_transaction() -> None:
    said = describe(tx_result(T.txBAD_SEQ))
    assert said.startswith("the account's sequence number changed since the transaction")
    assert said.endswith("request a new one (txBAD_SEQ)")
    # The recorded ERROR answer of sendTransaction is a txBAD_SEQ, read the same way.
    assert describe(recorded_method_result("sendTransaction", 2)["errorResultXdr"]) == said


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (T.txBAD_AUTH, "its signature is not valid (signed for another network or by another key)"),
        (T.txTOO_LATE, "it reached the network after its time bounds; request a new one"),
        (T.txINSUFFICIENT_FEE, "its fee is too low for the network's current load; try again"),
        (T.txNO_ACCOUNT, "the paying account does not exist on the network"),
        (T.txINTERNAL_ERROR, "the network rejected it"),  # not one a payer can act on
    ],
)
def test_a_refused_transaction_is_named_with_its_code(
    code: x.TransactionResultCode, expected: str
) -> None:
    assert describe(tx_result(code)) == f"{expected} ({code.name})"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (I.INVOKE_HOST_FUNCTION_TRAPPED, "the contract call failed (a balance, trustline or"),
        (I.INVOKE_HOST_FUNCTION_RESOURCE_LIMIT_EXCEEDED, "the contract call needed more resources"),
        (I.INVOKE_HOST_FUNCTION_ENTRY_ARCHIVED, "contract state it needs is archived"),
        (I.INVOKE_HOST_FUNCTION_MALFORMED, "the contract call failed"),
    ],
)
def test_a_failed_contract_call_is_named_by_its_operation_result(
    code: x.InvokeHostFunctionResultCode, expected: str
) -> None:
    said = describe(tx_result(T.txFAILED, code))
    assert said.startswith(expected) and said.endswith(f" ({code.name})"), said
    assert "txFAILED" not in said


def test_a_failed_transaction_without_a_contract_result_names_the_transaction_code() -> None:
    result = x.TransactionResult(
        fee_charged=x.Int64(100),
        result=x.TransactionResultResult(
            T.txFAILED, results=[x.OperationResult(x.OperationResultCode.opBAD_AUTH)]
        ),
        ext=x.TransactionResultExt(0),
    )
    assert describe(result.to_xdr()) == "the network rejected it (txFAILED)"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (
            "host invocation failed\n\nCaused by:\n    HostError: Error(Contract, #10)\n"
            '    0: [Diagnostic Event] data:["balance is not sufficient to spend", 5, 10]',
            "insufficient_balance",
        ),
        ("HostError: insufficient balance", "insufficient_balance"),
        (
            "HostError: Error(Contract, #13)\n"
            '    0: [Diagnostic Event] data:["trustline entry is missing for account", G]',
            "no_trustline",
        ),
        ("HostError: Error(Contract, #7)", None),
        ("trustline exists; balance is fine", None),
    ],
)
def test_simulation_problems_a_payer_can_fix(error: str, code: str | None) -> None:
    problem = simulation_problem(error)
    assert (problem[0] if problem else None) == code
    if problem is not None:
        assert "your account" in problem[1]
