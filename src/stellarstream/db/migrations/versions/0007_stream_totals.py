"""stream totals and parties, kept by the projection for /stats

``stream_totals``: count and amounts per contract, token, version, state (archived, canceled,
paused, live) and, for live streams, UTC end day; ``stream_parties``: streams per sender and per
receiver. Filled here from the existing ``streams`` rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 00:30:00.000000
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

from stellarstream.db.types import decode_sqlite_amount, encode_sqlite_amount

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DAY = 86_400
ADDRESS = sa.String(69)


def _amount() -> sa.types.TypeEngine[Any]:
    # The Amount type of this day: NUMERIC(39,0), or 40-character order-preserving text on SQLite
    return sa.Numeric(39, 0).with_variant(sa.String(40), "sqlite")


def upgrade() -> None:
    op.create_table(
        "stream_totals",
        sa.Column("contract_id", sa.String(56), nullable=False),
        sa.Column("token", ADDRESS, nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("end_day", sa.BigInteger(), nullable=False),
        sa.Column("streams", sa.BigInteger(), nullable=False),
        sa.Column("total_amount", _amount(), nullable=False),
        sa.Column("withdrawn_amount", _amount(), nullable=False),
        sa.PrimaryKeyConstraint(
            "contract_id", "token", "version", "state", "end_day", name="pk_stream_totals"
        ),
    )
    op.create_table(
        "stream_parties",
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("address", ADDRESS, nullable=False),
        sa.Column("streams", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("role", "address", name="pk_stream_parties"),
    )
    _fill()


def _fill() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"

    def read(value: Any) -> int:
        return decode_sqlite_amount(value) if sqlite else int(value)

    def write(value: int) -> Any:
        return encode_sqlite_amount(value) if sqlite else Decimal(value)

    columns = "contract_id token version archived cancelled paused end_time total_amount"
    columns += " withdrawn_amount sender receiver"
    streams = sa.table("streams", *(sa.column(name) for name in columns.split()))
    totals: dict[tuple[Any, ...], list[int]] = {}
    parties: dict[tuple[str, str], int] = {}
    for row in bind.execute(sa.select(streams)).mappings():
        if row["archived"]:
            state, day = "archived", 0
        elif row["cancelled"]:
            state, day = "canceled", 0
        elif row["paused"]:
            state, day = "paused", 0
        else:
            state, day = "live", int(row["end_time"]) // DAY
        key = (row["contract_id"], row["token"], row["version"], state, day)
        entry = totals.setdefault(key, [0, 0, 0])
        entry[0] += 1
        entry[1] += read(row["total_amount"])
        entry[2] += read(row["withdrawn_amount"])
        for role in ("sender", "receiver"):
            parties[(role, row[role])] = parties.get((role, row[role]), 0) + 1
    names = ("contract_id", "token", "version", "state", "end_day")
    if totals:
        table = sa.table("stream_totals", *(sa.column(n) for n in names), sa.column("streams"))
        table.append_column(sa.column("total_amount"))
        table.append_column(sa.column("withdrawn_amount"))
        bind.execute(
            table.insert(),
            [
                dict(zip(names, key, strict=True))
                | {"streams": n, "total_amount": write(t), "withdrawn_amount": write(w)}
                for key, (n, t, w) in totals.items()
            ],
        )
    if parties:
        table = sa.table(
            "stream_parties", sa.column("role"), sa.column("address"), sa.column("streams")
        )
        bind.execute(
            table.insert(),
            [{"role": r, "address": a, "streams": n} for (r, a), n in parties.items()],
        )


def downgrade() -> None:
    op.drop_table("stream_parties")
    op.drop_table("stream_totals")
