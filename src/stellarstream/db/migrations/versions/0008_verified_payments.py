"""verified payments: prepared transactions, who completed a link, the last failed payment

``payment_requests``: every ``create_stream`` the server prepared for a payer (its hash and
envelope), so that a signed envelope can be checked against exactly what was prepared.
``invoice_links.completed_by`` ("chain" or "issuer"), and ``failure_reason`` / ``failed_tx_hash``
/ ``failed_at``: the last payment the chain rejected (the link is payable again). A link already
COMPLETED is "chain" when the indexer recorded a stream of it (stream_id set), else "issuer".

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stellarstream.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoice_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("completed_by", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("failure_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("failed_tx_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("failed_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE invoice_links SET completed_by = CASE WHEN stream_id IS NULL "
        "THEN 'issuer' ELSE 'chain' END WHERE status = 'COMPLETED'"
    )
    op.create_table(
        "payment_requests",
        sa.Column("tx_hash", sa.String(length=64), nullable=False),
        sa.Column("invoice_link_id", sa.String(length=32), nullable=False),
        sa.Column("payer", sa.String(length=69), nullable=False),
        sa.Column("envelope_xdr", sa.Text(), nullable=False),
        sa.Column("valid_until", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_link_id"],
            ["invoice_links.id"],
            name=op.f("fk_payment_requests_invoice_link_id_invoice_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tx_hash", name=op.f("pk_payment_requests")),
    )
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payment_requests_link_created", ["invoice_link_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_requests_link_created")
    op.drop_table("payment_requests")
    with op.batch_alter_table("invoice_links", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("failed_tx_hash")
        batch_op.drop_column("failure_reason")
        batch_op.drop_column("completed_by")
