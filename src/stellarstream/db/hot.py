"""The API's hottest statement straight through psycopg's async pool (PostgreSQL only).

``GET /api/v1/streams/{id}`` is what wallet front-ends poll. Through SQLAlchemy's async
facade its one statement cost more Python than the rest of the request; here it is compiled
once (the same Core statement ``StreamService`` runs elsewhere) and sent by the driver on the
event loop. Rows come back as named tuples with the same names as SQLAlchemy's rows, amounts
as ``int`` (a loader for ``numeric``: the schema keeps only whole numbers there).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

POOL_MAX = 10  # connections per worker: each is held for one statement


class _WholeNumber(Loader):
    """``numeric`` as ``int``: every numeric column is an i128 amount (``NUMERIC(39,0)``)."""

    def load(self, data: Any) -> int:
        return int(bytes(data))


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_loader("numeric", _WholeNumber)


class HotReads:
    """A pool of async connections and the statements compiled for them."""

    def __init__(self, url: str) -> None:
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = AsyncConnectionPool(
            conninfo,
            min_size=1,
            max_size=POOL_MAX,
            open=False,
            configure=_configure,
            kwargs={"autocommit": True},
        )

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        await self._pool.close()

    async def first(self, read: CompiledRead, **params: Any) -> Any:
        """The first row of ``read`` with ``params``, or None.

        A connection found broken (the database restarted since it was last used) is
        dropped by the pool, the pool's idle ones are checked, and the read, which changes
        nothing, is tried once more.
        """
        values = {**read.defaults, **params}
        for attempt in (1, 2):
            try:
                async with self._pool.connection() as conn:
                    cursor = conn.cursor(row_factory=read.row_factory)
                    await cursor.execute(read.sql, values)
                    return await cursor.fetchone()
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                await self._pool.check()  # the others idle beside it may be gone too
        raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class CompiledRead:
    """A Core statement as PostgreSQL SQL (``%(name)s`` placeholders) and its fixed params."""

    sql: str
    defaults: dict[str, Any]
    row: type[tuple[Any, ...]]  # a named tuple of the statement's columns

    @classmethod
    def of(cls, statement: Select[Any]) -> CompiledRead:
        compiled = statement.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
        row = namedtuple("Row", list(statement.selected_columns.keys()))  # type: ignore[misc]
        return cls(str(compiled), dict(compiled.params), row)

    def row_factory(self, _cursor: Any) -> Callable[[Sequence[Any]], Any]:
        """Rows as :attr:`row` (built once, not per query as psycopg's ``namedtuple_row``)."""
        return self.row._make  # type: ignore[attr-defined,no-any-return]
