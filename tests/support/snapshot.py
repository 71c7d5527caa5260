"""Compare whole databases: the stored events, the stream projection and invoice links."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import ContractEvent, InvoiceLink, Stream, SyncState


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
                        tuple(e.topic_xdr),
                        e.value_xdr,
                        repr(e.decoded),
                    )
                    for e in session.scalars(
                        select(ContractEvent).order_by(
                            ContractEvent.tx_hash, ContractEvent.event_index
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
