"""The pure checks of a payer's transaction: what differs from the prepared one, whose valid
signature it carries, and whether a landed one pays an invoice link."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from stellar_sdk import (
    Account,
    Address,
    DecoratedSignature,
    Keypair,
    MuxedAccount,
    Network,
    SorobanDataBuilder,
    TextMemo,
    TransactionEnvelope,
    scval,
)
from stellar_sdk import xdr as x
from stellar_sdk.operation import BumpSequence, InvokeHostFunction
from tests.support import contract_events as ce

from nebula_sdk.lib.invocations import StreamArgs, create_stream_transaction
from stellarstream.chain.soroban import Simulation, assemble
from stellarstream.db.models import InvoiceLink
from stellarstream.invoices.verify import differences, invocation, invoice_mismatch, signed_by

TESTNET = Network.TESTNET_NETWORK_PASSPHRASE
PAYER = Keypair.from_raw_ed25519_seed(bytes([42]) * 32)
PAYER_ID = PAYER.public_key
OTHER = Keypair.from_raw_ed25519_seed(bytes([43]) * 32)
SLUG = "inv0001"
START = 1_900_000_000
AUTH = "the authorization entries differ"


def build(
    *,
    contract: str = ce.V2_CONTRACT,
    source: str = PAYER.public_key,
    sequence: int = 7,
    fee: int = 100,
    valid_until: int = START,
    instructions: int = 1_000_000,
    **fields: Any,
) -> TransactionEnvelope:
    """A prepared ``create_stream`` as the server makes it (footprint, fee, source auth)."""
    values: dict[str, Any] = {
        "sender": PAYER.public_key,
        "receiver": ce.account(2),
        "token": ce.TOKEN,
        "total_amount": 500,
        "start_time": START,
        "end_time": START + 3600,
        "memo": SLUG,
    }
    values.update(fields)
    envelope = create_stream_transaction(
        Account(source, sequence),
        contract,
        StreamArgs(**values),
        network_passphrase=TESTNET,
        base_fee=fee,
        valid_until=valid_until,
    )
    invoke = invocation(envelope)
    assert invoke is not None
    auth = x.SorobanAuthorizationEntry(
        credentials=x.SorobanCredentials(
            x.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
        ),
        root_invocation=x.SorobanAuthorizedInvocation(
            function=x.SorobanAuthorizedFunction(
                x.SorobanAuthorizedFunctionType.SOROBAN_AUTHORIZED_FUNCTION_TYPE_CONTRACT_FN,
                contract_fn=copy.deepcopy(invoke),
            ),
            sub_invocations=[],
        ),
    )
    data = SorobanDataBuilder().set_resources(instructions, 100, 100).set_resource_fee(1_000)
    simulation = Simulation(1, None, data.build().to_xdr(), 1_000, [auth.to_xdr()], None, False)
    return assemble(envelope, simulation)


def operation(envelope: TransactionEnvelope) -> InvokeHostFunction:
    op = envelope.transaction.operations[0]
    assert isinstance(op, InvokeHostFunction)
    return op


# --- differences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ["the transaction differs from the prepared one"]),  # nothing to name
        ({"sequence": 8}, ["sequence number is 9, not 8"]),
        ({"fee": 200}, ["fee is 1200, not 1100"]),
        ({"valid_until": START + 1}, ["time bounds or other preconditions differ"]),
        ({"instructions": 2}, ["the Soroban resources (footprint or resource fee) differ"]),
        (
            {"source": OTHER.public_key},
            [f"source account is {OTHER.public_key}, not {PAYER.public_key}"],
        ),
        ({"total_amount": 1}, ["amount (total_amount) is 1, not 500", AUTH]),
        ({"receiver": ce.account(3)}, [f"receiver is {ce.account(3)}, not {ce.account(2)}", AUTH]),
        ({"token": ce.V2_CONTRACT}, [f"token is {ce.V2_CONTRACT}, not {ce.TOKEN}", AUTH]),
        ({"memo": "other"}, ["memo is 'other', not 'inv0001'", AUTH]),
        ({"end_time": START + 60}, [f"end time is {START + 60}, not {START + 3600}", AUTH]),
        ({"contract": ce.TOKEN}, [f"contract is {ce.TOKEN}, not {ce.V2_CONTRACT}", AUTH]),
        (
            {"total_amount": 1, "memo": "other"},
            ["memo is 'other', not 'inv0001'", "amount (total_amount) is 1, not 500", AUTH],
        ),
    ],
)
def test_differences_name_each_changed_field(changes: dict[str, Any], expected: list[str]) -> None:
    assert differences(build(**changes), build()) == expected


def test_differences_name_the_transaction_memo_extra_operations_and_the_operation() -> None:
    prepared = build()
    memo = build()
    memo.transaction.memo = TextMemo("hi")
    assert differences(memo, prepared) == ["the transaction memo differs (it must have none)"]
    extra = build()
    extra.transaction.operations.append(BumpSequence(0))
    assert differences(extra, prepared) == ["it has 2 operations, not 1"]
    other_call = build()
    invoke = operation(other_call).host_function.invoke_contract
    assert invoke is not None
    invoke.function_name = x.SCSymbol(b"withdraw")
    assert differences(other_call, prepared) == ["function is 'withdraw', not 'create_stream'"]
    unauthorized = build()
    operation(unauthorized).auth = []
    assert differences(unauthorized, prepared) == [AUTH]
    elsewhere = build()
    operation(elsewhere).source = MuxedAccount(OTHER.public_key)
    assert differences(elsewhere, prepared) == ["the operation has another source account"]
    not_a_call = build()
    not_a_call.transaction.operations = [BumpSequence(0)]
    assert differences(not_a_call, prepared) == ["the operation is not the prepared contract call"]


def test_differences_say_when_the_argument_is_not_stream_args() -> None:
    bare = build()
    invoke = operation(bare).host_function.invoke_contract
    assert invoke is not None
    invoke.args = [scval.to_uint64(1)]
    assert differences(bare, build())[0] == "the arguments are not a StreamArgs struct"


# --- signed_by --------------------------------------------------------------------------------


def test_signed_by_needs_a_valid_signature_of_that_key_over_this_network_hash() -> None:
    envelope = build()
    assert not signed_by(envelope, PAYER.public_key)  # unsigned
    envelope.sign(OTHER)
    assert not signed_by(envelope, PAYER.public_key)
    assert signed_by(envelope, OTHER.public_key)
    envelope.sign(PAYER)  # one of several signatures is enough
    assert signed_by(envelope, PAYER.public_key)
    mainnet = TransactionEnvelope(build().transaction, Network.PUBLIC_NETWORK_PASSPHRASE)
    mainnet.sign(PAYER)  # the same transaction, signed for another network
    on_testnet = TransactionEnvelope(mainnet.transaction, TESTNET, mainnet.signatures)
    assert not signed_by(on_testnet, PAYER.public_key)
    assert signed_by(mainnet, PAYER.public_key)


def test_signed_by_rejects_a_signature_with_the_right_hint_but_wrong_bytes() -> None:
    envelope = build()
    envelope.sign(PAYER)
    (signature,) = envelope.signatures
    forged = DecoratedSignature(signature.signature_hint, bytes(64))
    envelope.signatures = [forged]
    assert not signed_by(envelope, PAYER.public_key)


# --- invoice_mismatch -------------------------------------------------------------------------


def link(**fields: Any) -> InvoiceLink:
    values: dict[str, Any] = {
        "slug": SLUG,
        "receiver": ce.account(2),
        "token_address": ce.TOKEN,
        "amount": 500,
        "duration": 3600,
    }
    values.update(fields)
    return InvoiceLink(**values)


def test_a_create_stream_with_the_links_terms_pays_it() -> None:
    assert invoice_mismatch(build(), link(), ce.V2_CONTRACT) is None
    muxed = MuxedAccount(ce.account(2), 5).account_muxed
    assert invoice_mismatch(build(), link(receiver=muxed), ce.V2_CONTRACT) is None  # base account
    later = build(start_time=START + 500, end_time=START + 4100, valid_until=START + 500)
    assert invoice_mismatch(later, link(), ce.V2_CONTRACT) is None  # any start, same duration


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"contract": ce.TOKEN}, f"it calls contract {ce.TOKEN}, not the invoice contract"),
        ({"memo": "other"}, "its memo is 'other', not 'inv0001'"),
        ({"memo": None}, "its memo is none, not 'inv0001'"),
        ({"receiver": ce.account(3)}, f"its receiver is {ce.account(3)}, not {ce.account(2)}"),
        ({"token": ce.V2_CONTRACT}, f"its token is {ce.V2_CONTRACT}, not {ce.TOKEN}"),
        ({"total_amount": 499}, "its amount (total_amount) is 499, not 500"),
        ({"end_time": START + 60}, "its duration is 60s, not the invoice's 3600s"),
    ],
)
def test_a_transaction_with_other_terms_does_not_pay_the_link(
    changes: dict[str, Any], reason: str
) -> None:
    mismatch = invoice_mismatch(build(**changes), link(), ce.V2_CONTRACT)
    assert mismatch is not None and mismatch.startswith(reason), mismatch


def test_what_is_not_one_create_stream_call_does_not_pay_the_link() -> None:
    two = build()
    two.transaction.operations.append(BumpSequence(0))
    assert invoice_mismatch(two, link(), ce.V2_CONTRACT) == "it is not a single contract call"
    other_call = build()
    invoke = operation(other_call).host_function.invoke_contract
    assert invoke is not None
    invoke.function_name = x.SCSymbol(b"withdraw")
    assert invoice_mismatch(other_call, link(), ce.V2_CONTRACT) == (
        "it calls 'withdraw', not 'create_stream'"
    )
    invoke.function_name = x.SCSymbol(b"create_stream")
    invoke.args = [scval.to_uint64(1)]
    assert invoice_mismatch(other_call, link(), ce.V2_CONTRACT) == (
        "its argument is not a StreamArgs struct"
    )
    assert Address.from_xdr_sc_address(invoke.contract_address).address == ce.V2_CONTRACT
