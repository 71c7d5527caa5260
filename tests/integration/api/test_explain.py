"""The main stream list filters and the pause lookup are index-backed (EXPLAIN on realistic
tables: PostgreSQL, and SQLite's EXPLAIN QUERY PLAN for the pause lookup)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.db import PostgresDatabases

from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import ContractEventRow
from stellarstream.streams.queries import Direction, Sort, StreamFilters
from stellarstream.streams.service import StreamService

C = ce.V2_CONTRACT


@pytest.fixture
def big_pg(postgres: PostgresDatabases) -> Iterator[str]:
    name = postgres.create()
    url = postgres.url_for(name)
    engine = make_engine(url)
    with engine.begin() as conn:
        # 20,000 streams over 500 senders, 300 receivers, 200 tokens (generated in SQL: fast).
        conn.execute(
            text(
                """
                INSERT INTO streams (contract_id, stream_id, version, sender, receiver, beneficiary,
                  token, total_amount, withdrawn_amount, start_time, cliff_time, end_time,
                  curve_type, cancelled, archived, paused, yield_enabled, created_ledger,
                  created_tx, created_at, updated_ledger)
                SELECT :c, g, 2, 'G' || lpad((g % 500)::text, 55, 'A'),
                  'G' || lpad((g % 300)::text, 55, 'B'), 'G' || lpad((g % 300)::text, 55, 'B'),
                  'C' || lpad((g % 200)::text, 55, 'T'), (g * 1000)::numeric, 0, g, g, g + 100000,
                  0, false, false, false, false, g, lpad(g::text, 64, '0'), g, g
                FROM generate_series(1, 20000) AS g
                """
            ),
            {"c": C},
        )
        conn.execute(text("ANALYZE streams"))
    engine.dispose()
    yield url
    postgres.drop(name)


def plan_of(url: str, filters: StreamFilters, sort: Sort) -> str:
    engine = make_engine(url)
    service = StreamService(make_sessionmaker(engine), FakeClock(), [C])
    captured: list[str] = []
    with engine.connect() as conn:
        original = conn.execute

        def capture(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            sql = str(
                statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            captured.append(sql)
            return original(statement, *args, **kwargs)

        conn.execute = capture  # type: ignore[method-assign]
        service.list_streams(conn, filters, sort=sort, limit=50, cursor=None)
        plan = original(text("EXPLAIN (FORMAT JSON) " + captured[-1])).scalar_one()
    engine.dispose()
    return json.dumps(plan)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "sort", "index"),
    [
        (StreamFilters(), Sort.CREATED_DESC, "ix_streams_created"),
        (
            StreamFilters(sender="G" + "1".rjust(55, "A")),
            Sort.CREATED_DESC,
            "ix_streams_sender_created",
        ),
        (
            StreamFilters(receiver="G" + "7".rjust(55, "B")),
            Sort.CREATED_DESC,
            "ix_streams_receiver_created",
        ),
        (
            StreamFilters(token="C" + "3".rjust(55, "T")),
            Sort.CREATED_DESC,
            "ix_streams_token_created",
        ),
        (StreamFilters(), Sort.END_ASC, "ix_streams_end"),
        (StreamFilters(), Sort.AMOUNT_DESC, "ix_streams_amount"),
        (
            StreamFilters(address="G" + "7".rjust(55, "B"), direction=Direction.IN),
            Sort.CREATED_DESC,
            "ix_streams_receiver_created",
        ),
        (
            StreamFilters(address="G" + "1".rjust(55, "A"), direction=Direction.OUT),
            Sort.CREATED_DESC,
            "ix_streams_sender_created",
        ),
    ],
)
def test_list_filters_use_indexes(
    big_pg: str, filters: StreamFilters, sort: Sort, index: str
) -> None:
    plan = plan_of(big_pg, filters, sort)
    assert index in plan, plan
    assert '"Seq Scan"' not in plan, plan


@pytest.mark.postgres
def test_address_in_both_directions_uses_both_indexes(big_pg: str) -> None:
    plan = plan_of(big_pg, StreamFilters(address="G" + "7".rjust(55, "B")), Sort.CREATED_DESC)
    assert '"Seq Scan"' not in plan, plan


# --- the pause lookup (streams.pause.paused_contracts) --------------------------------------

OTHER_CONTRACT = ce.contract(77)


def _events_sql(dialect: str) -> str:
    """40,000 events of contract C: 30,000 stream events, 9,996 contract-wide ``btch_crt``, and
    two pause/unpause pairs, the last a pause in the middle; 2,000 events of another contract."""
    series = (
        "generate_series(1, 42000) AS g(n)"
        if dialect == "postgresql"
        else "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 42000)"
        " SELECT n FROM s) AS g"
    )
    closed = "now()" if dialect == "postgresql" else "CURRENT_TIMESTAMP"
    return f"""
        INSERT INTO contract_events (contract_id, ledger, ledger_closed_at, tx_hash, tx_index,
          op_index, event_index, event_type, stream_id, topic_xdr, value_xdr, decoded, source,
          ingested_at)
        SELECT CASE WHEN n > 40000 THEN :other ELSE :c END, n, {closed}, 'h' || n, 0, 0, 0,
          CASE WHEN n IN (100, 20000) THEN 'pause' WHEN n IN (200, 30000) THEN 'unpause'
               WHEN n = 25000 THEN 'pause' WHEN n % 4 = 0 THEN 'btch_crt' ELSE 'claim' END,
          CASE WHEN n IN (100, 200, 20000, 25000, 30000) OR n % 4 = 0 THEN NULL ELSE n END,
          '[]', '', '{{}}', 'rpc', {closed}
        FROM {series}
        """


@pytest.fixture
def pause_db(database_url: str) -> Iterator[str]:
    engine = make_engine(database_url)
    dialect = engine.dialect.name
    with engine.begin() as conn:
        conn.execute(text(_events_sql(dialect)), {"c": C, "other": OTHER_CONTRACT})
        # Latest of contract C: the unpause at 30,000 (the pause at 25,000 is before it).
        conn.execute(
            text(
                "UPDATE contract_events SET event_type = 'pause', stream_id = NULL"
                " WHERE contract_id = :c AND ledger = 35000"
            ),
            {"c": C},
        )
        conn.execute(text("ANALYZE contract_events" if dialect == "postgresql" else "ANALYZE"))
    engine.dispose()
    yield database_url


def _pause_statements(url: str) -> tuple[frozenset[str], list[tuple[str, Any]]]:
    """Run paused_contracts over both contracts; its SQL exactly as sent to the driver."""
    engine = make_engine(url)
    sent: list[tuple[str, Any]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "event_type IN" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    sessions = make_sessionmaker(engine)
    service = StreamService(sessions, FakeClock(), [C])
    with sessions() as session:
        paused = service.paused_contracts(session, [C, OTHER_CONTRACT])
    engine.dispose()
    return paused, sent


def test_pause_lookup_is_one_probe_of_the_partial_index(pause_db: str) -> None:
    paused, sent = _pause_statements(pause_db)
    assert paused == frozenset({C})  # the pause at ledger 35,000 is C's latest
    assert len(sent) == 2  # one statement per contract
    statement, parameters = sent[0]
    # The predicate reaches the database as literals, as the index declares it.
    assert "IN ('pause', 'unpause')" in statement, statement
    engine = make_engine(pause_db)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = str(
                    conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
                )
                assert "ix_contract_events_pause" in plan, plan
                assert "TEMP B-TREE" not in plan, plan  # no sort: the index order is used
                return
            # PostgreSQL, prepared with the contract as a parameter and planned generically
            # (what a prepared statement does after five executions): the literal predicate
            # still proves the partial index usable.
            names = list(parameters)
            prepared = re.sub(
                r"%\((\w+)\)s", lambda m: f"${names.index(m.group(1)) + 1}", statement
            )
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            conn.exec_driver_sql(f"PREPARE pause_lookup AS {prepared}")
            args = ", ".join(f"'{parameters[n]}'" for n in names)
            plan = json.dumps(
                conn.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) EXECUTE pause_lookup({args})"
                ).scalar_one()
            )
    finally:
        engine.dispose()
    assert "ix_contract_events_pause" in plan, plan
    assert '"Seq Scan"' not in plan and '"Sort"' not in plan, plan


def test_pause_index_is_partial(pause_db: str) -> None:
    """The index holds only pause/unpause rows (a few, whatever the table's size)."""
    index = next(
        i for i in ContractEventRow.__table__.indexes if i.name == "ix_contract_events_pause"
    )
    engine = make_engine(pause_db)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": index.name}
                ).scalar_one()
            else:
                sql = conn.execute(
                    text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                    {"n": index.name},
                ).scalar_one()
    finally:
        engine.dispose()
    assert "WHERE" in sql and "pause" in sql and "unpause" in sql, sql
