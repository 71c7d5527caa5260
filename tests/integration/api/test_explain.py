"""The main stream list filters are index-backed (PostgreSQL EXPLAIN on a realistic table)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.db import PostgresDatabases

from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.streams.service import Direction, Sort, StreamFilters, StreamService

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
    sessions = make_sessionmaker(engine)
    service = StreamService(sessions, FakeClock(), [C])
    captured: list[str] = []
    with sessions() as session:
        original = session.scalars

        def capture(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
            sql = str(
                statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            captured.append(sql)
            return original(statement, *args, **kwargs)

        session.scalars = capture  # type: ignore[method-assign]
        service.list_streams(session, filters, sort=sort, limit=50, cursor=None)
        plan = session.execute(text("EXPLAIN (FORMAT JSON) " + captured[-1])).scalar_one()
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
