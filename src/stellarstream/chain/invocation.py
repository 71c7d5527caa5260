"""The V2 ``create_stream(args: StreamArgs)`` call, built with stellar-sdk (spec section 3).

``StreamArgs`` is a ``#[contracttype]`` struct: an ``SCV_MAP`` with Symbol keys sorted by field
name (``scval.to_struct`` sorts them), every key present, ``Option::None`` as ``SCV_VOID``.
:func:`create_stream_transaction` wraps the call in an unsigned, unprepared transaction whose
source is the payer (the contract requires ``sender``'s authorization; with the sender as the
transaction source the simulation records source-account auth, so one signature suffices).
"""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import Account, TransactionBuilder, TransactionEnvelope, scval
from stellar_sdk import xdr as x

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
"""Every StreamArgs field, in the order the contract's map holds them (sorted by name)."""


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


def _optional_address(value: str | None) -> x.SCVal:
    return scval.to_void() if value is None else scval.to_address(value)


def stream_args_scval(args: StreamArgs) -> x.SCVal:
    """The ``StreamArgs`` struct as an SCVal map (keys sorted, every key present)."""
    fields = {
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
    return scval.to_struct(fields)


def create_stream_transaction(
    source: Account,
    contract_id: str,
    args: StreamArgs,
    *,
    network_passphrase: str,
    base_fee: int = 100,
    valid_until: int,
) -> TransactionEnvelope:
    """An unsigned transaction invoking ``create_stream(args)``, valid until ``valid_until``
    (unix seconds). Prepare it (simulate, then assemble) before anyone signs it."""
    return (
        TransactionBuilder(source, network_passphrase, base_fee=base_fee)
        .append_invoke_contract_function_op(contract_id, CREATE_STREAM, [stream_args_scval(args)])
        .add_time_bounds(0, valid_until)
        .build()
    )
