"""Live updates as Server-Sent Events.

The API learns of new events from the database (rows after the last id it sent), not from
process memory, so every API worker, on every host, sees what the one indexer stored.
Reconnecting clients send ``Last-Event-ID`` and miss nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from stellarstream.api.deps import Context
from stellarstream.api.routers.streams import event_out, stream_service, streams_out
from stellarstream.chain.addresses import require_address
from stellarstream.db.models import ContractEvent, Stream
from stellarstream.streams.ids import parse_public_id
from stellarstream.streams.service import StreamService

router = APIRouter(prefix="/api/v1", tags=["live"])
HEARTBEAT_SECONDS = 15.0


def _poll(
    service: StreamService,
    context: Context,
    after: int,
    address: str | None,
    key: tuple[str, int] | None,
) -> tuple[list[str], int]:
    """New SSE messages after event row ``after``, and the new high-water mark."""
    with context.sessions() as session:
        stream = None
        if key is not None:
            stream = (
                session.query(Stream).filter_by(contract_id=key[0], stream_id=key[1]).one_or_none()
            )
            if stream is None:
                return [], after
        events: list[ContractEvent] = service.events_after(
            session, after, address=address, stream=stream
        )
        if not events:
            return [], after
        by_key = {
            (s.contract_id, s.stream_id): s
            for s in session.query(Stream).filter(
                Stream.stream_id.in_({e.stream_id for e in events})
            )
        }
        wanted = [by_key[k] for k in {(e.contract_id, e.stream_id) for e in events} if k in by_key]
        outs = {(o.contract, o.stream_id): o for o in streams_out(service, session, wanted)}
        messages = []
        for event in events:
            current = outs.get((event.contract_id, event.stream_id or 0))
            payload = {
                "event": event_out(event).model_dump(mode="json", by_alias=True),
                "stream": current.model_dump(mode="json", by_alias=True) if current else None,
            }
            messages.append(f"id: {event.id}\nevent: stream\ndata: {json.dumps(payload)}\n\n")
        return messages, events[-1].id


async def _events(
    request: Request,
    context: Context,
    after: int | None,
    address: str | None,
    key: tuple[str, int] | None,
) -> AsyncIterator[str]:
    service = stream_service(context)
    position: int
    if after is None:
        with context.sessions() as session:
            position = await run_in_threadpool(service.last_event_id, session)
    else:
        position = after
    yield f"retry: 3000\n: connected, after event {position}\n\n"
    idle = 0.0
    poll = context.settings.live_poll_seconds
    while not await request.is_disconnected():
        messages, position = await run_in_threadpool(
            _poll, service, context, position, address, key
        )
        for message in messages:
            yield message
        if messages:
            idle = 0.0
            continue
        await asyncio.sleep(poll)
        idle += poll
        if idle >= HEARTBEAT_SECONDS:
            idle = 0.0
            yield ": heartbeat\n\n"


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
    body = _events(request, context, _last_id(last_event_id), None, key)
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
    body = _events(request, context, _last_id(last_event_id), address, None)
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)
