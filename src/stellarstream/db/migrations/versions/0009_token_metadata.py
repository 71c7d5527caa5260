"""token metadata: each token contract's symbol, name and decimals, read from the chain

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stellarstream.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_metadata",
        sa.Column("contract_id", sa.String(length=69), nullable=False),
        sa.Column("is_token", sa.Boolean(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("decimals", sa.Integer(), nullable=True),
        sa.Column("home_domain", sa.String(length=255), nullable=True),
        sa.Column("checked_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_token_metadata")),
    )


def downgrade() -> None:
    op.drop_table("token_metadata")
