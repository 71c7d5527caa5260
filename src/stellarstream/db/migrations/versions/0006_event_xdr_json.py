"""contract events keep their topics and value as base64 XDR or as XDR-JSON

RPC nodes asked for ``xdrFormat: "json"`` send XDR-JSON (SEP-51) instead of base64 XDR; an event
is stored in the form its source delivered: ``topic_xdr``/``value_xdr`` or ``raw_json``
(``{"topic": [...], "value": ...}``), never neither.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 16:40:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contract_events") as batch:
        batch.alter_column("topic_xdr", existing_type=sa.JSON(), nullable=True)
        batch.alter_column("value_xdr", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("raw_json", sa.JSON(), nullable=True))


def downgrade() -> None:
    # The older schema needs XDR: encode the XDR-JSON rows (stellar_sdk) before dropping it.
    from stellar_sdk import xdr

    bind = op.get_bind()
    events = sa.table(
        "contract_events",
        sa.column("id", sa.BigInteger()),
        sa.column("topic_xdr", sa.JSON()),
        sa.column("value_xdr", sa.Text()),
        sa.column("raw_json", sa.JSON()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(events.c.id, events.c.raw_json)
            .where(events.c.value_xdr.is_(None), events.c.id > last)
            .order_by(events.c.id)
            .limit(1000)
        ).all()
        if not rows:
            break
        for row_id, raw in rows:
            raw = json.loads(raw) if isinstance(raw, str) else raw
            topics = [xdr.SCVal.from_json_dict(t).to_xdr() for t in raw["topic"]]
            value = xdr.SCVal.from_json_dict(raw["value"]).to_xdr()
            bind.execute(
                events.update()
                .where(events.c.id == row_id)
                .values(topic_xdr=topics, value_xdr=value)
            )
        last = rows[-1][0]
    with op.batch_alter_table("contract_events") as batch:
        batch.drop_column("raw_json")
        batch.alter_column("value_xdr", existing_type=sa.Text(), nullable=False)
        batch.alter_column("topic_xdr", existing_type=sa.JSON(), nullable=False)
