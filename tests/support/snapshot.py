"""Compare whole databases: the stored events, the stream projection and invoice links."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import ContractEventRow, InvoiceLink, Stream, SyncState
from tests.support.contract_events import xdr_json


def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                "events": [
                    (
                        e.tx_hash,
                        e.event_index,
                        e.contract_id,
                        e.ledger,
                        e.tx_index,
                        e.op_index,
                        e.event_type,
                        e.stream_id,
                        raw_form(e),
                        repr(e.decoded),
                    )
                    for e in session.scalars(
                        select(ContractEventRow).order_by(
                            ContractEventRow.tx_hash, ContractEventRow.event_index
                        )
                    )
                ],
                "streams": [
                    tuple(getattr(s, c.key) for c in Stream.__table__.columns if c.key != "id")
                    for s in session.scalars(
                        select(Stream).order_by(Stream.contract_id, Stream.stream_id)
                    )
                ],
                "invoices": [
                    (i.slug, i.status, i.stream_id, i.tx_hash)
                    for i in session.scalars(select(InvoiceLink).order_by(InvoiceLink.slug))
                ],
            }
    finally:
        engine.dispose()


def raw_form(event: ContractEventRow) -> str:
    """The stored topics and value in XDR-JSON, whichever form the source delivered: a
    database filled over RPC (XDR-JSON) equals one filled from ledger meta (XDR)."""
    if event.raw_json is not None:
        assert event.topic_xdr is None and event.value_xdr is None
        raw = event.raw_json
    else:
        assert event.topic_xdr is not None and event.value_xdr is not None
        raw = {
            "topic": [xdr_json(t) for t in event.topic_xdr],
            "value": xdr_json(event.value_xdr),
        }
    return json.dumps(raw, sort_keys=True)


def checkpoint_ledgers(database_url: str, source: str = "rpc") -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return {
                s.contract_id: s.ledger
                for s in session.scalars(select(SyncState).where(SyncState.source == source))
            }
    finally:
        engine.dispose()
