from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select

from stellarstream.db.engine import make_engine
from stellarstream.db.types import (
    I128_MAX,
    I128_MIN,
    Amount,
    combine_sqlite_sum,
    decode_sqlite_amount,
    encode_sqlite_amount,
    sqlite_amount_sum,
)

i128 = st.integers(min_value=I128_MIN, max_value=I128_MAX)


@given(i128)
def test_sqlite_encoding_round_trips(value: int) -> None:
    assert decode_sqlite_amount(encode_sqlite_amount(value)) == value


@given(i128, i128)
def test_sqlite_encoding_sorts_like_the_numbers(a: int, b: int) -> None:
    assert (encode_sqlite_amount(a) < encode_sqlite_amount(b)) == (a < b)


def test_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="i128"):
        encode_sqlite_amount(I128_MAX + 1)


VALUES = [0, 1, 2**63 - 1, 2**63, 2**64 + 7, 10**30 + 3, I128_MAX, -5, I128_MIN]


def test_amounts_round_trip_compare_and_sum_exactly(database_url: str) -> None:
    engine = make_engine(database_url)
    table = Table(
        "amount_probe", MetaData(), Column("id", Integer, primary_key=True), Column("v", Amount)
    )
    table.create(engine)
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), [{"v": v} for v in VALUES])
            back = list(conn.scalars(select(table.c.v).order_by(table.c.v)))
            assert back == sorted(VALUES)
            assert all(type(v) is int for v in back)
            big = list(conn.scalars(select(table.c.v).where(table.c.v > 2**63).order_by(table.c.v)))
            assert big == [2**64 + 7, 10**30 + 3, I128_MAX]
            positive = table.c.v >= 0
            if engine.dialect.name == "sqlite":
                parts = conn.execute(select(*sqlite_amount_sum(table.c.v)).where(positive)).one()
                total = combine_sqlite_sum(list(parts))
            else:
                total = int(conn.scalar(select(func.sum(table.c.v)).where(positive)))
            assert total == sum(v for v in VALUES if v >= 0)
    finally:
        table.drop(engine)
        engine.dispose()


def test_non_int_amounts_are_refused(database_url: str) -> None:
    engine = make_engine(database_url)
    table = Table(
        "amount_probe2", MetaData(), Column("id", Integer, primary_key=True), Column("v", Amount)
    )
    table.create(engine)
    try:
        with pytest.raises(Exception, match="amounts are int"), engine.begin() as conn:
            conn.execute(insert(table), [{"v": 1.5}])
    finally:
        table.drop(engine)
        engine.dispose()
