"""sync ranges

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:55:29.340685
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stellarstream.db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sync_ranges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contract_id", sa.String(length=56), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("from_ledger", sa.BigInteger(), nullable=False),
        sa.Column("to_ledger", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_ranges")),
    )
    with op.batch_alter_table("sync_ranges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_ranges_contract_from", ["contract_id", "from_ledger"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("sync_ranges", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_ranges_contract_from")

    op.drop_table("sync_ranges")
