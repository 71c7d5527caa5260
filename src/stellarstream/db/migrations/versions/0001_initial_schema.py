"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 12:17:30.793756
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stellarstream.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "contract_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contract_id", sa.String(length=56), nullable=False),
        sa.Column("ledger", sa.BigInteger(), nullable=False),
        sa.Column(
            "ledger_closed_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("tx_hash", sa.String(length=64), nullable=False),
        sa.Column("tx_index", sa.Integer(), nullable=False),
        sa.Column("op_index", sa.Integer(), nullable=False),
        sa.Column("event_index", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=True),
        sa.Column("topic_xdr", sa.JSON(), nullable=False),
        sa.Column("value_xdr", sa.Text(), nullable=False),
        sa.Column("decoded", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ingested_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_events")),
        sa.UniqueConstraint("tx_hash", "event_index", name="uq_contract_events_tx_event"),
    )
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contract_events_order",
            ["ledger", "tx_index", "op_index", "event_index"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contract_events_stream_order",
            ["contract_id", "stream_id", "ledger", "tx_index", "op_index", "event_index"],
            unique=False,
        )

    op.create_table(
        "idempotency_keys",
        sa.Column("account", sa.String(length=69), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        sa.Column("created_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "invoice_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("slug", sa.String(length=32), nullable=False),
        sa.Column("sender", sa.String(length=69), nullable=False),
        sa.Column("receiver", sa.String(length=69), nullable=False),
        sa.Column("amount", stellarstream.db.types.Amount(precision=39, scale=0), nullable=False),
        sa.Column("token_address", sa.String(length=69), nullable=False),
        sa.Column("duration", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("pdf_url", sa.String(length=2048), nullable=True),
        sa.Column("xdr_params", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signed_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("canceled_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stream_id", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_links")),
        sa.UniqueConstraint("slug", name=op.f("uq_invoice_links_slug")),
    )
    with op.batch_alter_table("invoice_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_links_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_invoice_links_sender_created", ["sender", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_links_status"), ["status"], unique=False)

    op.create_table(
        "streams",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("contract_id", sa.String(length=56), nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("sender", sa.String(length=69), nullable=False),
        sa.Column("receiver", sa.String(length=69), nullable=False),
        sa.Column("beneficiary", sa.String(length=69), nullable=False),
        sa.Column("token", sa.String(length=69), nullable=False),
        sa.Column(
            "total_amount", stellarstream.db.types.Amount(precision=39, scale=0), nullable=False
        ),
        sa.Column(
            "withdrawn_amount", stellarstream.db.types.Amount(precision=39, scale=0), nullable=False
        ),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("cliff_time", sa.BigInteger(), nullable=False),
        sa.Column("end_time", sa.BigInteger(), nullable=False),
        sa.Column("curve_type", sa.SmallInteger(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("cancelled_at", sa.BigInteger(), nullable=True),
        sa.Column(
            "cancel_to_receiver",
            stellarstream.db.types.Amount(precision=39, scale=0),
            nullable=True,
        ),
        sa.Column(
            "cancel_to_sender", stellarstream.db.types.Amount(precision=39, scale=0), nullable=True
        ),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("archived_at", sa.BigInteger(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("paused_at", sa.BigInteger(), nullable=True),
        sa.Column("memo", sa.String(length=32), nullable=True),
        sa.Column("yield_enabled", sa.Boolean(), nullable=False),
        sa.Column("vault_address", sa.String(length=69), nullable=True),
        sa.Column("created_ledger", sa.BigInteger(), nullable=False),
        sa.Column("created_tx", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_ledger", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_streams")),
        sa.UniqueConstraint("contract_id", "stream_id", name="uq_streams_contract_stream"),
    )
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_streams_end_time"), ["end_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_streams_memo"), ["memo"], unique=False)
        batch_op.create_index(batch_op.f("ix_streams_receiver"), ["receiver"], unique=False)
        batch_op.create_index(batch_op.f("ix_streams_sender"), ["sender"], unique=False)
        batch_op.create_index(batch_op.f("ix_streams_token"), ["token"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("contract_id", sa.String(length=56), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ledger", sa.BigInteger(), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("updated_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", "source", name=op.f("pk_sync_state")),
    )


def downgrade() -> None:

    op.drop_table("sync_state")
    with op.batch_alter_table("streams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streams_token"))
        batch_op.drop_index(batch_op.f("ix_streams_sender"))
        batch_op.drop_index(batch_op.f("ix_streams_receiver"))
        batch_op.drop_index(batch_op.f("ix_streams_memo"))
        batch_op.drop_index(batch_op.f("ix_streams_end_time"))

    op.drop_table("streams")
    with op.batch_alter_table("invoice_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_links_status"))
        batch_op.drop_index("ix_invoice_links_sender_created")
        batch_op.drop_index(batch_op.f("ix_invoice_links_created_at"))

    op.drop_table("invoice_links")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_created_at"))

    op.drop_table("idempotency_keys")
    with op.batch_alter_table("contract_events", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_events_stream_order")
        batch_op.drop_index("ix_contract_events_order")

    op.drop_table("contract_events")
