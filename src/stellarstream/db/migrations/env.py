"""Alembic environment: runs on the engine handed in by ``stellarstream.db.migrate``.

On SQLite, foreign keys are off while migrations run: batch operations recreate a table (copy,
drop, rename), and dropping a parent table with foreign keys on would cascade-delete its
children's rows. The pragma only works outside a transaction, so it is set on the raw
connection before Alembic begins one, and set back before the connection returns to the pool.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from stellarstream.db.models import Base

engine: Engine = context.config.attributes["engine"]


def _pragma(raw: Any, sql: str) -> None:
    cursor = raw.cursor()
    cursor.execute(sql)
    cursor.close()


with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection
    if sqlite:
        _pragma(raw, "PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    except BaseException:
        if sqlite:
            connection.invalidate()  # never back in the pool with foreign keys off
        raise
    if sqlite:
        _pragma(raw, "PRAGMA foreign_keys=ON")
