"""Live updates as Server-Sent Events.

The API learns of new events from the database (rows after the last id it sent), not from the
indexer's memory, so every API worker, on every host, sees what the one indexer stored. Each
worker reads them once for all its open streams (``streams.feed.ChangeFeed``); a client that
reconnects with ``Last-Event-ID`` catches up from the database first and misses nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from stellarstream.api.deps import AppContext, Context, stream_service
from stellarstream.api.presenters import live_message, streams_out
from stellarstream.chain.addresses import require_address
from stellarstream.chain.stream_ids import parse_public_id
from stellarstream.db.models import Stream
from stellarstream.streams.feed import ChangeFeed, Message, Subscriber, listen_url, message_frame

router = APIRouter(prefix="/api/v1", tags=["live"])
HEARTBEAT_SECONDS = 15.0


def fetch(context: AppContext, after: int) -> tuple[list[Message], int]:
    """Messages for the stream events stored after row ``after`` (a page), the new position."""
    service = stream_service(context)
    with context.read_sessions() as session:
        events = service.events_after(session, after)
        if not events:
            return [], after
        keys = {(e.contract_id, e.stream_id or 0) for e in events}
        found = session.query(Stream).filter(Stream.stream_id.in_({k[1] for k in keys}))
        by_key = {(s.contract_id, s.stream_id): s for s in found}
        wanted = [by_key[k] for k in keys if k in by_key]
        outs = {
            (o.contract, o.stream_id): o
            for o in streams_out(service, session, wanted, context.tokens)
        }
        messages = []
        for event in events:
            key = (event.contract_id, event.stream_id or 0)
            current, row = outs.get(key), by_key.get(key)
            payload = live_message(event, current)
            parties = frozenset((row.sender, row.receiver)) if row else frozenset()
            messages.append(Message(event.id, key, parties, message_frame(event.id, payload)))
        return messages, events[-1].id


def make_feed(context: AppContext) -> ChangeFeed:
    """This process's change feed (started by the app's lifespan)."""
    service = stream_service(context)

    def last_id() -> int:
        with context.read_sessions() as session:
            return service.last_event_id(session)

    return ChangeFeed(
        lambda after: fetch(context, after),
        last_id,
        context.settings.live_poll_seconds,
        listen_url(context.settings.resolved_database_url),
    )


async def _events(
    request: Request, context: AppContext, after: int | None, subscriber: Subscriber
) -> AsyncIterator[bytes]:
    feed: ChangeFeed = request.app.state.feed
    try:
        # Joined first, then caught up to where the feed was: nothing falls between the two.
        joined_at = feed.position
        position = joined_at if after is None else after
        yield f"retry: 3000\n: connected, after event {position}\n\n".encode()
        while position < joined_at:
            messages, reached = await run_in_threadpool(fetch, context, position)
            for message in messages:
                if message.id <= joined_at and subscriber.wants(message):
                    yield message.frame
            if reached == position:
                break
            position = reached
        position = max(position, joined_at)
        while not await request.is_disconnected():
            try:
                fresh = await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if fresh is None:  # fell too far behind: reconnect and resume from the database
                return
            if fresh.id > position:
                position = fresh.id
                yield fresh.frame
    finally:
        feed.unsubscribe(subscriber)


def _last_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/streams/{stream_id}/live", response_class=StreamingResponse)
async def stream_live(
    stream_id: str,
    request: Request,
    context: Context,
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """SSE: this stream's new events, each with the stream as it is after the event."""
    key = parse_public_id(stream_id, context.settings.contract_ids)
    subscriber = request.app.state.feed.subscribe(None, key)
    body = _events(request, context, _last_id(last_event_id), subscriber)
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get("/live", response_class=StreamingResponse)
async def address_live(
    request: Request,
    context: Context,
    address: str | None = Query(
        default=None, description="Only streams this address sends or receives"
    ),
    last_event_id: str | None = Header(default=None),
) -> StreamingResponse:
    """SSE: new stream events (all, or one address's)."""
    if address is not None:
        require_address(address, "address", kinds="GC")
    subscriber = request.app.state.feed.subscribe(address, None)
    body = _events(request, context, _last_id(last_event_id), subscriber)
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)
