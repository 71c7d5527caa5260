"""partial index for the pause lookup

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 16:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Spelled out (not imported from the models): a migration keeps the schema of its own day.
PAUSE_PREDICATE = "event_type IN ('pause', 'unpause')"


def upgrade() -> None:
    op.create_index(
        "ix_contract_events_pause",
        "contract_events",
        ["contract_id", "ledger", "tx_index", "op_index", "event_index"],
        unique=False,
        postgresql_where=sa.text(PAUSE_PREDICATE),
        sqlite_where=sa.text(PAUSE_PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_contract_events_pause", table_name="contract_events")
