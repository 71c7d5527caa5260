"""Invoice links and their payment on chain, for payer-side and webhook tests."""

from __future__ import annotations

from typing import Any

from stellarstream.chain.types import RawEvent
from stellarstream.clock import Clock
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from stellarstream.invoices.service import InvoiceService, NewInvoice
from tests.support import contract_events as ce
from tests.support.seed import ingest_events

CONTRACT = ce.V2_CONTRACT


def create_link(database_url: str, clock: Clock, issuer: str, **overrides: Any) -> InvoiceLink:
    """A DRAFT link issued by ``issuer`` (1,000 tokens of 7 decimals over 30 days by default)."""
    fields: dict[str, Any] = {
        "receiver": ce.account(2),
        "amount": 10_000_000_000,
        "token_address": ce.TOKEN,
        "duration": 30 * 86400,
        "description": "Design retainer, March",
    }
    fields.update(overrides)
    engine = make_engine(database_url)
    try:
        link = InvoiceService(make_sessionmaker(engine), clock).create(issuer, NewInvoice(**fields))
    finally:
        engine.dispose()
    assert isinstance(link, InvoiceLink)
    return link


def payment(
    link: InvoiceLink,
    *,
    stream_id: int = 7,
    tx: int = 77,
    ledger: int = 50,
    payer: str | None = None,
    start: int = 1_900_000_000,
) -> RawEvent:
    """The ``create_v2`` event of a ``create_stream`` paying ``link`` (memo = slug)."""
    encoded = ce.create_v2(
        stream_id,
        payer or ce.account(9),
        link.receiver,
        link.token_address,
        link.amount,
        start,
        start,
        start + link.duration,
        start - 60,
        link.slug,
    )
    return ce.raw_event(
        *encoded, contract_id=CONTRACT, ledger=ledger, tx_hash=ce.tx_hash_for(tx), event_index=1
    )


def withdrawal(stream_id: int, *, tx: int, ledger: int, amount: int = 1_000) -> RawEvent:
    encoded = ce.claim(stream_id, ce.account(2), amount, amount, 1_900_000_100)
    return ce.raw_event(*encoded, contract_id=CONTRACT, ledger=ledger, tx_hash=ce.tx_hash_for(tx))


def ingest(database_url: str, *events: RawEvent) -> None:
    """Through the real pipeline: store, project, complete invoices, queue webhooks."""
    ingest_events(database_url, list(events), [CONTRACT])
