"""BulkStatement and BulkUpdate: rows through the driver's executemany, converted as the ORM
would convert them."""

from __future__ import annotations

import typing

from sqlalchemy import Table, select
from sqlalchemy.sql.dml import Insert

from stellarstream.db.bulk import BulkStatement, InsertConstructor
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import Stream
from stellarstream.projection.reads import stream_rows
from stellarstream.projection.rows import (
    FIXED_AT_CREATION,
    UPDATE_STREAMS,
    UPSERT_STREAMS,
    write_streams,
)

STREAMS = typing.cast(Table, Stream.__table__)
BIG = 2**127 - 1  # i128 max: far above what a 64-bit integer column could hold


def row(stream_id: int, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "contract_id": "C" + "A" * 55,
        "stream_id": stream_id,
        "version": 2,
        "sender": "G" + "S" * 55,
        "receiver": "G" + "R" * 55,
        "beneficiary": "G" + "R" * 55,
        "token": "C" + "T" * 55,
        "total_amount": BIG,
        "withdrawn_amount": 2**64 + 1,
        "start_time": 10,
        "cliff_time": 10,
        "end_time": 20,
        "curve_type": 0,
        "cancelled": False,
        "cancelled_at": None,
        "cancel_to_receiver": None,
        "cancel_to_sender": None,
        "archived": False,
        "archived_at": None,
        "paused": False,
        "paused_at": None,
        "memo": "inv-1",
        "yield_enabled": False,
        "vault_address": None,
        "created_ledger": 5,
        "created_tx": "ab" * 32,
        "created_at": 10,
        "updated_ledger": 5,
    }
    return base | changes


def test_amounts_are_converted_and_the_upsert_keeps_creation_columns(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session, session.begin():
            UPSERT_STREAMS.execute(session, [row(1), row(2, total_amount=7)])
        later = row(
            1,
            withdrawn_amount=BIG - 1,
            cancelled=True,
            cancel_to_sender=2**100,
            updated_ledger=9,
            sender="G" + "X" * 55,  # a creation column: an upsert never rewrites it
            memo="changed",
        )
        with sessions() as session, session.begin():
            UPSERT_STREAMS.execute(session, [later])
        with sessions() as session:
            stored = {r.stream_id: r for r in session.scalars(select(Stream))}
    finally:
        engine.dispose()
    assert stored[2].total_amount == 7 and stored[2].withdrawn_amount == 2**64 + 1
    first = stored[1]
    assert (first.total_amount, first.withdrawn_amount) == (BIG, BIG - 1)
    assert first.cancelled is True and first.cancel_to_sender == 2**100
    assert first.updated_ledger == 9
    assert first.sender == "G" + "S" * 55 and first.memo == "inv-1"
    assert {"sender", "memo", "created_ledger"} <= FIXED_AT_CREATION


def test_raw_columns_are_sent_as_given(database_url: str) -> None:
    def build(insert: InsertConstructor) -> Insert:
        return insert(STREAMS)

    columns = [c.name for c in STREAMS.c if c.name != "id"]
    sqlite_text = database_url.startswith("sqlite")
    # Given as the database stores it (SQLite's amount text): not converted a second time.
    prepared = "P" + str(5).zfill(39) if sqlite_text else 5
    bulk = BulkStatement(build, columns, raw=["total_amount"], keys={"memo": "note"})
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        values = row(3, total_amount=prepared)
        values["note"] = values.pop("memo")
        with sessions() as session, session.begin():
            bulk.execute(session, [values])
            bulk.execute(session, [])  # nothing to send: no statement
        with sessions() as session:
            stored = session.scalars(select(Stream)).one()
    finally:
        engine.dispose()
    assert stored.total_amount == 5 and stored.memo == "inv-1"


def test_bulk_update_sets_only_the_given_columns_of_the_keyed_rows(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session, session.begin():
            UPSERT_STREAMS.execute(session, [row(1), row(2), row(3)])
        # Rows hold every column; only withdrawn_amount and updated_ledger are set.
        changes = [
            row(1, withdrawn_amount=BIG, updated_ledger=8, end_time=99),
            row(3, withdrawn_amount=2**100, updated_ledger=9, end_time=99),
        ]
        with sessions() as session, session.begin():
            UPDATE_STREAMS.execute(session, ["withdrawn_amount", "updated_ledger"], changes)
            UPDATE_STREAMS.execute(session, ["cancelled"], [])  # nothing to send
        with sessions() as session:
            stored = {r.stream_id: r for r in session.scalars(select(Stream))}
    finally:
        engine.dispose()
    assert (stored[1].withdrawn_amount, stored[1].updated_ledger) == (BIG, 8)
    assert (stored[3].withdrawn_amount, stored[3].updated_ledger) == (2**100, 9)
    assert stored[1].end_time == stored[3].end_time == 20  # not among the columns set
    assert (stored[2].withdrawn_amount, stored[2].updated_ledger) == (2**64 + 1, 5)


def test_written_streams_equal_an_upsert_whichever_columns_changed(
    database_url: str, other_database_url: str
) -> None:
    """write_streams (SQLite: UPDATEs of the changed columns) leaves the rows an upsert would."""
    before = [row(1), row(2), row(3, cancelled=True, cancelled_at=15)]
    after = [
        row(1, withdrawn_amount=BIG, updated_ledger=8),  # a claim
        row(2, total_amount=BIG - 5, end_time=40, updated_ledger=8),  # a top-up
        row(3, updated_ledger=8),  # only the ledger
        row(4),  # new
    ]
    results = []
    for url, write in ((database_url, "write_streams"), (other_database_url, "upsert")):
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        try:
            with sessions() as session, session.begin():
                UPSERT_STREAMS.execute(session, before)
            with sessions() as session, session.begin():
                if write == "upsert":
                    UPSERT_STREAMS.execute(session, after)
                else:
                    keys = {(str(r["contract_id"]), int(str(r["stream_id"]))) for r in after}
                    write_streams(session, after, stream_rows(session, keys))
            with sessions() as session:
                results.append(
                    [
                        {c: getattr(s, c) for c in row(0) if c != "id"}
                        for s in session.scalars(select(Stream).order_by(Stream.stream_id))
                    ]
                )
        finally:
            engine.dispose()
    assert results[0] == results[1]
    assert [(r["withdrawn_amount"], r["total_amount"]) for r in results[0][:2]] == [
        (BIG, BIG),
        (2**64 + 1, BIG - 5),
    ]
    assert len(results[0]) == 4
