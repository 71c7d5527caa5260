"""Streams: thin HTTP translation over :class:`StreamService` (JSON built in ``api.presenters``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from stellarstream.api.deps import AppContext, Context, Streams, stream_service
from stellarstream.api.presenters import (
    event_out,
    stats_document,
    stream_document,
    streams_out,
    yield_fields,
)
from stellarstream.api.routing import DirectRoute
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
    YieldOut,
    YieldProjectionOut,
)
from stellarstream.chain.addresses import require_address
from stellarstream.chain.source import ledgers_behind
from stellarstream.chain.stream_ids import parse_public_id
from stellarstream.db.hot import CompiledRead
from stellarstream.errors import NotFound
from stellarstream.pagination import decode_cursor, encode_cursor
from stellarstream.streams import export, yields
from stellarstream.streams.queries import ONE_STREAM, Direction, Sort, StreamFilters
from stellarstream.streams.service import StreamService
from stellarstream.streams.view import StreamStatus

router = APIRouter(prefix="/api/v1", tags=["streams"])
AVERAGE_LEDGER_SECONDS = 5


def get_session(context: Context) -> Iterator[Session]:
    with context.read_sessions() as session:  # every route here only reads
        yield session


# scope="function": the session (and its pooled connection) is released when the handler
# returns, not after the response is sent, so keep-alive clients do not hold two at once.
DB = Annotated[Session, Depends(get_session, scope="function")]


T = TypeVar("T")
_ONE_STREAM_PG = CompiledRead.of(ONE_STREAM)


def _hot(request: Request) -> tuple[AppContext, StreamService]:
    """The context and service of the hot reads, taken as is rather than through dependency
    injection (solving it was a tenth of a ``/streams/{id}``)."""
    context: AppContext = request.app.state.context
    return context, stream_service(context)


async def read(context: AppContext, work: Callable[[Connection], T]) -> T:
    """``work`` on a pooled read connection, in one trip to the thread pool."""

    def run() -> T:
        with context.read_engine.connect() as conn:
            return work(conn)

    return await run_in_threadpool(run)


def json_response(content: Any) -> Response:
    """JSON the hot reads built themselves (already in the response model's shape)."""
    return Response(orjson.dumps(content), media_type="application/json")


def _address(value: str | None, field: str, kinds: str = "GC") -> str | None:
    return None if value is None else require_address(value, field, kinds=kinds)


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (max 200)")]
Cursor = Annotated[str | None, Query(max_length=512, description="nextCursor of the last page")]


@router.get("/streams", response_model=StreamList)
async def list_streams(
    request: Request,
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
) -> Response:
    """Streams, filtered and keyset-paginated."""
    context, service = _hot(request)
    filters = StreamFilters(
        sender=_address(sender, "sender"),
        receiver=_address(receiver, "receiver"),
        address=_address(address, "address"),
        direction=direction,
        status=status,
        token=_address(token, "token", "C"),
        contract=_address(contract, "contract", "C"),
    )

    def work(conn: Connection) -> dict[str, Any]:
        page = service.list_streams(conn, filters, sort=sort, limit=limit, cursor=cursor)
        version = page.items[0].data_version if page.items else 0
        paused = service.paused_at(conn, version) if page.items else frozenset()
        slugs = service.invoice_slugs(conn, page.items)  # a query only if a row has a memo
        now, tokens = service.now(), context.tokens
        return {
            "data": [
                stream_document(r, now, paused, slugs.get(r.id), tokens.document(r.token))
                for r in page.items
            ],
            "nextCursor": page.next_cursor,
        }

    return json_response(await read(context, work))


@router.get("/streams/export.csv", response_class=StreamingResponse)
def export_csv(
    context: Context,
    address: str = Query(description="G... or C... address: its streams, sent and received"),
) -> StreamingResponse:
    """Accounting export: one row per event of the address's streams."""
    require_address(address, "address", kinds="GC")
    filename = f"stellarstream-{address[:8]}.csv"
    return StreamingResponse(
        export.csv_chunks(context.sessions, address, context.tokens),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def get_stream(stream_id: str, request: Request) -> Response:
    """One stream, with amounts computed now."""
    context, service = _hot(request)
    if context.hot is None:  # SQLite

        def work(conn: Connection) -> dict[str, Any]:
            row = service.stream_row(conn, stream_id)  # one statement: row, slug and version
            paused = service.paused_at(conn, row.data_version)
            token = context.tokens.document(row.token)
            return stream_document(row, service.now(), paused, row.invoice_slug, token)

        return json_response(await read(context, work))
    contract_id, number = parse_public_id(stream_id, context.settings.contract_ids)
    row = await context.hot.first(_ONE_STREAM_PG, contract_id=contract_id, stream_id=number)
    if row is None:
        raise NotFound(f"no stream {stream_id!r}")
    paused = context.pause_cache.peek(row.data_version)
    if paused is None:  # a new data version (or a stale one): look it up, off the event loop
        paused = await read(context, lambda conn: service.paused_at(conn, row.data_version))
    token = context.tokens.document(row.token)
    return json_response(stream_document(row, service.now(), paused, row.invoice_slug, token))


router.add_api_route(  # the hottest read: called without dependency solving (api/routing.py)
    "/streams/{stream_id}",
    get_stream,
    methods=["GET"],
    response_model=StreamOut,
    route_class_override=DirectRoute,
)


@router.get("/streams/{stream_id}/events", response_model=StreamEventList)
def stream_events(
    stream_id: str, service: Streams, session: DB, limit: Limit = 100, cursor: Cursor = None
) -> StreamEventList:
    """The stream's contract events in chain order."""
    stream = service.get(session, stream_id)
    page = service.events(session, stream, limit=limit, cursor=cursor)
    return StreamEventList(data=[event_out(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/streams/{stream_id}/history", response_model=StreamHistory)
def stream_history(
    stream_id: str, service: Streams, session: DB, context: Context
) -> StreamHistory:
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
    return StreamHistory(
        stream=streams_out(service, session, [stream], context.tokens)[0], events=events
    )


@router.get("/streams/{stream_id}/yield", response_model=YieldOut)
def stream_yield(stream_id: str, context: Context, service: Streams, session: DB) -> YieldOut:
    """Yield estimate for a yield-enabled stream (zeros and yieldEnabled=false otherwise)."""
    stream = service.get(session, stream_id)
    now = service.now()
    estimate = yields.estimate(context.settings, stream, now)
    return YieldOut.model_validate(yield_fields(stream, estimate, now))


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
            **yield_fields(stream, estimate, now),
            "days": days,
            "projected_yield_estimate": projected,
            "projected_total_estimate": total,
        }
    )


@router.get("/stats", response_model=StatsOut)
async def stats(request: Request) -> Response:
    """Counts, value locked and volume per token, and indexer freshness, as of ``asOf``.

    Counts and amounts may be served from this worker's cache for up to
    ``STATS_MAX_AGE_SECONDS`` while no event was stored; ``asOf`` is always when they were
    computed. The ledgers and lag are read on every request.
    """
    context, service = _hot(request)

    def work(conn: Connection) -> dict[str, Any]:
        with Session(bind=conn) as session:
            return stats_document(service.stats(session))

    return json_response(await read(context, work))


@router.get("/search", response_model=SearchResults)
def search(
    service: Streams,
    session: DB,
    context: Context,
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
    outs = streams_out(service, session, [s for _, s in hits], context.tokens)
    return SearchResults(
        data=[SearchHit(match=reason, stream=o) for (reason, _), o in zip(hits, outs, strict=True)],
        next_cursor=encode_cursor(offset + limit) if more else None,
    )


@router.get("/sync/status", response_model=SyncStatusOut)
def sync_status(service: Streams, session: DB) -> SyncStatusOut:
    """Per contract: last ingested ledger, the network's latest, and the lag."""
    contracts = []
    for s in service.sync_status(session):
        lag = ledgers_behind(s.last_ingested_ledger, s.network_latest_ledger)
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
