"""Many rows through one compiled statement, sent by the driver's ``executemany``.

SQLAlchemy's Core ``execute(statement, rows)`` prepares every row in Python (its parameter
dictionary, then each value through its column type): ~15 us per row of a 15-30 column table,
more than SQLite takes to store it (bench/sync.py). :class:`BulkStatement` compiles the statement
once per database, works out which columns need their type's conversion (amounts, say), and
hands the driver plain tuples; the SQL text is still SQLAlchemy's, with bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

Processor = Callable[[Any], Any]
InsertConstructor = Callable[[Table], postgresql.Insert | sqlite.Insert]


def insert_for(dialect_name: str) -> InsertConstructor:
    """The INSERT constructor with ``ON CONFLICT`` clauses: PostgreSQL's, else SQLite's."""
    return postgresql.insert if dialect_name == "postgresql" else sqlite.insert


class BulkStatement:
    """An INSERT (or upsert) of ``columns``, built per database by ``build(insert)`` from that
    database's INSERT constructor (:func:`insert_for`).

    ``raw``: columns whose values the caller already converted (JSON text, say): sent as given.
    ``keys``: the row key of a column, where it is not the column's name.
    """

    def __init__(
        self,
        build: Callable[[InsertConstructor], Insert],
        columns: Sequence[str],
        raw: Iterable[str] = (),
        keys: Mapping[str, str] | None = None,
    ) -> None:
        self._build = build
        self.columns = list(columns)
        self._raw = frozenset(raw)
        self._keys = dict(keys or {})
        self._compiled: dict[str, _Compiled] = {}

    def execute(self, session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
        """Send ``rows`` (mappings holding every column) in one ``executemany``."""
        connection = session.connection()
        compiled = self._compile(connection.dialect)
        _send(connection, compiled, [self._keys.get(name, name) for name in compiled.names], rows)

    def _compile(self, dialect: Dialect) -> _Compiled:
        cached = self._compiled.get(dialect.name)
        if cached is not None:
            return cached
        statement = self._build(insert_for(dialect.name))
        table_columns = statement.table.c
        cached = _Compiled.of(
            statement.compile(dialect=dialect, column_keys=self.columns),
            lambda name: None if name in self._raw else _processor(table_columns[name], dialect),
        )
        self._compiled[dialect.name] = cached
        return cached


class BulkUpdate:
    """``UPDATE table SET <columns> WHERE <keys>`` for many rows, compiled once per database
    and set of columns, sent by ``executemany`` like :class:`BulkStatement`."""

    def __init__(self, table: Table, keys: Sequence[str]) -> None:
        self._table = table
        self._keys = list(keys)
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def execute(
        self, session: Session, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
    ) -> None:
        """Set ``columns`` of each row matched by its key columns (``rows`` hold both)."""
        connection = session.connection()
        compiled = self._compile(connection.dialect, tuple(columns))
        _send(connection, compiled, [_bound_column(name) for name in compiled.names], rows)

    def _compile(self, dialect: Dialect, columns: tuple[str, ...]) -> _Compiled:
        cached = self._compiled.get((dialect.name, columns))
        if cached is not None:
            return cached
        c = self._table.c
        statement = (
            update(self._table)
            .where(*(c[k] == bindparam(f"key_{k}", type_=c[k].type) for k in self._keys))
            .values({c[name]: bindparam(f"set_{name}", type_=c[name].type) for name in columns})
        )
        cached = _Compiled.of(
            statement.compile(dialect=dialect),
            lambda name: _processor(c[_bound_column(name)], dialect),
        )
        self._compiled[(dialect.name, columns)] = cached
        return cached


def _bound_column(name: str) -> str:
    # BulkUpdate binds "set_<column>" and "key_<column>" (SQLAlchemy keeps column names for
    # itself); both prefixes are four characters.
    return name[4:]


def _processor(column: ColumnElement[Any], dialect: Dialect) -> Processor | None:
    """The column type's conversion of a bound value on ``dialect`` (None: sent as is)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def _send(
    connection: Connection,
    compiled: _Compiled,
    wanted: list[str],
    rows: Iterable[Mapping[str, Any]],
) -> None:
    """``rows``' values of the row keys ``wanted`` (one per bound parameter), converted where
    the column type needs it, in one ``executemany``."""
    names, positional = compiled.names, compiled.positional
    pick = itemgetter(*wanted) if len(wanted) > 1 else lambda row: (row[wanted[0]],)
    convert = [(i, p) for i, p in enumerate(compiled.processors) if p is not None]
    params: list[Any] = []
    for row in rows:
        values = pick(row)
        if convert:
            values = list(values)
            for i, process in convert:
                values[i] = process(values[i])
        params.append(tuple(values) if positional else dict(zip(names, values, strict=True)))
    if params:
        connection.exec_driver_sql(compiled.sql, params)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: list[str]  # bound parameters, in their order in ``sql`` when positional
    processors: list[Processor | None]
    positional: bool  # the driver takes tuples (SQLite), else mappings (psycopg)

    @classmethod
    def of(cls, compiled: SQLCompiler, processor: Callable[[str], Processor | None]) -> _Compiled:
        """``compiled``'s SQL and bound names, with ``processor(name)`` for each name."""
        names = list(compiled.positiontup or compiled.bind_names.values())
        processors = [processor(name) for name in names]
        return cls(compiled.string, names, processors, compiled.positiontup is not None)
