"""decode -> store -> project -> invoices -> checkpoint on both databases."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history
from tests.support.clock import FakeClock

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.db.models import (
    ContractEventRow,
    InvoiceLink,
    Stream,
    StreamParty,
    StreamTotal,
    SyncState,
)
from stellarstream.ingest import checkpoint
from stellarstream.ingest.record import ingest_batch
from stellarstream.invoices.service import InvoiceService, NewInvoice
from stellarstream.projection.fold import Located, project

C = ce.V2_CONTRACT
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ingest(
    sessions: sessionmaker[Session],
    events: list[RawEvent],
    *,
    size: int = 50,
    source: str = "rpc",
    fee_bps: int = 0,
) -> list[Any]:
    results = []
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        batch = Batch(
            chunk,
            covered_to=max(e.ledger for e in chunk),
            cursor=None,
            latest_ledger=10**6,
            source=source,
        )
        with sessions() as session, session.begin():
            results.append(
                ingest_batch(
                    session, batch, [C], now=NOW, fee_bps=fee_bps, checkpoint_source=source
                )
            )
    return results


def snapshot(
    sessions: sessionmaker[Session],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with sessions() as session:
        streams = [
            tuple(getattr(s, c.key) for c in Stream.__table__.columns if c.key != "id")
            for s in session.scalars(select(Stream).order_by(Stream.contract_id, Stream.stream_id))
        ]
        events = [
            (e.tx_hash, e.event_index, e.event_type, e.stream_id, e.ledger, e.decoded)
            for e in session.scalars(
                select(ContractEventRow).order_by(
                    ContractEventRow.tx_hash, ContractEventRow.event_index
                )
            )
        ]
    return streams, events


def test_every_event_is_stored_once_and_streams_projected(sessions: sessionmaker[Session]) -> None:
    events = stream_history(30)
    results = ingest(sessions, events)
    assert sum(r.new for r in results) == len(events)
    streams, stored = snapshot(sessions)
    assert len(stored) == len(events) and len(streams) == 30
    with sessions() as session:
        s7 = session.scalar(select(Stream).where(Stream.stream_id == 7))
        assert s7 is not None
        assert s7.total_amount == 2**64 + 7 and type(s7.total_amount) is int
        assert s7.cancelled and s7.cancel_to_sender == (2**64 + 7) // 2
        s0 = session.scalar(select(Stream).where(Stream.stream_id == 0))
        assert (
            s0 is not None
            and s0.total_amount == 2 * (2**64)
            and s0.withdrawn_amount == (2**64) // 5
        )
        assert session.scalar(select(func.count()).select_from(Stream).where(Stream.archived)) == 10


def test_reingesting_changes_nothing(sessions: sessionmaker[Session]) -> None:
    events = stream_history(20)
    ingest(sessions, events)
    before = snapshot(sessions)
    again = ingest(sessions, events, size=17)
    assert sum(r.new for r in again) == 0 and sum(r.duplicate for r in again) == len(events)
    assert snapshot(sessions) == before


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_arrival_gives_the_same_projection(
    database_url: str, sessions: sessionmaker[Session], seed: int
) -> None:
    events = stream_history(20)
    ingest(sessions, events)
    expected = snapshot(sessions)
    # A second, fresh database fed the same events in random order and batch sizes.
    with sessions() as session:
        for table in (Stream, StreamTotal, StreamParty, ContractEventRow, SyncState):
            session.query(table).delete()
        session.commit()
    shuffled = events[:]
    random.Random(seed).shuffle(shuffled)
    ingest(sessions, shuffled, size=random.Random(seed).randint(1, 40))
    assert snapshot(sessions) == expected


def test_unknown_events_are_kept_and_counted(sessions: sessionmaker[Session]) -> None:
    garbage = ce.raw_event(
        ["AAAAAw=="], "AAAAAQ==", contract_id=C, ledger=5, tx_hash=ce.tx_hash_for(999)
    )
    broken = ce.raw_event(
        ["!!notbase64"], "???", contract_id=C, ledger=5, tx_hash=ce.tx_hash_for(998)
    )
    result = ingest(sessions, [garbage, broken])[0]
    assert (result.new, result.undecoded) == (2, 2)
    with sessions() as session:
        kinds = [e.event_type for e in session.scalars(select(ContractEventRow))]
        assert kinds == ["unknown", "unknown"]
        stored = session.scalar(
            select(ContractEventRow).where(ContractEventRow.tx_hash == ce.tx_hash_for(998))
        )
        assert stored is not None and stored.value_xdr == "???" and "reason" in stored.decoded


def test_other_contracts_events_are_not_stored(sessions: sessionmaker[Session]) -> None:
    foreign = ce.raw_event(
        *ce.claim(1, ce.account(1), 1, 1, 1),
        contract_id=ce.contract(77),
        ledger=5,
        tx_hash=ce.tx_hash_for(5),
    )
    assert ingest(sessions, [foreign])[0].events == 0
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ContractEventRow)) == 0


def test_checkpoint_commits_with_the_batch_and_never_goes_back(
    sessions: sessionmaker[Session],
) -> None:
    events = stream_history(3)
    ingest(sessions, events)
    with sessions() as session:
        assert checkpoint.load(session, [C], "rpc") == checkpoint.Position(
            max(e.ledger for e in events), None
        )
        checkpoint.advance(session, [C], "rpc", 1, "c", NOW)
        session.commit()
        assert checkpoint.load(session, [C], "rpc").ledger == max(e.ledger for e in events)  # type: ignore[union-attr]


def test_failed_batch_leaves_nothing_behind(sessions: sessionmaker[Session]) -> None:
    events = stream_history(2)
    batch = Batch(events, covered_to=500, cursor="x", latest_ledger=600, source="rpc")
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        ingest_batch(session, batch, [C], now=NOW, checkpoint_source="rpc")
        raise RuntimeError("crash after the batch, before commit")
    assert snapshot(sessions) == ([], [])
    with sessions() as session:
        assert checkpoint.load(session, [C], "rpc") is None


# --- invoice completion -----------------------------------------------------------------------


def make_invoice(sessions: sessionmaker[Session], **overrides: Any) -> InvoiceLink:
    values: dict[str, Any] = {
        "receiver": ce.account(2),
        "amount": 10**20,
        "token_address": ce.TOKEN,
        "duration": 1000,
    }
    values.update(overrides)
    link = InvoiceService(sessions, FakeClock()).create(ce.account(1), NewInvoice(**values))
    assert isinstance(link, InvoiceLink)
    return link


def pay(
    slug: str,
    *,
    stream_id: int = 5,
    amount: int = 10**20,
    receiver: str | None = None,
    token: str = ce.TOKEN,
    duration: int = 1000,
    ledger: int = 50,
) -> RawEvent:
    encoded = ce.create_v2(
        stream_id,
        ce.account(9),
        receiver or ce.account(2),
        token,
        amount,
        100,
        100,
        100 + duration,
        95,
        slug,
    )
    return ce.raw_event(
        *encoded, contract_id=C, ledger=ledger, tx_hash=ce.tx_hash_for(stream_id + 500)
    )


def link_state(
    sessions: sessionmaker[Session], link: InvoiceLink
) -> tuple[str, int | None, str | None]:
    with sessions() as session:
        fresh = session.get(InvoiceLink, link.id)
        assert fresh is not None
        return fresh.status, fresh.stream_id, fresh.tx_hash


def test_matching_create_v2_completes_the_invoice(sessions: sessionmaker[Session]) -> None:
    link = make_invoice(sessions)
    assert ingest(sessions, [pay(link.slug)])[0].invoices_completed == 1
    assert link_state(sessions, link) == ("COMPLETED", 5, ce.tx_hash_for(505))
    with sessions() as session:
        fresh = session.get(InvoiceLink, link.id)
        assert fresh is not None and fresh.completed_at == NOW.replace(
            year=2026
        ) - NOW + ce.EPOCH + timedelta(seconds=250)


def test_signed_and_time_expired_invoices_complete_too(sessions: sessionmaker[Session]) -> None:
    link = make_invoice(sessions, expires_at=datetime.now(UTC) + timedelta(seconds=60))
    with sessions() as session:
        session.execute(
            InvoiceLink.__table__.update().values(
                status="SIGNED", expires_at=datetime.now(UTC) - timedelta(days=1)
            )
        )
        session.commit()
    ingest(sessions, [pay(link.slug)])
    assert link_state(sessions, link)[0] == "COMPLETED"


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 10**20 - 1},
        {"receiver": ce.account(3)},
        {"token": ce.contract(99)},
        {"duration": 999},
    ],
)
def test_mismatched_payment_leaves_the_invoice(
    sessions: sessionmaker[Session], change: dict[str, Any]
) -> None:
    link = make_invoice(sessions)
    ingest(sessions, [pay(link.slug, **change)])
    assert link_state(sessions, link) == ("DRAFT", None, None)


def test_protocol_fee_is_allowed_for(sessions: sessionmaker[Session]) -> None:
    link = make_invoice(sessions)
    ingest(sessions, [pay(link.slug, amount=10**20 - 10**20 * 25 // 10_000)], fee_bps=25)
    assert link_state(sessions, link)[0] == "COMPLETED"


def test_muxed_receiver_matches_its_account(sessions: sessionmaker[Session]) -> None:
    from stellar_sdk import MuxedAccount

    link = make_invoice(sessions, receiver=MuxedAccount(ce.account(2), 7).account_muxed)
    ingest(sessions, [pay(link.slug)])
    assert link_state(sessions, link)[0] == "COMPLETED"


def test_canceled_invoice_records_the_stream_but_stays_canceled(
    sessions: sessionmaker[Session],
) -> None:
    link = make_invoice(sessions)
    with sessions() as session:
        session.execute(InvoiceLink.__table__.update().values(status="CANCELED"))
        session.commit()
    ingest(sessions, [pay(link.slug)])
    assert link_state(sessions, link) == ("CANCELED", 5, ce.tx_hash_for(505))


def test_reingesting_and_a_second_payment_change_nothing(sessions: sessionmaker[Session]) -> None:
    link = make_invoice(sessions)
    ingest(sessions, [pay(link.slug)])
    first = link_state(sessions, link)
    assert ingest(sessions, [pay(link.slug)])[0].invoices_completed == 0
    assert ingest(sessions, [pay(link.slug, stream_id=6, ledger=60)])[0].invoices_completed == 0
    assert link_state(sessions, link) == first


def _arrivals(events: list[RawEvent], how: str) -> tuple[list[RawEvent], int]:
    """The events in the order they reach the indexer, and the batch size."""
    match how:
        case "in order, one by one" | "in order, by 2" | "in order, by 7":
            return events, {"one": 1, "2": 2, "7": 7}[how.rsplit(" ", 1)[-1]]
        case "newest half first":  # a backfill below streams' newest events
            half = len(events) // 2
            return events[half:] + events[:half], 5
        case _:
            shuffled = events[:]
            random.Random(7).shuffle(shuffled)
            return shuffled, 3


@pytest.mark.parametrize(
    "how",
    ["in order, one by one", "in order, by 2", "in order, by 7", "newest half first", "shuffled"],
)
def test_rows_equal_the_projection_of_all_events(sessions: sessionmaker[Session], how: str) -> None:
    # Batches fold rows on from their stored state when they can, or recompute them; whatever
    # the arrival, each row must equal project() of all the stream's events. stream_history
    # puts two claims in one ledger, so small batches also split a ledger between them.
    events = stream_history(9)
    arrivals, size = _arrivals(events, how)
    ingest(sessions, arrivals, size=size)
    expected: dict[int, dict[str, Any] | None] = {}
    for sid in range(9):
        located = [
            Located(decode(e), e.ledger, e.tx_index, e.op_index, e.event_index, e.tx_hash)
            for e in events
            if ev.stream_id_of(decode(e)) == sid
        ]
        expected[sid] = project(C, sid, located)
    with sessions() as session:
        table = Stream.__table__
        rows = {
            row["stream_id"]: {k: v for k, v in row.items() if k != "id"}
            for row in session.execute(select(table)).mappings()
        }
    assert rows == expected


def test_concurrent_writers_of_one_stream_leave_the_projection_of_all_its_events(
    sessions: sessionmaker[Session],
) -> None:
    """The live indexer stores a stream's newest event while a backfill stores an older one.

    The writer that comes second must project after the first commits. Otherwise it folds its
    event onto the row it read and, its write waiting on the first's, overwrites the newer row.
    """
    created, claim, _, last = stream_history(1)  # ledgers 101, 102, 102, 103
    ingest(sessions, [created])

    def batch(event: RawEvent) -> Batch:
        return Batch(
            [event], covered_to=event.ledger, cursor=None, latest_ledger=10**6, source="rpc"
        )

    live = sessions()
    live.begin()
    ingest_batch(live, batch(last), [C], now=NOW)  # not committed yet
    backfill_done = threading.Event()

    def backfill() -> None:
        with sessions() as session, session.begin():
            ingest_batch(session, batch(claim), [C], now=NOW)
        backfill_done.set()

    thread = threading.Thread(target=backfill)
    thread.start()
    assert not backfill_done.wait(0.5)  # it waits for the live indexer's transaction
    live.commit()
    live.close()
    thread.join(timeout=30)
    assert backfill_done.is_set()
    events = [created, claim, last]
    located = [
        Located(decode(e), e.ledger, e.tx_index, e.op_index, e.event_index, e.tx_hash)
        for e in events
    ]
    with sessions() as session:
        row = session.execute(select(Stream.__table__)).mappings().one()
    assert {k: v for k, v in row.items() if k != "id"} == project(C, 0, located)
    assert row["updated_ledger"] == 103  # the live indexer's event is in it
