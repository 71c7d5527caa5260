"""Contract events out of ledger and transaction meta XDR (pure: no I/O).

Used by the sources that only have meta: SEP-54 data lakes (whole ``LedgerCloseMeta``) and Horizon
(a transaction's ``result_meta_xdr``).

Event index
-----------
``RawEvent.event_index`` is the event's 0-based position among *all* the contract events of its
transaction: the ``ContractEvent`` list of every operation, concatenated in operation order
(TransactionMeta v3 has one list, ``soroban_meta.events``, for the transaction's only operation;
v4 has ``operations[i].events``). Every entry of those lists takes a position, whatever its type and
contract, so the index does not depend on the contract filter (or on the event type filter).
Transaction-level events (v4 ``events``: fees) and diagnostic events take no position.

Stellar RPC (v23+) gives each operation event the id ``"%019d-%010d" % (toid, i)`` where
``toid = ledger << 32 | tx_index << 12 | op_index`` and ``i`` is the position in that operation's
list (stellar-rpc ``db/event.go``, ``InsertEvents``), counting every entry of the list too. A
transaction that calls a contract (``InvokeHostFunction``, the only way StellarStream emits events)
has exactly one operation, so ``i`` equals our tx-wide index and ``(tx_hash, event_index)`` is the
same key from either source. Classic multi-operation transactions (CAP-67 events of payments) are
the only case where the two differ: RPC restarts ``i`` at each operation, we do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from stellar_sdk import StrKey, xdr

from stellarstream.chain.types import RawEvent

_CONTRACT = xdr.ContractEventType.CONTRACT
_SUCCESS_CODES = frozenset(
    {xdr.TransactionResultCode.txSUCCESS, xdr.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS}
)

__all__ = [
    "events_from_ledger_close_meta",
    "events_from_transaction_meta",
    "ledger_close_time",
    "ledger_sequence",
    "operation_events",
]


def operation_events(meta: xdr.TransactionMeta) -> list[list[xdr.ContractEvent]]:
    """The transaction's operation-level ``ContractEvent`` lists, one per operation.

    v3: ``[soroban_meta.events]`` (or ``[]`` without soroban meta); v4: ``operations[i].events``;
    v0/v1/v2 have no contract events (``[]``). Fee and diagnostic events are never included.
    """
    if meta.v == 3 and meta.v3 is not None:
        soroban = meta.v3.soroban_meta
        return [list(soroban.events)] if soroban is not None else []
    if meta.v == 4 and meta.v4 is not None:
        return [list(op.events) for op in meta.v4.operations]
    return []


def _raw_contract_ids(contract_ids: Iterable[str] | None) -> frozenset[bytes] | None:
    if contract_ids is None:
        return None
    return frozenset(StrKey.decode_contract(c) for c in contract_ids)


def _events(
    per_op: Sequence[Sequence[xdr.ContractEvent]],
    *,
    ledger: int,
    closed_at: datetime,
    tx_hash: str,
    tx_index: int,
    wanted: frozenset[bytes] | None,
    successful: bool,
) -> list[RawEvent]:
    out: list[RawEvent] = []
    event_index = -1
    for op_index, events in enumerate(per_op):
        for event in events:
            event_index += 1  # every op event takes a position, before any filter
            if event.type != _CONTRACT or event.contract_id is None:
                continue
            raw_id: bytes = event.contract_id.contract_id.hash
            if wanted is not None and raw_id not in wanted:
                continue
            body = event.body.v0
            if body is None:  # ContractEventBody has only v0 today
                raise ValueError(f"unsupported ContractEventBody version {event.body.v}")
            out.append(
                RawEvent(
                    contract_id=StrKey.encode_contract(raw_id),
                    ledger=ledger,
                    ledger_closed_at=closed_at,
                    tx_hash=tx_hash,
                    tx_index=tx_index,
                    op_index=op_index,
                    event_index=event_index,
                    topic_xdr=tuple(topic.to_xdr() for topic in body.topics),
                    value_xdr=body.data.to_xdr(),
                    in_successful_call=successful,
                )
            )
    return out


def events_from_transaction_meta(
    meta: xdr.TransactionMeta,
    *,
    ledger: int,
    closed_at: datetime,
    tx_hash: str,
    tx_index: int,
    contract_ids: frozenset[str] | None,
    successful: bool,
    include_failed: bool = False,
) -> list[RawEvent]:
    """The ``CONTRACT`` events of one transaction, in order (see the module doc for the index).

    ``contract_ids=None`` keeps every contract. Events of a failed transaction (v4 meta may carry
    some) are dropped unless ``include_failed``; kept ones have ``in_successful_call=False``.
    """
    if not successful and not include_failed:
        return []
    return _events(
        operation_events(meta),
        ledger=ledger,
        closed_at=closed_at,
        tx_hash=tx_hash,
        tx_index=tx_index,
        wanted=_raw_contract_ids(contract_ids),
        successful=successful,
    )


def _body(
    lcm: xdr.LedgerCloseMeta,
) -> xdr.LedgerCloseMetaV0 | xdr.LedgerCloseMetaV1 | xdr.LedgerCloseMetaV2:
    body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}.get(lcm.v)
    if body is None:
        raise ValueError(f"unsupported LedgerCloseMeta version {lcm.v}")
    return body


def _tx_processing(
    body: xdr.LedgerCloseMetaV0 | xdr.LedgerCloseMetaV1 | xdr.LedgerCloseMetaV2,
) -> Sequence[xdr.TransactionResultMeta | xdr.TransactionResultMetaV1]:
    return body.tx_processing


def ledger_sequence(lcm: xdr.LedgerCloseMeta) -> int:
    """The ledger sequence number of a ``LedgerCloseMeta``."""
    return int(_body(lcm).ledger_header.header.ledger_seq.uint32)


def ledger_close_time(lcm: xdr.LedgerCloseMeta) -> datetime:
    """The ledger's close time (UTC) from its header."""
    seconds = _body(lcm).ledger_header.header.scp_value.close_time.time_point.uint64
    return datetime.fromtimestamp(seconds, tz=UTC)


def events_from_ledger_close_meta(
    lcm: xdr.LedgerCloseMeta,
    contract_ids: frozenset[str] | None,
    *,
    include_failed: bool = False,
) -> list[RawEvent]:
    """Every ``CONTRACT`` event of a ledger (v0/v1/v2), in apply order.

    ``tx_index`` is the 1-based position in ``tx_processing`` (apply order, the TOID's index);
    ``tx_hash`` is ``result.transaction_hash`` (the outer hash for a fee bump, as RPC reports it).
    """
    body = _body(lcm)
    header = body.ledger_header.header
    ledger = int(header.ledger_seq.uint32)
    closed_at = datetime.fromtimestamp(header.scp_value.close_time.time_point.uint64, tz=UTC)
    wanted = _raw_contract_ids(contract_ids)
    out: list[RawEvent] = []
    for position, processing in enumerate(_tx_processing(body), start=1):
        successful = processing.result.result.result.code in _SUCCESS_CODES
        if not successful and not include_failed:
            continue
        per_op = operation_events(processing.tx_apply_processing)
        if not per_op:
            continue
        out.extend(
            _events(
                per_op,
                ledger=ledger,
                closed_at=closed_at,
                tx_hash=processing.result.transaction_hash.hash.hex(),
                tx_index=position,
                wanted=wanted,
                successful=successful,
            )
        )
    return out
