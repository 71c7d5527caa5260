"""Read-only sessions: no transaction round trips on PostgreSQL; pooled connections reset."""

from __future__ import annotations

from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from stellarstream.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker
from stellarstream.db.models import SyncState


def test_read_sessions_run_outside_a_transaction_on_postgresql(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)  # one connection, reused
    try:
        reads, writes = make_read_sessionmaker(engine), make_sessionmaker(engine)
        with reads() as session:
            assert session.scalar(select(SyncState).limit(1)) is None
            dbapi = session.connection().connection.dbapi_connection
            if engine.dialect.name == "sqlite":
                assert dbapi is not None and dbapi.in_transaction  # our BEGIN IMMEDIATE hook
                return
            # No BEGIN was sent: after a query the server-side state is still idle.
            assert dbapi is not None and dbapi.info.transaction_status == TransactionStatus.IDLE
        # The same pooled connection, in an ordinary session: a transaction again.
        with writes() as session:
            session.execute(text("SELECT 1"))
            dbapi = session.connection().connection.dbapi_connection
            assert dbapi is not None and dbapi.info.transaction_status == TransactionStatus.INTRANS
    finally:
        engine.dispose()
