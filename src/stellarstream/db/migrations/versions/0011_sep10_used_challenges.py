"""SEP-10 challenges already exchanged for a token (each challenge is good for one token)

``sep10_used_challenges``: the challenge transaction's hash, its account, the end of its time
bounds (rows past it are deleted; such a challenge is refused as expired anyway) and when it
was used. The primary key makes a second exchange fail on every worker and host.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stellarstream.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sep10_used_challenges",
        sa.Column("tx_hash", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=69), nullable=False),
        sa.Column("expires_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tx_hash", name=op.f("pk_sep10_used_challenges")),
    )
    with op.batch_alter_table("sep10_used_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sep10_used_challenges_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sep10_used_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sep10_used_challenges_expires_at"))
    op.drop_table("sep10_used_challenges")
