"""Assembling a simulation into a transaction, and parsing the RPC's answers."""

from __future__ import annotations

import pytest
from stellar_sdk import Account, Keypair, Network, SorobanDataBuilder
from tests.support import contract_events as ce
from tests.support.soroban_rpc import account_entry_xdr
from tests.support.stellar_rpc import recorded_method_result

from nebula_sdk.lib.invocations import StreamArgs, create_stream_transaction
from stellarstream.chain.soroban import Simulation, _parse_account, _parse_simulation, assemble
from stellarstream.errors import MalformedResponse


def envelope() -> object:
    args = StreamArgs(ce.account(1), ce.account(2), ce.TOKEN, 5, 10, 20)
    return create_stream_transaction(
        Account(ce.account(1), 7),
        ce.V2_CONTRACT,
        args,
        network_passphrase=Network.TESTNET_NETWORK_PASSPHRASE,
        valid_until=10,
    )


def test_the_recorded_simulations_parse() -> None:
    ok = _parse_simulation(recorded_method_result("simulateTransaction", 0))
    assert ok.error is None and ok.min_resource_fee == 90353 and ok.latest_ledger == 2552139
    assert ok.transaction_data is not None and ok.auth == []
    failed = _parse_simulation(recorded_method_result("simulateTransaction", 1))
    assert failed.error is not None and failed.error.startswith("host invocation failed")
    assert failed.transaction_data is None


def test_assemble_sets_footprint_fee_and_keeps_the_original_untouched() -> None:
    original = envelope()
    data = SorobanDataBuilder().set_resource_fee(1_234).build().to_xdr()  # as nodes answer
    simulation = Simulation(1, None, data, 1_234, [], None, False)
    prepared = assemble(original, simulation)  # type: ignore[arg-type]
    assert prepared.transaction.fee == 100 + 1_234
    assert prepared.transaction.soroban_data is not None
    assert original.transaction.soroban_data is None  # type: ignore[attr-defined]
    again = assemble(prepared, simulation)  # re-preparing does not add the fee twice
    assert again.transaction.fee == 100 + 1_234


def test_assemble_needs_transaction_data() -> None:
    with pytest.raises(MalformedResponse):
        assemble(envelope(), Simulation(1, None, None, None, [], None, False))  # type: ignore[arg-type]


def test_an_account_entry_gives_the_sequence() -> None:
    account = Keypair.random().public_key
    result = {"entries": [{"key": "k", "xdr": account_entry_xdr(account, 99)}], "latestLedger": 5}
    parsed = _parse_account(result, account)
    assert parsed is not None and parsed.sequence == 99
    assert _parse_account({"entries": [], "latestLedger": 5}, account) is None
    with pytest.raises(MalformedResponse):
        _parse_account({"entries": [{"xdr": "nonsense"}]}, account)
