"""Column types that keep money and time exact on both PostgreSQL and SQLite.

``Amount`` holds any i128 as a Python ``int``. PostgreSQL stores ``NUMERIC(39,0)``. SQLite has no
exact integer wider than 64 bits (and its NUMERIC affinity turns big values into lossy REALs), so
there an amount is a 40-character text that sorts like the number it encodes:
``P`` then 39 zero-padded digits for n >= 0, ``N`` then ``10**39 - |n|`` zero-padded for n < 0
(``N`` sorts before ``P``, and a larger magnitude gives a smaller complement). Comparison,
``ORDER BY``, ``MIN``/``MAX`` and equality work in SQL; sums go through :func:`sqlite_amount_sum`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Integer, Numeric, String, cast, func
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

I128_MAX = 2**127 - 1
I128_MIN = -(2**127)
_WIDTH = 39
_COMPLEMENT = 10**_WIDTH


def encode_sqlite_amount(value: int) -> str:
    """Encode an int as the order-preserving SQLite text form."""
    if not I128_MIN <= value <= I128_MAX:
        raise ValueError(f"amount {value} does not fit in i128")
    if value >= 0:
        return "P" + str(value).zfill(_WIDTH)
    return "N" + str(_COMPLEMENT + value).zfill(_WIDTH)


def decode_sqlite_amount(text: str) -> int:
    """Inverse of :func:`encode_sqlite_amount`."""
    digits = int(text[1:])
    return digits if text[0] == "P" else digits - _COMPLEMENT


class Amount(TypeDecorator[int]):
    """An exact i128 amount (Python ``int``)."""

    impl = Numeric(39, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(_WIDTH + 1))
        return dialect.type_descriptor(Numeric(39, 0, asdecimal=True))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"amounts are int, got {type(value).__name__}")
        if dialect.name == "sqlite":
            return encode_sqlite_amount(value)
        if not I128_MIN <= value <= I128_MAX:
            raise ValueError(f"amount {value} does not fit in i128")
        return Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return decode_sqlite_amount(value)
        return int(value)


def sqlite_amount_sum(column: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    """SQL expressions whose results combine into the exact SUM of an SQLite Amount column.

    The 39 digits are split in three 13-digit parts; each part's SUM stays far below 2**63 for
    any realistic row count (up to ~900,000 rows of the maximum value). Negative values are not
    supported here (amount columns hold non-negative token amounts). Combine with
    :func:`combine_sqlite_sum`.
    """
    return [
        func.coalesce(func.sum(cast(func.substr(column, 2 + 13 * i, 13), Integer)), 0)
        for i in range(3)
    ]


def combine_sqlite_sum(parts: list[Any]) -> int:
    """Combine the three partial sums of :func:`sqlite_amount_sum` into one int."""
    high, mid, low = (int(p) for p in parts)
    return high * 10**26 + mid * 10**13 + low


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
