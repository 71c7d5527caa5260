"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from stellarstream import jsontext

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 10.0


def make_engine(url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=jsontext.dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # "BEGIN IMMEDIATE" style locking and SAVEPOINTs behave as documented.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    # An API worker runs up to 40 requests at once (anyio's thread limit): keep that many
    # connections pooled. With 20 pooled + 20 overflow, a worker holding more than 20 requests
    # opened and closed an overflow connection per request (bench/api.py: 141-372 new
    # connections in 15 s at peak). Opened lazily; the cap per process is unchanged (40).
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 0)
    engine = create_engine(url, json_serializer=jsontext.dumps, **kwargs)
    _ping_after_idle(engine, idle_ping_seconds)
    return engine


def _ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection before use only if it sat idle ``seconds`` or more.

    ``pool_pre_ping`` pings on every checkout: a round trip per request (the API's hottest
    read is one statement). A connection in use a moment ago is alive; one idle for a while
    may have been closed by a database restart or a proxy, and a failed ping makes the pool
    open a fresh one (SQLAlchemy's documented ``DisconnectionError`` protocol).
    """

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < seconds:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()  # the ping's implicit transaction
        except Exception as exc:  # any failure: let the pool replace the connection
            raise DisconnectionError("pooled connection failed its ping") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN in the "begin" event
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint the WAL every ~40 MB instead of every 4 MB: a sync batch writes a few MB, so
    # at the default every commit copied pages back and synced the file (bench/sync.py: ~5%).
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for read-only requests. On PostgreSQL they run in autocommit: no BEGIN and no
    ROLLBACK round trip around a request's queries (2 of its 4-5). Consistency is unchanged:
    under READ COMMITTED every statement of a transaction already sees the data committed
    when it starts. SQLite sessions are the ordinary ones (our ``begin`` hook owns BEGIN there).
    """
    if engine.dialect.name == "sqlite":
        return make_sessionmaker(engine)
    return sessionmaker(make_read_engine(engine))


def make_read_engine(engine: Engine) -> Engine:
    """``engine`` for read-only statements: autocommit on PostgreSQL, as it is on SQLite."""
    if engine.dialect.name == "sqlite":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session
