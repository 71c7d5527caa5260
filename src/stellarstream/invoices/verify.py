"""Checks of a payer's transaction against what an invoice link asks for (pure, no I/O).

Two questions, two functions:

* :func:`differences`: is this signed envelope the very transaction the server prepared? Its
  hash already says yes or no; on a no, this names each field that differs (source, sequence,
  fee, time bounds, memo, operations, contract, function, each ``StreamArgs`` field, auth,
  resources) so the payer's 422 says what was changed.
* :func:`invoice_mismatch`: does this transaction (from ``getTransaction``, sent by a wallet we
  never saw) pay the link: one ``create_stream`` on the invoice contract, memo = slug, the link's
  receiver, token, amount and duration?

:func:`signed_by` tells whether an envelope carries a valid signature of an account's key.
"""

from __future__ import annotations

from stellar_sdk import Address, Keypair, Transaction, TransactionEnvelope, scval
from stellar_sdk import xdr as x
from stellar_sdk.exceptions import BadSignatureError
from stellar_sdk.operation import InvokeHostFunction

from nebula_sdk.lib.invocations import CREATE_STREAM, STREAM_ARGS_KEYS
from stellarstream.chain.addresses import base_account
from stellarstream.db.models import InvoiceLink

FIELD_NAMES = {
    "total_amount": "amount (total_amount)",
    "receiver": "receiver",
    "sender": "sender",
    "token": "token",
    "memo": "memo",
    "start_time": "start time",
    "end_time": "end time",
}


def _show(value: x.SCVal) -> str:
    """An SCVal as a person reads it (addresses, integers, symbols), else its type."""
    kind = value.type
    if kind == x.SCValType.SCV_ADDRESS:
        return str(Address.from_xdr_sc_val(value).address)
    if kind == x.SCValType.SCV_I128:
        return str(scval.from_int128(value))
    if kind == x.SCValType.SCV_U64:
        return str(scval.from_uint64(value))
    if kind == x.SCValType.SCV_U32:
        return str(scval.from_uint32(value))
    if kind == x.SCValType.SCV_SYMBOL:
        return repr(scval.from_symbol(value))
    if kind == x.SCValType.SCV_BOOL:
        return str(scval.from_bool(value)).lower()
    if kind == x.SCValType.SCV_VOID:
        return "none"
    return kind.name


def invocation(envelope: TransactionEnvelope) -> x.InvokeContractArgs | None:
    """The contract call of a one-operation ``InvokeHostFunction`` transaction, else None."""
    operations = envelope.transaction.operations
    if len(operations) != 1 or not isinstance(operations[0], InvokeHostFunction):
        return None
    invoke: x.InvokeContractArgs | None = operations[0].host_function.invoke_contract
    return invoke


def stream_args(invoke: x.InvokeContractArgs) -> dict[str, x.SCVal] | None:
    """The ``StreamArgs`` fields of a ``create_stream`` call, or None if it has none."""
    if len(invoke.args) != 1:
        return None
    value = invoke.args[0]
    if value.type != x.SCValType.SCV_MAP or value.map is None:
        return None
    fields: dict[str, x.SCVal] = {}
    for entry in value.map.sc_map:
        if entry.key.type != x.SCValType.SCV_SYMBOL or entry.key.sym is None:
            return None
        fields[entry.key.sym.sc_symbol.decode()] = entry.val
    return fields if tuple(fields) == STREAM_ARGS_KEYS else None


def _call_differences(signed: x.InvokeContractArgs, prepared: x.InvokeContractArgs) -> list[str]:
    out: list[str] = []
    contract = Address.from_xdr_sc_address(signed.contract_address).address
    expected = Address.from_xdr_sc_address(prepared.contract_address).address
    if contract != expected:
        out.append(f"contract is {contract}, not {expected}")
    function = signed.function_name.sc_symbol.decode(errors="replace")
    if function != prepared.function_name.sc_symbol.decode():
        out.append(f"function is {function!r}, not {CREATE_STREAM!r}")
        return out
    fields, wanted = stream_args(signed), stream_args(prepared)
    if fields is None or wanted is None:
        out.append("the arguments are not a StreamArgs struct")
        return out
    for key in STREAM_ARGS_KEYS:
        if fields[key].to_xdr() != wanted[key].to_xdr():
            name = FIELD_NAMES.get(key, key)
            out.append(f"{name} is {_show(fields[key])}, not {_show(wanted[key])}")
    return out


def _preconditions(tx: Transaction) -> str | None:
    return tx.preconditions.to_xdr_object().to_xdr() if tx.preconditions else None


def differences(signed: TransactionEnvelope, prepared: TransactionEnvelope) -> list[str]:
    """What differs between ``signed`` and the ``prepared`` transaction (empty: none)."""
    a, b = signed.transaction, prepared.transaction
    out: list[str] = []
    if a.source.account_id != b.source.account_id:
        out.append(f"source account is {a.source.account_id}, not {b.source.account_id}")
    if a.sequence != b.sequence:
        out.append(f"sequence number is {a.sequence}, not {b.sequence}")
    if a.fee != b.fee:
        out.append(f"fee is {a.fee}, not {b.fee}")
    if _preconditions(a) != _preconditions(b):
        out.append("time bounds or other preconditions differ")
    if a.memo.to_xdr_object().to_xdr() != b.memo.to_xdr_object().to_xdr():
        out.append("the transaction memo differs (it must have none)")
    if len(a.operations) != len(b.operations):
        out.append(f"it has {len(a.operations)} operations, not {len(b.operations)}")
        return out
    signed_call, prepared_call = invocation(signed), invocation(prepared)
    if signed_call is None or prepared_call is None:
        out.append("the operation is not the prepared contract call")
        return out
    out.extend(_call_differences(signed_call, prepared_call))
    op_a, op_b = a.operations[0], b.operations[0]
    assert isinstance(op_a, InvokeHostFunction) and isinstance(op_b, InvokeHostFunction)
    if [e.to_xdr() for e in op_a.auth] != [e.to_xdr() for e in op_b.auth]:
        out.append("the authorization entries differ")
    if op_a.source != op_b.source:
        out.append("the operation has another source account")
    data_a = a.soroban_data.to_xdr() if a.soroban_data else None
    data_b = b.soroban_data.to_xdr() if b.soroban_data else None
    if data_a != data_b:
        out.append("the Soroban resources (footprint or resource fee) differ")
    return out or ["the transaction differs from the prepared one"]


def signed_by(envelope: TransactionEnvelope, account_id: str) -> bool:
    """Whether ``envelope`` carries a valid signature of ``account_id``'s key over its hash."""
    key = Keypair.from_public_key(account_id)
    tx_hash = envelope.hash()
    for signature in envelope.signatures:
        if signature.signature_hint != key.signature_hint():
            continue
        try:
            key.verify(tx_hash, signature.signature)
        except BadSignatureError:
            continue
        return True
    return False


def invoice_mismatch(
    envelope: TransactionEnvelope, link: InvoiceLink, contract_id: str
) -> str | None:
    """Why ``envelope`` is not a ``create_stream`` paying ``link`` on ``contract_id``, or None."""
    invoke = invocation(envelope)
    if invoke is None:
        return "it is not a single contract call"
    contract = Address.from_xdr_sc_address(invoke.contract_address).address
    if contract != contract_id:
        return f"it calls contract {contract}, not the invoice contract {contract_id}"
    function = invoke.function_name.sc_symbol.decode(errors="replace")
    if function != CREATE_STREAM:
        return f"it calls {function!r}, not {CREATE_STREAM!r}"
    fields = stream_args(invoke)
    if fields is None:
        return "its argument is not a StreamArgs struct"
    wanted = {
        "memo": scval.to_symbol(link.slug),
        "receiver": scval.to_address(base_account(link.receiver)),
        "token": scval.to_address(link.token_address),
        "total_amount": scval.to_int128(link.amount),
    }
    for key, value in wanted.items():
        if fields[key].to_xdr() != value.to_xdr():
            return f"its {FIELD_NAMES[key]} is {_show(fields[key])}, not {_show(value)}"
    start, end = fields["start_time"], fields["end_time"]
    if start.type != x.SCValType.SCV_U64 or end.type != x.SCValType.SCV_U64:
        return "its start or end time is not a u64"
    duration = scval.from_uint64(end) - scval.from_uint64(start)
    if duration != link.duration:
        return f"its duration is {duration}s, not the invoice's {link.duration}s"
    return None
