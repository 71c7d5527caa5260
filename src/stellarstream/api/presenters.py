"""The stream read side's JSON: a stream, an event, a live message, the stats, a yield.

The hot reads (one stream, the lists, ``/stats``) send plain dicts already in their response
model's shape (:func:`stream_document`, :func:`stats_document`), with no model built and
validated again for data the database just gave; the other routes build their models here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from stellarstream.api.schemas.streams import StreamEventOut, StreamOut
from stellarstream.chain.source import ledgers_behind
from stellarstream.chain.stream_ids import public_id
from stellarstream.db.models import ContractEventRow, Stream
from stellarstream.streams import yields
from stellarstream.streams.service import StreamService
from stellarstream.streams.stats import Stats
from stellarstream.streams.view import amounts_of, status_of
from stellarstream.tokens.directory import TokenDirectory


def _amount(value: int | None) -> str | None:
    return None if value is None else str(value)


def stream_document(
    stream: Any,
    now: int,
    paused: frozenset[str],
    invoice_slug: str | None,
    token_info: dict[str, object],
) -> dict[str, Any]:
    """A stream's JSON exactly as :class:`StreamOut` serialises it, built straight from the
    row (an ORM ``Stream`` or a Core row of its columns)."""
    amounts = amounts_of(stream, now)
    return {
        "id": public_id(stream.contract_id, stream.stream_id),
        "contract": stream.contract_id,
        "streamId": stream.stream_id,
        "version": stream.version,
        "sender": stream.sender,
        "receiver": stream.receiver,
        "beneficiary": stream.beneficiary,
        "token": stream.token,
        "tokenInfo": token_info,
        "totalAmount": str(stream.total_amount),
        "withdrawnAmount": str(stream.withdrawn_amount),
        "startTime": stream.start_time,
        "cliffTime": stream.cliff_time,
        "endTime": stream.end_time,
        "status": status_of(stream, now, paused).value,
        "streamedAmount": str(amounts.streamed),
        "withdrawableAmount": str(amounts.withdrawable),
        "refundableAmount": str(amounts.refundable),
        "canceledAt": stream.cancelled_at,
        "cancelToReceiver": _amount(stream.cancel_to_receiver),
        "cancelToSender": _amount(stream.cancel_to_sender),
        "archivedAt": stream.archived_at,
        "yieldEnabled": stream.yield_enabled,
        "memo": stream.memo,
        "invoiceSlug": invoice_slug,
        "createdLedger": stream.created_ledger,
        "createdTx": stream.created_tx,
        "createdAt": stream.created_at,
        "updatedLedger": stream.updated_ledger,
        "asOf": now,
    }


def streams_out(
    service: StreamService, session: Session, streams: list[Stream], tokens: TokenDirectory
) -> list[StreamOut]:
    """The models of ORM streams (the routes off the hot path: search, history, live)."""
    now = service.now()
    # status_of only asks about these streams' contracts: look up their pause state alone.
    paused = service.paused_contracts(session, {s.contract_id for s in streams})
    slugs = service.invoice_slugs(session, streams)
    return [
        StreamOut.model_validate(
            stream_document(s, now, paused, slugs.get(s.id), tokens.document(s.token))
        )
        for s in streams
    ]


def event_out(event: ContractEventRow) -> StreamEventOut:
    """A stored contract event as the API shows it."""
    return StreamEventOut(
        type=event.event_type,
        ledger=event.ledger,
        ledger_closed_at=event.ledger_closed_at,
        tx_hash=event.tx_hash,
        tx_index=event.tx_index,
        op_index=event.op_index,
        event_index=event.event_index,
        decoded=event.decoded,
    )


def live_message(event: ContractEventRow, stream: StreamOut | None) -> dict[str, Any]:
    """A live update's JSON: the event and its stream as it is after the event."""
    return {
        "event": event_out(event).model_dump(mode="json", by_alias=True),
        "stream": stream.model_dump(mode="json", by_alias=True) if stream else None,
    }


def stats_document(s: Stats) -> dict[str, Any]:
    """The ``/stats`` JSON exactly as :class:`StatsOut` serialises it."""
    return {
        "total": s.total,
        "active": s.active,
        "completed": s.completed,
        "canceled": s.canceled,
        "paused": s.paused,
        "archived": s.archived,
        "uniqueSenders": s.unique_senders,
        "uniqueReceivers": s.unique_receivers,
        "tokens": [
            {
                "token": t.token,
                "streams": t.streams,
                "valueLocked": str(t.value_locked),
                "totalVolume": str(t.total_volume),
            }
            for t in s.tokens
        ],
        "indexerLatestLedger": s.latest_ledger,
        "networkLatestLedger": s.network_latest_ledger,
        "lagLedgers": ledgers_behind(s.latest_ledger, s.network_latest_ledger),
        "asOf": s.as_of,
    }


def yield_fields(stream: Stream, estimate: yields.YieldEstimate, now: int) -> dict[str, object]:
    """The fields of :class:`YieldOut` for a stream's yield estimate."""
    return {
        "stream": public_id(stream.contract_id, stream.stream_id),
        "yield_enabled": estimate.enabled,
        "vault": estimate.vault,
        "apy_bps": estimate.apy_bps,
        "rate_source": estimate.rate_source,
        "principal_locked": estimate.principal_locked,
        "accrued_estimate": estimate.accrued,
        "recipient": estimate.recipient,
        "as_of": now,
    }
