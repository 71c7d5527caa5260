"""Pure (no I/O) pieces of a contract call: arguments, transaction, assembly, results, SEP-7.

Argument encoding follows the contract spec (``stellarstream-contract-events.md`` section 3):
``StreamArgs`` is a ``#[contracttype]`` struct, so an ``SCV_MAP`` with ``Symbol`` keys sorted by
name; ``Option::None`` is ``SCV_VOID``; ``i128``/``u64``/``u32``/``bool``/``Address`` map to their
``SCVal`` types. Everything is built with ``stellar_sdk.scval``, never by hand.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from stellar_sdk import Account, Address, Keypair, TransactionBuilder, TransactionEnvelope, scval
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.auth import authorize_entry
from stellar_sdk.operation import InvokeHostFunction
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from .._exceptions import SigningError, SimulationError, TransactionFailedError
from ..types.create_stream_params import CreateStreamParams

__all__ = [
    "STREAM_ARGS_KEYS",
    "Call",
    "assemble",
    "build_transaction",
    "cancel_call",
    "create_stream_call",
    "failure",
    "return_value",
    "sep7_uri",
    "sign_address_auth",
    "stream_args",
    "top_up_call",
    "verify_wallet_signature",
    "withdraw_call",
]

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


def _optional_address(value: str | None) -> stellar_xdr.SCVal:
    return scval.to_void() if value is None else scval.to_address(value)


def stream_args(
    params: CreateStreamParams, *, sender: str, start: int, cliff: int, end: int
) -> stellar_xdr.SCVal:
    """The ``StreamArgs`` struct: all keys, Void for ``None``, sorted by name."""
    fields: dict[str, stellar_xdr.SCVal] = {
        "sender": scval.to_address(sender),
        "receiver": scval.to_address(params.receiver),
        "token": scval.to_address(params.token),
        "total_amount": scval.to_int128(params.total_amount),
        "start_time": scval.to_uint64(start),
        "cliff_time": scval.to_uint64(cliff),
        "end_time": scval.to_uint64(end),
        "step_duration": scval.to_int128(params.step_duration),
        "multiplier_bps": scval.to_int128(params.multiplier_bps),
        "penalty_bps": scval.to_uint32(params.penalty_bps),
        "vault_address": _optional_address(params.vault_address),
        "yield_enabled": scval.to_bool(params.yield_enabled),
        "is_recurrent": scval.to_bool(params.is_recurrent),
        "cycle_duration": scval.to_uint64(params.cycle_duration),
        "cancellation_type": scval.to_uint32(params.cancellation_type),
        "affiliate": _optional_address(params.affiliate),
        "memo": scval.to_void() if params.memo is None else scval.to_symbol(params.memo),
        "yield_recipient": scval.to_uint32(params.yield_recipient),
        "split_bps": scval.to_uint32(params.split_bps),
        "curve_type": scval.to_uint32(params.curve_type),
        "split_address": _optional_address(params.split_address),
    }
    assert sorted(fields) == sorted(STREAM_ARGS_KEYS)
    return scval.to_struct(fields)  # sorts the keys


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
    return Call(contract_id, "create_stream", [args])


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
) -> TransactionEnvelope:
    """The unsigned, unsimulated transaction: one InvokeHostFunction, no memo."""
    return (
        TransactionBuilder(
            source_account=Account(source, sequence),
            network_passphrase=network_passphrase,
            base_fee=base_fee,
        )
        .append_invoke_contract_function_op(call.contract_id, call.function, call.args)
        .set_timeout(timeout_seconds)
        .build()
    )


def simulation_failure(error: str) -> SimulationError:
    match = _CONTRACT_ERROR.search(error)
    code = int(match.group(1)) if match else None
    first = error.strip().splitlines()[0] if error.strip() else "simulation failed"
    message = f"contract call fails in simulation: {first}"
    if code is not None:
        message += f" (contract error #{code})"
    return SimulationError(message, contract_error_code=code, diagnostic=error)


def assemble(envelope: TransactionEnvelope, simulation: dict[str, Any]) -> TransactionEnvelope:
    """Apply a simulation to ``envelope``: footprint and resources, resource fee, auth."""
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
    prepared = copy.deepcopy(envelope)
    prepared.signatures = []
    tx = prepared.transaction
    tx.fee += int(simulation["minResourceFee"])
    tx.soroban_data = stellar_xdr.SorobanTransactionData.from_xdr(simulation["transactionData"])
    op = tx.operations[0]
    assert isinstance(op, InvokeHostFunction)
    if not op.auth:
        op.auth = [
            stellar_xdr.SorobanAuthorizationEntry.from_xdr(entry)
            for entry in results[0].get("auth") or []
        ]
    return prepared


def simulated_return(simulation: dict[str, Any]) -> str | None:
    results = simulation.get("results") or []
    return str(results[0]["xdr"]) if results and results[0].get("xdr") else None


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
