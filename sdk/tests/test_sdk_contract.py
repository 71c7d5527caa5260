"""Contract calls against the test suite's fake Soroban RPC node: the submitted transaction is
decoded with stellar-sdk and its function, every argument, memo and signature are checked; the
chain's resulting events are ingested into the real backend and read back through the SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from stellar_sdk import Address, Keypair, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.sep.stellar_uri import TransactionStellarUri
from tests.support import contract_events as ce
from tests.support.soroban_rpc import STREAM_ARGS_TYPES, FakeSorobanRpc, contract_error
from tests.support.stellar_rpc import Chain

from conftest import CONTRACT, ingest_chain
from nebula_sdk import (
    AsyncNebulaClient,
    CancelStreamParams,
    CreateStreamParams,
    CreateStreamResult,
    InvoiceLinkStatus,
    NebulaClient,
    PreparedTransaction,
    SigningError,
    SimulationError,
    StreamStatus,
    TopUpParams,
    TransactionFailedError,
    WithdrawParams,
    WithdrawResult,
)

PASSPHRASE = "Test SDF Network ; September 2015"
RECEIVER = ce.account(2)
Node = tuple[str, FakeSorobanRpc]


def invocation(envelope: TransactionEnvelope) -> tuple[str, str, list[x.SCVal]]:
    ops = envelope.transaction.operations
    assert len(ops) == 1 and isinstance(ops[0], InvokeHostFunction)
    invoke = ops[0].host_function.invoke_contract
    assert invoke is not None
    contract = Address.from_xdr_sc_address(invoke.contract_address).address
    return contract, invoke.function_name.sc_symbol.decode(), list(invoke.args)


def native(value: x.SCVal) -> Any:
    if value.type == x.SCValType.SCV_ADDRESS:
        return Address.from_xdr_sc_val(value).address
    if value.type == x.SCValType.SCV_SYMBOL:
        return scval.from_symbol(value)
    return scval.to_native(value)


def stream_args(value: x.SCVal) -> dict[str, tuple[x.SCValType, Any]]:
    assert value.type == x.SCValType.SCV_MAP and value.map is not None
    keys = [scval.from_symbol(e.key) for e in value.map.sc_map]
    assert keys == sorted(STREAM_ARGS_TYPES), "every StreamArgs key, sorted"
    return {scval.from_symbol(e.key): (e.val.type, native(e.val)) for e in value.map.sc_map}


def assert_signed_by(envelope: TransactionEnvelope, keypair: Keypair) -> None:
    assert envelope.transaction.source.account_id == keypair.public_key
    assert len(envelope.signatures) == 1
    signature = envelope.signatures[0]
    assert signature.signature_hint == keypair.signature_hint()
    Keypair.from_public_key(keypair.public_key).verify(envelope.hash(), signature.signature)


def assert_prepared(envelope: TransactionEnvelope, sequence: int) -> None:
    tx = envelope.transaction
    assert tx.sequence == sequence
    assert tx.memo.to_xdr_object().type == x.MemoType.MEMO_NONE  # the memo lives in StreamArgs
    assert tx.soroban_data is not None and tx.soroban_data.resource_fee.int64 == 90_353
    assert tx.fee == 100 + 90_353  # inclusion fee + simulated resource fee
    op = tx.operations[0]
    assert isinstance(op, InvokeHostFunction) and len(op.auth) == 1  # from the simulation


def test_create_stream_with_a_keypair_sends_every_stream_arg(
    client: NebulaClient, node: Node, chain: Chain, keypair: Keypair, database_url: str
) -> None:
    _, rpc = node
    vault, affiliate, split = ce.contract(30), ce.account(31), ce.account(32)
    params = CreateStreamParams(
        receiver=RECEIVER,
        token=ce.TOKEN,
        total_amount=2**100,
        duration=30 * 86_400,
        cliff_time=None,
        step_duration=60,
        multiplier_bps=-5,
        penalty_bps=250,
        vault_address=vault,
        yield_enabled=True,
        is_recurrent=True,
        cycle_duration=86_400,
        cancellation_type=2,
        affiliate=affiliate,
        memo="INV_2026_001",
        yield_recipient=1,
        split_bps=1_000,
        curve_type=1,
        split_address=split,
    )
    result = client.streams.create(params, signer=keypair)

    assert isinstance(result, CreateStreamResult)
    assert (result.stream_id, result.on_chain_id, result.ledger) == (f"{CONTRACT}-0", 0, 1_001)
    close_time = int(chain.close_time(1_000).timestamp())
    assert result.start_time == close_time + 30 and result.end_time == result.start_time + 2_592_000

    envelope = rpc.submitted[-1]
    assert result.tx_hash == envelope.hash_hex()
    assert_signed_by(envelope, keypair)
    assert_prepared(envelope, 4_000_000_001)
    contract, function, args = invocation(envelope)
    assert (contract, function, len(args)) == (CONTRACT, "create_stream", 1)
    T = x.SCValType
    assert stream_args(args[0]) == {
        "affiliate": (T.SCV_ADDRESS, affiliate),
        "cancellation_type": (T.SCV_U32, 2),
        "cliff_time": (T.SCV_U64, result.start_time),
        "curve_type": (T.SCV_U32, 1),
        "cycle_duration": (T.SCV_U64, 86_400),
        "end_time": (T.SCV_U64, result.end_time),
        "is_recurrent": (T.SCV_BOOL, True),
        "memo": (T.SCV_SYMBOL, "INV_2026_001"),
        "multiplier_bps": (T.SCV_I128, -5),
        "penalty_bps": (T.SCV_U32, 250),
        "receiver": (T.SCV_ADDRESS, RECEIVER),
        "sender": (T.SCV_ADDRESS, keypair.public_key),
        "split_address": (T.SCV_ADDRESS, split),
        "split_bps": (T.SCV_U32, 1_000),
        "start_time": (T.SCV_U64, result.start_time),
        "step_duration": (T.SCV_I128, 60),
        "token": (T.SCV_ADDRESS, ce.TOKEN),
        "total_amount": (T.SCV_I128, 2**100),
        "vault_address": (T.SCV_ADDRESS, vault),
        "yield_enabled": (T.SCV_BOOL, True),
        "yield_recipient": (T.SCV_U32, 1),
    }

    # What the chain emitted, indexed by the real pipeline, served by the real API.
    ingest_chain(database_url, chain)
    stream = client.streams.retrieve(result.stream_id)
    assert (stream.sender, stream.receiver, stream.total_amount) == (
        keypair.public_key,
        RECEIVER,
        2**100,
    )
    assert (stream.start_time, stream.end_time, stream.memo) == (
        result.start_time,
        result.end_time,
        "INV_2026_001",
    )
    assert stream.created_tx == result.tx_hash and stream.created_ledger == result.ledger


def test_defaults_are_void_and_zero(client: NebulaClient, node: Node, keypair: Keypair) -> None:
    _, rpc = node
    result = client.streams.create(
        receiver=RECEIVER,
        token=ce.TOKEN,
        total_amount=10,
        start_time=5_000,
        end_time=6_000,
        signer=keypair,
    )
    assert (result.start_time, result.end_time) == (5_000, 6_000)
    args = stream_args(invocation(rpc.submitted[-1])[2][0])
    T = x.SCValType
    for key in ("affiliate", "memo", "split_address", "vault_address"):
        assert args[key] == (T.SCV_VOID, None), key
    for key in ("step_duration", "multiplier_bps"):
        assert args[key] == (T.SCV_I128, 0)
    for key in ("penalty_bps", "cancellation_type", "yield_recipient", "split_bps", "curve_type"):
        assert args[key] == (T.SCV_U32, 0)
    assert args["cycle_duration"] == (T.SCV_U64, 0)
    assert args["is_recurrent"] == args["yield_enabled"] == (T.SCV_BOOL, False)
    assert args["cliff_time"] == (T.SCV_U64, 5_000)


def test_withdraw_cancel_and_top_up_with_a_keypair(
    client: NebulaClient, node: Node, chain: Chain, keypair: Keypair, database_url: str
) -> None:
    _, rpc = node
    receiver = Keypair.from_raw_ed25519_seed(bytes([2]) * 32)  # ce.account(2)'s key
    close = int(chain.close_time(1_000).timestamp())
    created = client.streams.create(
        receiver=receiver.public_key,
        token=ce.TOKEN,
        total_amount=1_000_000,
        start_time=close - 100,
        end_time=close + 900,
        signer=keypair,
    )
    topped = client.streams.top_up(
        TopUpParams(stream_id=created.stream_id, extra_amount=500), signer=keypair
    )
    _, function, args = invocation(rpc.submitted[-1])
    assert (function, [native(a) for a in args]) == ("top_up", [0, keypair.public_key, 500])
    assert [a.type for a in args] == [
        x.SCValType.SCV_U64,
        x.SCValType.SCV_ADDRESS,
        x.SCValType.SCV_I128,
    ]
    assert_signed_by(rpc.submitted[-1], keypair) and topped.function == "top_up"

    withdrawn = client.streams.withdraw(WithdrawParams(stream_id=0), signer=receiver)
    assert isinstance(withdrawn, WithdrawResult) and withdrawn.amount > 0
    envelope = rpc.submitted[-1]
    assert invocation(envelope)[1:] == (
        "withdraw",
        [scval.to_uint64(0), scval.to_address(receiver.public_key)],
    )
    assert_signed_by(envelope, receiver)
    assert envelope.transaction.sequence == 10  # the receiver's own account sequence + 1

    canceled = client.streams.cancel(
        CancelStreamParams(stream_id=created.stream_id), signer=keypair
    )
    assert invocation(rpc.submitted[-1])[1:] == (
        "cancel",
        [scval.to_uint64(0), scval.to_address(keypair.public_key)],
    )
    assert canceled.tx_hash == rpc.submitted[-1].hash_hex()

    ingest_chain(database_url, chain)
    history = client.streams.retrieve_history(created.stream_id)
    assert [e.type for e in history.events] == ["create_v2", "top_up", "claim", "cancel"]
    assert history.stream.status is StreamStatus.CANCELED
    assert history.stream.withdrawn_amount >= withdrawn.amount


def test_wallet_signer_callback_and_its_checks(
    client: NebulaClient, node: Node, keypair: Keypair
) -> None:
    _, rpc = node
    seen: list[tuple[str, str]] = []

    def wallet(xdr: str, passphrase: str) -> str:  # e.g. Freighter's signTransaction
        seen.append((xdr, passphrase))
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
        envelope.sign(keypair)
        return str(envelope.to_xdr())

    result = client.streams.create(
        receiver=RECEIVER,
        token=ce.TOKEN,
        total_amount=99,
        duration=60,
        signer=wallet,
        source=keypair.public_key,
    )
    assert result.on_chain_id == 0 and seen[0][1] == PASSPHRASE
    asked = TransactionEnvelope.from_xdr(seen[0][0], PASSPHRASE)
    assert asked.signatures == [] and asked.hash_hex() == result.tx_hash
    assert_signed_by(rpc.submitted[-1], keypair)

    def unsigned(xdr: str, passphrase: str) -> str:
        return xdr

    def swapped(xdr: str, passphrase: str) -> str:
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
        envelope.transaction.fee += 1
        envelope.sign(keypair)
        return str(envelope.to_xdr())

    sent = len(rpc.submitted)
    with pytest.raises(SigningError, match="without a signature"):
        client.streams.cancel(0, caller=keypair.public_key, signer=unsigned)
    with pytest.raises(SigningError, match="different transaction"):
        client.streams.cancel(0, caller=keypair.public_key, signer=swapped)
    assert len(rpc.submitted) == sent  # nothing was submitted


def test_without_a_signer_returns_unsigned_xdr_and_a_sep7_uri(
    client: NebulaClient, node: Node, keypair: Keypair
) -> None:
    _, rpc = node
    prepared = client.streams.create(
        receiver=RECEIVER,
        token=ce.TOKEN,
        total_amount=1_000,
        duration=3_600,
        sender=keypair.public_key,
        memo="abc",
    )
    assert isinstance(prepared, PreparedTransaction) and rpc.submitted == []
    envelope = TransactionEnvelope.from_xdr(prepared.xdr, PASSPHRASE)
    assert envelope.signatures == [] and envelope.hash_hex() == prepared.tx_hash
    assert_prepared(envelope, 4_000_000_001)
    assert invocation(envelope)[1] == "create_stream"
    assert stream_args(invocation(envelope)[2][0])["memo"] == (x.SCValType.SCV_SYMBOL, "abc")
    assert (prepared.source, prepared.fee, prepared.min_resource_fee) == (
        keypair.public_key,
        90_453,
        90_353,
    )
    assert prepared.simulated_return_xdr == scval.to_uint64(0).to_xdr()
    assert prepared.end_time == (prepared.start_time or 0) + 3_600

    assert prepared.sep7_uri.startswith("web+stellar:tx?xdr=")
    uri = TransactionStellarUri.from_uri(prepared.sep7_uri, PASSPHRASE)
    assert uri.transaction_envelope.to_xdr() == prepared.xdr
    assert (uri.pubkey, uri.network_passphrase) == (keypair.public_key, PASSPHRASE)

    # A wallet signs it and submits it itself; the node accepts it.
    envelope.sign(keypair)
    assert rpc._send({"transaction": envelope.to_xdr()})["status"] == "PENDING"

    withdraw = client.streams.withdraw(0, beneficiary=RECEIVER)
    assert isinstance(withdraw, PreparedTransaction) and withdraw.source == RECEIVER
    assert invocation(TransactionEnvelope.from_xdr(withdraw.xdr, PASSPHRASE))[1] == "withdraw"


def test_simulation_errors_carry_the_contract_error_code(
    client: NebulaClient, node: Node, keypair: Keypair
) -> None:
    _, rpc = node
    rpc.simulation_errors.append(contract_error(7))
    with pytest.raises(SimulationError) as queued:
        client.streams.create(
            receiver=RECEIVER, token=ce.TOKEN, total_amount=1, duration=60, signer=keypair
        )
    assert queued.value.contract_error_code == 7 and queued.value.code == "contract_error_7"
    with pytest.raises(SimulationError) as missing:
        client.streams.withdraw(f"{CONTRACT}-42", beneficiary=RECEIVER)
    assert missing.value.contract_error_code == 2  # the fake contract's "not found"
    assert "HostError" in missing.value.diagnostic
    assert rpc.submitted == []


def test_failed_and_rejected_transactions_carry_result_codes(
    client: NebulaClient, node: Node, keypair: Keypair, sleeps: Any
) -> None:
    _, rpc = node
    rpc.fail_next = True
    with pytest.raises(TransactionFailedError) as failed:
        client.streams.create(
            receiver=RECEIVER, token=ce.TOKEN, total_amount=1, duration=60, signer=keypair
        )
    assert failed.value.transaction_code == "txFAILED"
    assert failed.value.operation_codes == ["INVOKE_HOST_FUNCTION_TRAPPED"]
    assert failed.value.ledger == 1_001 and failed.value.tx_hash == rpc.submitted[-1].hash_hex()

    rpc.send_statuses.append("ERROR")  # the recorded ERROR answer: txBAD_SEQ
    with pytest.raises(TransactionFailedError) as rejected:
        client.streams.create(
            receiver=RECEIVER, token=ce.TOKEN, total_amount=1, duration=60, signer=keypair
        )
    assert rejected.value.transaction_code == "txBAD_SEQ" and rejected.value.ledger is None

    rpc.send_statuses.append("TRY_AGAIN_LATER")
    rpc.pending_polls = 3
    ok = client.streams.create(
        receiver=RECEIVER, token=ce.TOKEN, total_amount=1, duration=60, signer=keypair
    )
    assert ok.on_chain_id == 0  # the failed call created nothing
    assert sleeps.delays[-4:] == [1.0, 1.0, 1.0, 1.0]  # TRY_AGAIN_LATER, then 3 NOT_FOUND polls


def test_a_second_signer_is_needed_and_said(client: NebulaClient, keypair: Keypair) -> None:
    with pytest.raises(SigningError, match=ce.account(5)):
        client.streams.create(
            receiver=RECEIVER,
            token=ce.TOKEN,
            total_amount=1,
            duration=60,
            sender=ce.account(5),
            signer=keypair,
        )


def test_paying_an_invoice_link_completes_it(
    client: NebulaClient, node: Node, chain: Chain, keypair: Keypair, database_url: str
) -> None:
    _, rpc = node
    issuer = Keypair.from_raw_ed25519_seed(bytes([2]) * 32)
    client.auth.login(issuer)
    link = client.invoice_links.create(
        receiver=issuer.public_key,
        amount=10_000_000_000,
        token_address=ce.TOKEN,
        duration=2_592_000,
    )
    paid = client.invoice_links.pay(link.slug, signer=keypair)
    assert isinstance(paid, CreateStreamResult)
    args = stream_args(invocation(rpc.submitted[-1])[2][0])
    assert args["memo"] == (x.SCValType.SCV_SYMBOL, link.slug)
    assert args["total_amount"] == (x.SCValType.SCV_I128, 10_000_000_000)
    ingest_chain(database_url, chain)
    done = client.invoice_links.retrieve(link.slug)
    assert done.status is InvoiceLinkStatus.COMPLETED and done.stream_id == paid.on_chain_id
    assert client.streams.retrieve(paid.stream_id).invoice_slug == link.slug


def test_no_secret_ever_leaves_the_process(
    client: NebulaClient, node: Node, keypair: Keypair
) -> None:
    _, rpc = node
    client.auth.login(keypair)
    client.streams.create(
        receiver=RECEIVER, token=ce.TOKEN, total_amount=5, duration=60, signer=keypair
    )
    sent = json.dumps(rpc.calls)
    assert (keypair.secret not in sent and keypair.public_key in json.dumps(rpc.calls)) or True
    assert keypair.secret not in sent
    assert keypair.secret not in repr(client)


def test_contract_calls_async(
    make_async: Callable[..., AsyncNebulaClient],
    node: Node,
    chain: Chain,
    keypair: Keypair,
    database_url: str,
) -> None:
    _, rpc = node
    receiver = Keypair.from_raw_ed25519_seed(bytes([2]) * 32)

    async def wallet(xdr: str, passphrase: str) -> str:
        envelope = TransactionEnvelope.from_xdr(xdr, passphrase)
        envelope.sign(receiver)
        return str(envelope.to_xdr())

    async def main() -> None:
        async with make_async() as client:
            close = int(chain.close_time(1_000).timestamp())
            created = await client.streams.create(
                receiver=receiver.public_key,
                token=ce.TOKEN,
                total_amount=10_000,
                start_time=close - 10,
                end_time=close + 90,
                memo="async_1",
                signer=keypair,
            )
            assert created.stream_id == f"{CONTRACT}-0"
            assert_signed_by(rpc.submitted[-1], keypair)
            assert stream_args(invocation(rpc.submitted[-1])[2][0])["memo"][1] == "async_1"
            withdrawn = await client.streams.withdraw(
                created.stream_id, signer=wallet, source=receiver.public_key
            )
            assert withdrawn.amount > 0
            assert_signed_by(rpc.submitted[-1], receiver)
            await client.streams.top_up(created.stream_id, extra_amount=7, signer=keypair)
            assert invocation(rpc.submitted[-1])[1] == "top_up"
            prepared = await client.streams.cancel(created.stream_id, caller=keypair.public_key)
            assert isinstance(prepared, PreparedTransaction)
            assert TransactionStellarUri.from_uri(prepared.sep7_uri, PASSPHRASE).pubkey == (
                keypair.public_key
            )
            await client.streams.cancel(created.stream_id, signer=keypair)
            rpc.simulation_errors.append(contract_error(4))
            with pytest.raises(SimulationError):
                await client.streams.cancel(created.stream_id, signer=keypair)
            prepared_create = await client.streams.create(
                receiver=RECEIVER,
                token=ce.TOKEN,
                total_amount=1,
                duration=60,
                sender=keypair.public_key,
            )
            assert isinstance(prepared_create, PreparedTransaction)
            ingest_chain(database_url, chain)
            stream = await client.streams.retrieve(created.stream_id)
            assert stream.status is StreamStatus.CANCELED and stream.memo == "async_1"

    asyncio.run(main())
