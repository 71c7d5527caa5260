"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from stellarstream import jsontext

SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(url: str, **kwargs: Any) -> Engine:
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
    kwargs.setdefault("pool_pre_ping", True)
    # An API worker runs up to 40 requests at once (anyio's thread limit): keep that many
    # connections pooled. With 20 pooled + 20 overflow, a worker holding more than 20 requests
    # opened and closed an overflow connection per request (bench/api.py: 141-372 new
    # connections in 15 s at peak). Opened lazily; the cap per process is unchanged (40).
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 0)
    return create_engine(url, json_serializer=jsontext.dumps, **kwargs)


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
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    with factory() as session, session.begin():
        yield session
