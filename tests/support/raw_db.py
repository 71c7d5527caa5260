"""Everything a database holds, as bytes: what someone reading its files or dumping it sees."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from stellarstream.db.engine import make_engine


def raw_contents(database_url: str) -> bytes:
    """SQLite: the database file and its WAL, byte for byte (callers dispose their engines
    first, so that the WAL is checkpointed into the file). PostgreSQL: every row of every table
    in its text form (what ``pg_dump`` writes)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            chunks = [
                str(row[0]).encode()
                for table in inspect(conn).get_table_names()
                for row in conn.execute(text(f'SELECT t::text FROM "{table}" t'))
            ]
    finally:
        engine.dispose()
    return b"\n".join(chunks)
