"""The create_stream invocation: StreamArgs as a sorted struct map with every key, Void for None;
assembling a simulation into it as stellar-sdk does."""

from __future__ import annotations

import pytest
from stellar_sdk import Account, Network, SorobanDataBuilder, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.base_soroban_server import _assemble_transaction
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.soroban_rpc import SimulateTransactionResponse
from tests.support import contract_events as ce
from tests.support.stellar_rpc import recorded_method_result

from nebula_sdk.lib.invocations import (
    STREAM_ARGS_KEYS,
    StreamArgs,
    assemble,
    create_stream_transaction,
    stream_args_scval,
)


def args(**overrides: object) -> StreamArgs:
    fields: dict[str, object] = {
        "sender": ce.account(1),
        "receiver": ce.account(2),
        "token": ce.TOKEN,
        "total_amount": 2**100,
        "start_time": 1_000,
        "end_time": 4_600,
        "memo": "abcDEF123",
    }
    fields.update(overrides)
    return StreamArgs(**fields)  # type: ignore[arg-type]


def entries(value: x.SCVal) -> dict[str, x.SCVal]:
    assert value.map is not None
    return {e.key.sym.sc_symbol.decode(): e.val for e in value.map.sc_map}  # type: ignore[union-attr]


def test_every_key_is_present_sorted_with_spec_types() -> None:
    value = stream_args_scval(args())
    assert value.type == x.SCValType.SCV_MAP
    fields = entries(value)
    assert tuple(fields) == STREAM_ARGS_KEYS == tuple(sorted(STREAM_ARGS_KEYS))
    assert len(STREAM_ARGS_KEYS) == 21
    T = x.SCValType
    types = {name: val.type for name, val in fields.items()}
    assert types == {
        "affiliate": T.SCV_VOID,
        "cancellation_type": T.SCV_U32,
        "cliff_time": T.SCV_U64,
        "curve_type": T.SCV_U32,
        "cycle_duration": T.SCV_U64,
        "end_time": T.SCV_U64,
        "is_recurrent": T.SCV_BOOL,
        "memo": T.SCV_SYMBOL,
        "multiplier_bps": T.SCV_I128,
        "penalty_bps": T.SCV_U32,
        "receiver": T.SCV_ADDRESS,
        "sender": T.SCV_ADDRESS,
        "split_address": T.SCV_VOID,
        "split_bps": T.SCV_U32,
        "start_time": T.SCV_U64,
        "step_duration": T.SCV_I128,
        "token": T.SCV_ADDRESS,
        "total_amount": T.SCV_I128,
        "vault_address": T.SCV_VOID,
        "yield_enabled": T.SCV_BOOL,
        "yield_recipient": T.SCV_U32,
    }
    assert scval.from_int128(fields["total_amount"]) == 2**100
    assert scval.from_uint64(fields["cliff_time"]) == 1_000  # no cliff: the start


def test_options_become_values_when_set() -> None:
    fields = entries(
        stream_args_scval(
            args(
                vault_address=ce.contract(9), affiliate=ce.account(5), split_address=None, memo=None
            )
        )
    )
    assert scval.from_address(fields["vault_address"]).address == ce.contract(9)
    assert scval.from_address(fields["affiliate"]).address == ce.account(5)
    assert fields["memo"].type == x.SCValType.SCV_VOID


@pytest.mark.parametrize(
    "bad",
    [
        {"memo": "has space"},
        {"memo": "x" * 33},
        {"memo": ""},
        {"memo": "é"},
        {"end_time": 1_000},
        {"total_amount": 0},
    ],
)
def test_invalid_args_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        args(**bad)


def test_the_transaction_calls_create_stream_from_the_payer() -> None:
    source = Account(ce.account(1), 41)
    envelope = create_stream_transaction(
        source,
        ce.V2_CONTRACT,
        args(),
        network_passphrase=Network.TESTNET_NETWORK_PASSPHRASE,
        valid_until=900,
    )
    tx = envelope.transaction
    assert tx.sequence == 42 and tx.fee == 100
    assert tx.preconditions is not None and tx.preconditions.time_bounds is not None
    assert tx.preconditions.time_bounds.max_time == 900
    (operation,) = tx.operations
    assert isinstance(operation, InvokeHostFunction)
    invoke = operation.host_function.invoke_contract
    assert invoke is not None and invoke.function_name.sc_symbol == b"create_stream"
    assert invoke.args == [stream_args_scval(args())]


# --- assembly: the fee after a (re-)simulation, against stellar-sdk's own prepare_transaction ---


def recorded_simulation() -> dict[str, object]:
    return recorded_method_result("simulateTransaction", 0)


def prepared_by_stellar_sdk(envelope: TransactionEnvelope) -> TransactionEnvelope:
    response = SimulateTransactionResponse.model_validate(recorded_simulation())
    return _assemble_transaction(envelope, response)


def a_transaction() -> TransactionEnvelope:
    return create_stream_transaction(
        Account(ce.account(1), 41),
        ce.V2_CONTRACT,
        args(),
        network_passphrase=Network.TESTNET_NETWORK_PASSPHRASE,
        base_fee=100,
        valid_until=900,
    )


def test_assembling_a_recorded_simulation_matches_stellar_sdk() -> None:
    simulation = recorded_simulation()
    fresh = a_transaction()
    prepared = assemble(fresh, simulation)
    assert prepared.transaction.fee == 100 + int(str(simulation["minResourceFee"]))
    assert prepared.to_xdr() == prepared_by_stellar_sdk(fresh).to_xdr()
    assert fresh.transaction.soroban_data is None  # the original is left as it was


def test_re_assembling_replaces_the_prior_resource_fee_as_stellar_sdk_does() -> None:
    # A prepared transaction simulated again (a retry, a new footprint): its old resource fee
    # (the one in its sorobanData) is taken off before the new minResourceFee is added.
    once = assemble(a_transaction(), recorded_simulation())
    twice = assemble(once, recorded_simulation())
    assert twice.to_xdr() == prepared_by_stellar_sdk(once).to_xdr()
    prior = once.transaction.soroban_data
    assert prior is not None
    expected = once.transaction.fee - prior.resource_fee.int64 + 90_353
    assert twice.transaction.fee == expected


def test_re_assembling_as_nodes_answer_keeps_base_fee_plus_resource_fee() -> None:
    # Nodes put minResourceFee into transactionData's resourceFee: the fee never grows.
    data = SorobanDataBuilder().set_resource_fee(90_353).build().to_xdr()
    simulation = {**recorded_simulation(), "transactionData": data}
    once = assemble(a_transaction(), simulation)
    assert assemble(once, simulation).transaction.fee == once.transaction.fee == 100 + 90_353
