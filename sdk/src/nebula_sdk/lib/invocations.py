"""Pure (no I/O) pieces of a contract call: arguments, transaction, assembly, results, SEP-7.

The one contract-call builder of the project: the SDK's runners and the StellarStream backend
(invoice payments) both build and assemble their transactions here.

Argument encoding follows the contract spec (``stellarstream-contract-events.md`` section 3):
``StreamArgs`` is a ``#[contracttype]`` struct, so an ``SCV_MAP`` with ``Symbol`` keys sorted by
name; ``Option::None`` is ``SCV_VOID``; ``i128``/``u64``/``u32``/``bool``/``Address`` map to their
``SCVal`` types. Everything is built with ``stellar_sdk.scval``, never by hand.

:func:`apply_simulation` assembles as stellar-sdk's ``SorobanServer.prepare_transaction`` does:
a resource fee left from an earlier simulation is taken off before the new ``minResourceFee`` is
added, so the fee is always the base fee plus the latest simulation's resource fee.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stellar_sdk import Account, Address, Keypair, TransactionBuilder, TransactionEnvelope, scval
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.auth import authorize_entry
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from .._exceptions import SigningError, SimulationError
from ..types.create_stream_params import CreateStreamParams

__all__ = [
    "CREATE_STREAM",
    "STREAM_ARGS_KEYS",
    "Call",
    "StreamArgs",
    "apply_simulation",
    "assemble",
    "build_transaction",
    "cancel_call",
    "create_stream_call",
    "create_stream_transaction",
    "sep7_uri",
    "sign_address_auth",
    "stream_args",
    "stream_args_scval",
    "top_up_call",
    "verify_wallet_signature",
    "withdraw_call",
]

CREATE_STREAM = "create_stream"
MEMO_MAX = 32
STREAM_ARGS_KEYS = (
    "affiliate",
    "cancellation_type",
    "cliff_time",
    "curve_type",
    "cycle_duration",
    "end_time",
    "is_recurrent",
    "memo",
    "multiplier_bps",
    "penalty_bps",
    "receiver",
    "sender",
    "split_address",
    "split_bps",
    "start_time",
    "step_duration",
    "token",
    "total_amount",
    "vault_address",
    "yield_enabled",
    "yield_recipient",
)
"""Every ``StreamArgs`` key, sorted (the order Soroban requires in the map)."""

_SOURCE_ACCOUNT = stellar_xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
_CONTRACT_ERROR = re.compile(r"Error\(Contract, #(\d+)\)")
AUTH_VALIDITY_LEDGERS = 100
"""How long a signed authorization entry stays valid (~8 minutes of ledgers)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One contract function call: what to invoke, with which arguments, for whom."""

    contract_id: str
    function: str
    args: list[stellar_xdr.SCVal]


@dataclass(frozen=True, slots=True)
class StreamArgs:
    """``StreamArgs`` with the spec's defaults for a plain linear stream without extras."""

    sender: str
    receiver: str
    token: str
    total_amount: int
    start_time: int
    end_time: int
    cliff_time: int | None = None  # None: no cliff (= start_time)
    step_duration: int = 0
    multiplier_bps: int = 0
    penalty_bps: int = 0
    vault_address: str | None = None
    yield_enabled: bool = False
    is_recurrent: bool = False
    cycle_duration: int = 0
    cancellation_type: int = 0
    affiliate: str | None = None
    memo: str | None = None
    yield_recipient: int = 0
    split_bps: int = 0
    curve_type: int = 0  # 0 linear, 1 exponential
    split_address: str | None = None

    def __post_init__(self) -> None:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.total_amount <= 0:
            raise ValueError("total_amount must be positive")
        if self.memo is not None and not _is_symbol(self.memo):
            raise ValueError(f"memo must be 1-{MEMO_MAX} characters of [A-Za-z0-9_]")


def _is_symbol(value: str) -> bool:
    allowed = all(c.isascii() and (c.isalnum() or c == "_") for c in value)
    return 0 < len(value) <= MEMO_MAX and allowed


def _optional_address(value: str | None) -> stellar_xdr.SCVal:
    return scval.to_void() if value is None else scval.to_address(value)


def stream_args_scval(args: StreamArgs) -> stellar_xdr.SCVal:
    """The ``StreamArgs`` struct as an SCVal map: all keys, Void for ``None``, sorted by name."""
    fields: dict[str, stellar_xdr.SCVal] = {
        "sender": scval.to_address(args.sender),
        "receiver": scval.to_address(args.receiver),
        "token": scval.to_address(args.token),
        "total_amount": scval.to_int128(args.total_amount),
        "start_time": scval.to_uint64(args.start_time),
        "cliff_time": scval.to_uint64(
            args.start_time if args.cliff_time is None else args.cliff_time
        ),
        "end_time": scval.to_uint64(args.end_time),
        "step_duration": scval.to_int128(args.step_duration),
        "multiplier_bps": scval.to_int128(args.multiplier_bps),
        "penalty_bps": scval.to_uint32(args.penalty_bps),
        "vault_address": _optional_address(args.vault_address),
        "yield_enabled": scval.to_bool(args.yield_enabled),
        "is_recurrent": scval.to_bool(args.is_recurrent),
        "cycle_duration": scval.to_uint64(args.cycle_duration),
        "cancellation_type": scval.to_uint32(args.cancellation_type),
        "affiliate": _optional_address(args.affiliate),
        "memo": scval.to_void() if args.memo is None else scval.to_symbol(args.memo),
        "yield_recipient": scval.to_uint32(args.yield_recipient),
        "split_bps": scval.to_uint32(args.split_bps),
        "curve_type": scval.to_uint32(args.curve_type),
        "split_address": _optional_address(args.split_address),
    }
    assert tuple(sorted(fields)) == STREAM_ARGS_KEYS
    return scval.to_struct(fields)  # sorts the keys


def stream_args(
    params: CreateStreamParams, *, sender: str, start: int, cliff: int, end: int
) -> stellar_xdr.SCVal:
    """The ``StreamArgs`` struct of ``params`` with its sender and resolved times."""
    return stream_args_scval(
        StreamArgs(
            sender=sender,
            receiver=params.receiver,
            token=params.token,
            total_amount=params.total_amount,
            start_time=start,
            end_time=end,
            cliff_time=cliff,
            step_duration=params.step_duration,
            multiplier_bps=params.multiplier_bps,
            penalty_bps=params.penalty_bps,
            vault_address=params.vault_address,
            yield_enabled=params.yield_enabled,
            is_recurrent=params.is_recurrent,
            cycle_duration=params.cycle_duration,
            cancellation_type=params.cancellation_type,
            affiliate=params.affiliate,
            memo=params.memo,
            yield_recipient=params.yield_recipient,
            split_bps=params.split_bps,
            curve_type=params.curve_type,
            split_address=params.split_address,
        )
    )


def create_stream_call(
    contract_id: str,
    params: CreateStreamParams,
    *,
    sender: str,
    start: int,
    cliff: int,
    end: int,
) -> Call:
    args = stream_args(params, sender=sender, start=start, cliff=cliff, end=end)
    return Call(contract_id, CREATE_STREAM, [args])


def withdraw_call(contract_id: str, stream_id: int, beneficiary: str) -> Call:
    return Call(
        contract_id, "withdraw", [scval.to_uint64(stream_id), scval.to_address(beneficiary)]
    )


def cancel_call(contract_id: str, stream_id: int, caller: str) -> Call:
    return Call(contract_id, "cancel", [scval.to_uint64(stream_id), scval.to_address(caller)])


def top_up_call(contract_id: str, stream_id: int, sender: str, extra_amount: int) -> Call:
    return Call(
        contract_id,
        "top_up",
        [scval.to_uint64(stream_id), scval.to_address(sender), scval.to_int128(extra_amount)],
    )


def build_transaction(
    call: Call,
    *,
    source: str,
    sequence: int,
    network_passphrase: str,
    base_fee: int,
    timeout_seconds: int = 300,
    valid_until: int | None = None,
) -> TransactionEnvelope:
    """The unsigned, unsimulated transaction: one InvokeHostFunction, no memo. It is valid for
    ``timeout_seconds`` from now, or until ``valid_until`` (unix seconds) when that is given."""
    builder = TransactionBuilder(
        source_account=Account(source, sequence),
        network_passphrase=network_passphrase,
        base_fee=base_fee,
    ).append_invoke_contract_function_op(call.contract_id, call.function, call.args)
    if valid_until is None:
        builder.set_timeout(timeout_seconds)
    else:
        builder.add_time_bounds(0, valid_until)
    return builder.build()


def create_stream_transaction(
    source: Account,
    contract_id: str,
    args: StreamArgs,
    *,
    network_passphrase: str,
    base_fee: int = 100,
    valid_until: int,
) -> TransactionEnvelope:
    """An unsigned transaction from ``source`` invoking ``create_stream(args)``, valid until
    ``valid_until`` (unix seconds). Prepare it (simulate, then assemble) before anyone signs it."""
    call = Call(contract_id, CREATE_STREAM, [stream_args_scval(args)])
    return build_transaction(
        call,
        source=source.account.universal_account_id,
        sequence=source.sequence,
        network_passphrase=network_passphrase,
        base_fee=base_fee,
        valid_until=valid_until,
    )


def simulation_failure(error: str) -> SimulationError:
    match = _CONTRACT_ERROR.search(error)
    code = int(match.group(1)) if match else None
    first = error.strip().splitlines()[0] if error.strip() else "simulation failed"
    message = f"contract call fails in simulation: {first}"
    if code is not None:
        message += f" (contract error #{code})"
    return SimulationError(message, contract_error_code=code, diagnostic=error)


def apply_simulation(
    envelope: TransactionEnvelope,
    *,
    transaction_data: str,
    min_resource_fee: int,
    auth: Sequence[str],
) -> TransactionEnvelope:
    """A copy of ``envelope`` with a simulation's footprint and resources, resource fee and
    (when the operation has none) recorded auth entries, unsigned."""
    prepared = copy.deepcopy(envelope)
    prepared.signatures = []
    tx = prepared.transaction
    if tx.soroban_data is not None:  # prepared before: its resource fee is replaced, not added to
        tx.fee -= tx.soroban_data.resource_fee.int64
    tx.fee += min_resource_fee
    tx.soroban_data = stellar_xdr.SorobanTransactionData.from_xdr(transaction_data)
    op = tx.operations[0]
    if isinstance(op, InvokeHostFunction) and not op.auth:
        op.auth = [stellar_xdr.SorobanAuthorizationEntry.from_xdr(entry) for entry in auth]
    return prepared


def assemble(envelope: TransactionEnvelope, simulation: dict[str, Any]) -> TransactionEnvelope:
    """Apply a ``simulateTransaction`` answer to ``envelope`` (see :func:`apply_simulation`), or
    raise :class:`SimulationError` saying why it cannot be."""
    error = simulation.get("error")
    if error:
        raise simulation_failure(str(error))
    if simulation.get("restorePreamble"):
        raise SimulationError(
            "the call touches archived ledger entries: restore them first (RestoreFootprint)"
        )
    results = simulation.get("results") or []
    if len(results) != 1 or "transactionData" not in simulation:
        raise SimulationError("the simulation returned no result for the invocation")
    assert isinstance(envelope.transaction.operations[0], InvokeHostFunction)
    return apply_simulation(
        envelope,
        transaction_data=simulation["transactionData"],
        min_resource_fee=int(simulation["minResourceFee"]),
        auth=results[0].get("auth") or [],
    )


def _address_credentials(
    envelope: TransactionEnvelope,
) -> list[tuple[int, stellar_xdr.SorobanAuthorizationEntry, str]]:
    """Authorization entries that need an address's own signature (not the source account's)."""
    op = envelope.transaction.operations[0]
    assert isinstance(op, InvokeHostFunction)
    found = []
    for index, entry in enumerate(op.auth):
        credentials = entry.credentials
        if (
            credentials.type
            == stellar_xdr.SorobanCredentialsType.SOROBAN_CREDENTIALS_SOURCE_ACCOUNT
        ):
            continue  # the envelope's signature covers source-account credentials
        holder = credentials.address or credentials.address_v2
        if holder is None and credentials.address_with_delegates is not None:
            holder = credentials.address_with_delegates.address_credentials
        if holder is None:
            raise SigningError("an authorization entry has credentials this SDK cannot read")
        found.append((index, entry, Address.from_xdr_sc_address(holder.address).address))
    return found


def sign_address_auth(
    envelope: TransactionEnvelope,
    keypair: Keypair | None,
    *,
    latest_ledger: int,
    network_passphrase: str,
) -> None:
    """Sign (in place) the auth entries of ``keypair``'s address; refuse if others need signing."""
    op = envelope.transaction.operations[0]
    assert isinstance(op, InvokeHostFunction)
    for index, entry, who in _address_credentials(envelope):
        if keypair is None or who != keypair.public_key:
            raise SigningError(
                f"this call also needs an authorization signed by {who}: submit it from that "
                "account (make it the source) or sign the entry with its key"
            )
        op.auth[index] = authorize_entry(
            entry, keypair, latest_ledger + AUTH_VALIDITY_LEDGERS, network_passphrase
        )


def verify_wallet_signature(
    prepared: TransactionEnvelope, signed_xdr: str, network_passphrase: str
) -> TransactionEnvelope:
    """The wallet's answer must be *this* transaction, signed."""
    try:
        signed = TransactionEnvelope.from_xdr(signed_xdr, network_passphrase)
    except Exception as exc:
        raise SigningError(
            f"the signer returned something that is not a transaction: {exc}"
        ) from exc
    if signed.hash_hex() != prepared.hash_hex():
        raise SigningError("the signer returned a different transaction than it was asked to sign")
    if not signed.signatures:
        raise SigningError("the signer returned the transaction without a signature")
    return signed


def sep7_uri(envelope: TransactionEnvelope, network_passphrase: str, pubkey: str, msg: str) -> str:
    """A SEP-7 ``web+stellar:tx?xdr=...`` request for a wallet to sign and submit."""
    return TransactionStellarUri(
        transaction_envelope=envelope,
        pubkey=pubkey,
        message=msg[:300],
        network_passphrase=network_passphrase,
    ).to_uri()
