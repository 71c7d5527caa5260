"""Stream state as a pure function of its events in chain order.

:func:`project` folds a stream's events, sorted by ``(ledger, tx_index, op_index, event_index)``,
into the values of one ``streams`` row. It never looks at arrival order, so a backfill that
lands after live events, a replay or a shuffle all give the same row. The row is the fold's
whole state: events that come after all of a row's events can be folded on from it (``state``).
Without a creation event there is no stream yet (``None``): the row appears once its
``create_v2``/V1 ``create`` is stored.

What events cannot prove is left alone: V1 ``withdraw`` and ``cancel`` emit no event, so V1
withdrawn amounts and cancellations are not known here (they need the contract's ``get_stream``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stellarstream.chain import events as ev
from stellarstream.chain.math import unlocked


@dataclass(frozen=True, slots=True)
class Located:
    """A decoded event with where it happened on chain."""

    event: ev.DomainEvent
    ledger: int
    tx_index: int
    op_index: int
    event_index: int
    tx_hash: str

    @property
    def order_key(self) -> tuple[int, int, int, int]:
        return (self.ledger, self.tx_index, self.op_index, self.event_index)


def project(
    contract_id: str,
    stream_id: int,
    located: list[Located],
    state: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The ``streams`` row for one stream, or ``None`` if its creation is not stored (yet).

    ``state``: the row projected from the stream's earlier events, when every event in
    ``located`` comes after all of them: folding on from it gives the same row as projecting
    all the events (the row is the whole state of the fold). The caller checks the order.
    """
    row: dict[str, Any] | None = None if state is None else dict(state)
    # tx_hash only breaks ties that a real chain never has (same ledger and tx index).
    for item in sorted(located, key=lambda loc: (*loc.order_key, loc.tx_hash)):
        event = item.event
        if row is None:
            row = _created(contract_id, stream_id, item)
            continue
        _apply(row, event)
        row["updated_ledger"] = item.ledger
    return row


def _created(contract_id: str, stream_id: int, item: Located) -> dict[str, Any] | None:
    event = item.event
    base = {
        "contract_id": contract_id,
        "stream_id": stream_id,
        "withdrawn_amount": 0,
        "curve_type": 0,  # create_v2 does not carry the curve; StellarStream's default is linear
        "cancelled": False,
        "cancelled_at": None,
        "cancel_to_receiver": None,
        "cancel_to_sender": None,
        "archived": False,
        "archived_at": None,
        "paused": False,
        "paused_at": None,
        "yield_enabled": False,
        "vault_address": None,
        "created_ledger": item.ledger,
        "created_tx": item.tx_hash,
        "updated_ledger": item.ledger,
    }
    if isinstance(event, ev.StreamCreated):
        return {
            **base,
            "version": 2,
            "sender": event.sender,
            "receiver": event.receiver,
            "beneficiary": event.receiver,
            "token": event.token,
            "total_amount": event.amount,
            "start_time": event.start_time,
            "cliff_time": event.cliff_time,
            "end_time": event.end_time,
            "memo": event.memo,
            "created_at": event.timestamp,
        }
    if isinstance(event, ev.V1StreamCreated):
        return {
            **base,
            "version": 1,
            "sender": event.sender,
            "receiver": event.receiver,
            "beneficiary": event.receiver,
            "token": event.token,
            "total_amount": event.total_amount,
            "start_time": event.start_time,
            "cliff_time": event.start_time,
            "end_time": event.end_time,
            "memo": None,
            "created_at": event.timestamp,
        }
    return None  # an event before the stream's creation is known: wait for the creation


def _apply(row: dict[str, Any], event: ev.DomainEvent) -> None:
    match event:
        case ev.Withdrawn():
            row["withdrawn_amount"] = event.withdrawn_total
        case ev.MetaWithdrawn():
            row["withdrawn_amount"] += event.gross
        case ev.Canceled():
            # The cancel paid out everything: the receiver keeps what had unlocked by then.
            row["withdrawn_amount"] = unlocked(
                row["total_amount"],
                row["start_time"],
                row["cliff_time"],
                row["end_time"],
                event.timestamp,
                curve_type=row["curve_type"],
            )
            row.update(
                cancelled=True,
                cancelled_at=event.timestamp,
                cancel_to_receiver=event.to_receiver,
                cancel_to_sender=event.to_sender,
            )
        case ev.Archived():
            row.update(
                archived=True,
                archived_at=event.timestamp,
                total_amount=event.total,
                withdrawn_amount=event.withdrawn,
            )
        case ev.BeneficiaryTransferred():
            row["beneficiary"] = event.new
        case ev.ToppedUp():
            row.update(total_amount=event.new_total, end_time=event.new_end)
        case ev.Refilled():
            # A refill starts a new period from the old end: its amount, withdrawn back to 0.
            row.update(
                total_amount=event.amount,
                start_time=event.new_start,
                cliff_time=event.new_start,
                end_time=event.new_end,
                withdrawn_amount=0,
            )
        case ev.RateAccepted():
            row["end_time"] = event.new_end
        case ev.V1ToppedUp():
            row.update(total_amount=event.new_total, end_time=event.new_end_time)
        case ev.V1Paused():
            row.update(paused=True, paused_at=event.timestamp)
        case ev.V1Resumed():
            row.update(paused=False, paused_at=None)
        case _:
            pass  # informational for the stream (split_exec, bridge_in, dust, split, migrated)
