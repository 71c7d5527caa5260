"""Pooled PostgreSQL connections that the server closed are replaced, not handed to a request.

The sync engine pings a connection only after it sat idle (``IDLE_PING_SECONDS``), not on
every checkout; the hot async reads retry once on a broken connection.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from stellarstream.db.engine import make_engine
from stellarstream.db.hot import CompiledRead, HotReads
from stellarstream.streams.queries import ONE_STREAM

pytestmark = pytest.mark.postgres


def _kill_other_backends(url: str) -> int:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    databases = request.getfixturevalue("postgres")
    name = databases.create()
    request.addfinalizer(lambda: databases.drop(name))
    return str(databases.url_for(name))


def test_an_idle_connection_killed_by_the_server_is_replaced_on_checkout(pg_url: str) -> None:
    engine = make_engine(pg_url, idle_ping_seconds=0.2)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert _kill_other_backends(pg_url) >= 1
    time.sleep(0.3)  # idle past the threshold: pinged, found dead, replaced
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 2")).scalar() == 2
    engine.dispose()


def test_a_recently_used_connection_is_not_pinged(pg_url: str) -> None:
    # The same kill with a long threshold reaches the request: the ping is what saved it above.
    engine = make_engine(pg_url, idle_ping_seconds=3600)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _kill_other_backends(pg_url)
    with pytest.raises(Exception, match=r"terminat|closed|connection"), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()


def test_hot_reads_retry_once_on_a_broken_connection(pg_url: str) -> None:
    async def run() -> tuple[object, object]:
        hot = HotReads(pg_url)
        await hot.open()
        try:
            read = CompiledRead.of(ONE_STREAM)
            before = await hot.first(read, contract_id="C" * 56, stream_id=1)
            assert _kill_other_backends(pg_url) >= 1
            after = await hot.first(read, contract_id="C" * 56, stream_id=1)
            return before, after
        finally:
            await hot.close()

    assert asyncio.run(run()) == (None, None)  # no such stream, and no error either time
