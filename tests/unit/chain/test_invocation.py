"""The create_stream invocation: StreamArgs as a sorted struct map with every key, Void for None."""

from __future__ import annotations

import pytest
from stellar_sdk import Account, Network, scval
from stellar_sdk import xdr as x
from stellar_sdk.operation import InvokeHostFunction
from tests.support import contract_events as ce

from stellarstream.chain.invocation import (
    STREAM_ARGS_KEYS,
    StreamArgs,
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
