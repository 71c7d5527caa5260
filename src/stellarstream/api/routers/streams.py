"""Streams: thin HTTP translation over :class:`StreamService`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from stellarstream.api.deps import Context
from stellarstream.api.schemas.streams import (
    ContractSyncOut,
    SearchHit,
    SearchResults,
    StatsOut,
    StreamEventList,
    StreamEventOut,
    StreamHistory,
    StreamList,
    StreamOut,
    SyncStatusOut,
    TokenStatsOut,
    YieldOut,
    YieldProjectionOut,
)
from stellarstream.chain.addresses import require_address
from stellarstream.db.models import ContractEvent, Stream
from stellarstream.pagination import decode_cursor, encode_cursor
from stellarstream.streams import yields
from stellarstream.streams.ids import public_id
from stellarstream.streams.service import Direction, Sort, StreamFilters, StreamService
from stellarstream.streams.view import StreamStatus, amounts_of, status_of

router = APIRouter(prefix="/api/v1", tags=["streams"])
AVERAGE_LEDGER_SECONDS = 5


def get_stream_service(context: Context) -> StreamService:
    return StreamService(
        context.sessions, context.clock, context.settings.contract_ids, context.stats_cache
    )


Streams = Annotated[StreamService, Depends(get_stream_service)]


def get_session(context: Context) -> Iterator[Session]:
    with context.read_sessions() as session:  # every route here only reads
        yield session


# scope="function": the session (and its pooled connection) is released when the handler
# returns, not after the response is sent, so keep-alive clients do not hold two at once.
DB = Annotated[Session, Depends(get_session, scope="function")]


def stream_out(
    stream: Stream, now: int, paused: frozenset[str], slugs: dict[int, str]
) -> StreamOut:
    amounts = amounts_of(stream, now)
    return StreamOut(
        id=public_id(stream.contract_id, stream.stream_id),
        contract=stream.contract_id,
        stream_id=stream.stream_id,
        version=stream.version,
        sender=stream.sender,
        receiver=stream.receiver,
        beneficiary=stream.beneficiary,
        token=stream.token,
        total_amount=stream.total_amount,
        withdrawn_amount=stream.withdrawn_amount,
        start_time=stream.start_time,
        cliff_time=stream.cliff_time,
        end_time=stream.end_time,
        status=status_of(stream, now, paused),
        streamed_amount=amounts.streamed,
        withdrawable_amount=amounts.withdrawable,
        refundable_amount=amounts.refundable,
        canceled_at=stream.cancelled_at,
        cancel_to_receiver=stream.cancel_to_receiver,
        cancel_to_sender=stream.cancel_to_sender,
        archived_at=stream.archived_at,
        yield_enabled=stream.yield_enabled,
        memo=stream.memo,
        invoice_slug=slugs.get(stream.id),
        created_ledger=stream.created_ledger,
        created_tx=stream.created_tx,
        created_at=stream.created_at,
        updated_ledger=stream.updated_ledger,
        as_of=now,
    )


def streams_out(service: StreamService, session: Session, streams: list[Stream]) -> list[StreamOut]:
    now = service.now()
    # status_of only asks about these streams' contracts: look up their pause state alone.
    paused = service.paused_contracts(session, {s.contract_id for s in streams})
    slugs = service.invoice_slugs(session, streams)
    return [stream_out(s, now, paused, slugs) for s in streams]


def event_out(event: ContractEvent) -> StreamEventOut:
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


def _address(value: str | None, field: str, kinds: str = "GC") -> str | None:
    return None if value is None else require_address(value, field, kinds=kinds)


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (max 200)")]
Cursor = Annotated[str | None, Query(max_length=512, description="nextCursor of the last page")]


@router.get("/streams", response_model=StreamList)
def list_streams(
    service: Streams,
    session: DB,
    sender: str | None = None,
    receiver: str | None = None,
    address: str | None = Query(default=None, description="Sender or receiver (see direction)"),
    direction: Direction = Direction.BOTH,
    status: StreamStatus | None = None,
    token: str | None = None,
    contract: str | None = None,
    sort: Sort = Sort.CREATED_DESC,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> StreamList:
    """Streams, filtered and keyset-paginated."""
    filters = StreamFilters(
        sender=_address(sender, "sender"),
        receiver=_address(receiver, "receiver"),
        address=_address(address, "address"),
        direction=direction,
        status=status,
        token=_address(token, "token", "C"),
        contract=_address(contract, "contract", "C"),
    )
    page = service.list_streams(session, filters, sort=sort, limit=limit, cursor=cursor)
    return StreamList(data=streams_out(service, session, page.items), next_cursor=page.next_cursor)


@router.get("/streams/export.csv", response_class=StreamingResponse)
def export_csv(
    context: Context,
    service: Streams,
    address: str = Query(description="G... or C... address: its streams, sent and received"),
) -> StreamingResponse:
    """Accounting export: one row per event of the address's streams."""
    require_address(address, "address", kinds="GC")
    settings = context.settings

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                "stream",
                "direction",
                "event",
                "ledger",
                "time",
                "tx_hash",
                "token",
                "field",
                "amount_base_units",
                "amount_token_units",
            ]
        )
        with context.sessions() as session:
            for stream, event in service.export_rows(session, address):
                direction = "out" if stream.sender == address else "in"
                decimals = settings.decimals_of(stream.token)
                amounts: list[tuple[str, int | None]] = [*_amount_fields(event.decoded)]
                amounts = amounts or [("", None)]
                for field, value in amounts:
                    units = "" if value is None else _token_units(value, decimals)
                    writer.writerow(
                        [
                            public_id(stream.contract_id, stream.stream_id),
                            direction,
                            event.event_type,
                            event.ledger,
                            event.ledger_closed_at.isoformat(),
                            event.tx_hash,
                            stream.token,
                            field,
                            "" if value is None else value,
                            units,
                        ]
                    )
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"stellarstream-{address[:8]}.csv"
    return StreamingResponse(
        rows(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


_AMOUNT_FIELDS = (
    "amount",
    "withdrawn_total",
    "to_receiver",
    "to_sender",
    "relayer_fee",
    "extra",
    "new_total",
    "total",
    "withdrawn",
    "total_amount",
    "gross",
    "remaining",
)


def _amount_fields(decoded: dict[str, object]) -> list[tuple[str, int]]:
    return [(f, int(str(decoded[f]))) for f in _AMOUNT_FIELDS if decoded.get(f) is not None]


def _token_units(value: int, decimals: int) -> str:
    """Base units as a fixed-point decimal string (exact for any i128: integer arithmetic)."""
    whole, fraction = divmod(abs(value), 10**decimals)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{fraction:0{decimals}d}" if decimals else f"{sign}{whole}"


@router.get("/streams/{stream_id}", response_model=StreamOut)
def get_stream(stream_id: str, service: Streams, session: DB) -> StreamOut:
    """One stream, with amounts computed now."""
    return streams_out(service, session, [service.get(session, stream_id)])[0]


@router.get("/streams/{stream_id}/events", response_model=StreamEventList)
def stream_events(
    stream_id: str, service: Streams, session: DB, limit: Limit = 100, cursor: Cursor = None
) -> StreamEventList:
    """The stream's contract events in chain order."""
    stream = service.get(session, stream_id)
    page = service.events(session, stream, limit=limit, cursor=cursor)
    return StreamEventList(data=[event_out(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/streams/{stream_id}/history", response_model=StreamHistory)
def stream_history(stream_id: str, service: Streams, session: DB) -> StreamHistory:
    """The stream and all its events (one call for a timeline)."""
    stream = service.get(session, stream_id)
    events: list[StreamEventOut] = []
    cursor = None
    while True:
        page = service.events(session, stream, limit=200, cursor=cursor)
        events += [event_out(e) for e in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return StreamHistory(stream=streams_out(service, session, [stream])[0], events=events)


def _yield_fields(
    context: Context, stream: Stream, estimate: yields.YieldEstimate, now: int
) -> dict[str, object]:
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


@router.get("/streams/{stream_id}/yield", response_model=YieldOut)
def stream_yield(stream_id: str, context: Context, service: Streams, session: DB) -> YieldOut:
    """Yield estimate for a yield-enabled stream (zeros and yieldEnabled=false otherwise)."""
    stream = service.get(session, stream_id)
    now = service.now()
    estimate = yields.estimate(context.settings, stream, now)
    return YieldOut.model_validate(_yield_fields(context, stream, estimate, now))


@router.get("/streams/{stream_id}/yield/projection", response_model=YieldProjectionOut)
def stream_yield_projection(
    stream_id: str,
    context: Context,
    service: Streams,
    session: DB,
    days: int = Query(ge=1, le=3650, description="Horizon in days"),
) -> YieldProjectionOut:
    """Projected yield over the next ``days`` days (an estimate)."""
    stream = service.get(session, stream_id)
    now = service.now()
    estimate, projected, total = yields.projection(context.settings, stream, now, days)
    return YieldProjectionOut.model_validate(
        {
            **_yield_fields(context, stream, estimate, now),
            "days": days,
            "projected_yield_estimate": projected,
            "projected_total_estimate": total,
        }
    )


@router.get("/stats", response_model=StatsOut)
def stats(service: Streams, session: DB) -> StatsOut:
    """Counts, value locked and volume per token, and indexer freshness, as of ``asOf``.

    Counts and amounts may be served from this worker's cache for up to
    ``STATS_MAX_AGE_SECONDS`` while no event was stored; ``asOf`` is always when they were
    computed. The ledgers and lag are read on every request.
    """
    s = service.stats(session)
    lag = None
    if s.latest_ledger is not None and s.network_latest_ledger is not None:
        lag = max(0, s.network_latest_ledger - s.latest_ledger)
    return StatsOut(
        total=s.total,
        active=s.active,
        completed=s.completed,
        canceled=s.canceled,
        paused=s.paused,
        archived=s.archived,
        unique_senders=s.unique_senders,
        unique_receivers=s.unique_receivers,
        tokens=[
            TokenStatsOut(
                token=t.token,
                streams=t.streams,
                value_locked=t.value_locked,
                total_volume=t.total_volume,
            )
            for t in s.tokens
        ],
        indexer_latest_ledger=s.latest_ledger,
        network_latest_ledger=s.network_latest_ledger,
        lag_ledgers=lag,
        as_of=s.as_of,
    )


@router.get("/search", response_model=SearchResults)
def search(
    service: Streams,
    session: DB,
    q: str = Query(
        min_length=1,
        max_length=128,
        description="Stream id, tx hash, address or 5+ char prefix, token",
    ),
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchResults:
    """Find streams; results ranked by how they matched."""
    offset = decode_cursor(cursor, (int,))[0] if cursor else 0
    if offset < 0:
        offset = 0
    hits, more = service.search(session, q, limit=limit, offset=offset)
    outs = streams_out(service, session, [s for _, s in hits])
    return SearchResults(
        data=[SearchHit(match=reason, stream=o) for (reason, _), o in zip(hits, outs, strict=True)],
        next_cursor=encode_cursor(offset + limit) if more else None,
    )


@router.get("/sync/status", response_model=SyncStatusOut)
def sync_status(service: Streams, session: DB) -> SyncStatusOut:
    """Per contract: last ingested ledger, the network's latest, and the lag."""
    contracts = []
    for s in service.sync_status(session):
        lag = None
        if s.last_ingested_ledger is not None and s.network_latest_ledger is not None:
            lag = max(0, s.network_latest_ledger - s.last_ingested_ledger)
        contracts.append(
            ContractSyncOut(
                contract=s.contract_id,
                last_ingested_ledger=s.last_ingested_ledger,
                network_latest_ledger=s.network_latest_ledger,
                lag_ledgers=lag,
                lag_seconds=None if lag is None else lag * AVERAGE_LEDGER_SECONDS,
                updated_at=s.updated_at,
                gaps=[[a, b] for a, b in s.gaps],
            )
        )
    return SyncStatusOut(contracts=contracts)
