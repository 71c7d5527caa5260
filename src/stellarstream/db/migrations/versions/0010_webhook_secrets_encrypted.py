"""webhooks: secrets encrypted at rest, secret rotation, every attempt recorded, replays

``webhook_endpoints.secret`` (plaintext) becomes ``secret_encrypted`` (Fernet token, see
``stellarstream.secretbox``); ``previous_secret_encrypted`` / ``previous_secret_expires_at`` hold
a rotated-out secret that keeps signing for a while. ``webhook_attempts``: one row per attempt.
``webhook_deliveries.requeued_at`` / ``attempts_at_requeue``: the schedule of a retried or
replayed delivery.

The key: what the caller hands in (``stellarstream.db.migrate.upgrade(..., secrets_key=...)``;
every ``stellarstream`` command passes its settings' key), else the key the settings resolve
(``STELLARSTREAM_SECRETS_KEY``, else ``$STELLARSTREAM_VAR_DIR/secrets_key``, created if missing)
so that running the migration by other means encrypts with the key the server will read. It is
only looked up when there are secrets to encrypt (or, going down, to decrypt).

Secrets are encrypted as they are: endpoints registered before keep their secret (see
``stellarstream.webhooks.signature.secret_key`` for how an older secret is read as a key).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet

import stellarstream.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_endpoints = sa.table(
    "webhook_endpoints",
    sa.column("id", sa.String),
    sa.column("secret", sa.String),
    sa.column("secret_encrypted", sa.String),
)


def _fernet() -> Fernet:
    key = op.get_context().config.attributes.get("secrets_key")  # type: ignore[union-attr]
    if key is None:
        from stellarstream.config import load_settings

        key = load_settings().secrets_key_value
    return Fernet(key.encode())


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # freed pages and cells are zeroed: the plaintext does not linger in the file
        op.execute("PRAGMA secure_delete=ON")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_encrypted", sa.String(length=512), nullable=True))
        batch_op.add_column(
            sa.Column("previous_secret_encrypted", sa.String(length=512), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "previous_secret_expires_at",
                stellarstream.db.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    bind = op.get_bind()
    rows = bind.execute(sa.select(_endpoints.c.id, _endpoints.c.secret)).all()
    if rows:
        fernet = _fernet()
        for endpoint_id, secret in rows:
            bind.execute(
                _endpoints.update()
                .where(_endpoints.c.id == endpoint_id)
                .values(secret_encrypted=fernet.encrypt(secret.encode()).decode())
            )
    # SQLite recreates the table here (env.py turns foreign keys off for it: dropping the old
    # table would otherwise cascade-delete every delivery).
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column(
            "secret_encrypted", existing_type=sa.String(length=512), nullable=False
        )
        batch_op.drop_column("secret")
    if sqlite:
        op.execute("PRAGMA secure_delete=OFF")

    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "requeued_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("attempts_at_requeue", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "webhook_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column(
            "attempted_at", stellarstream.db.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_attempts_delivery", ["delivery_id", "id"], unique=False)


def downgrade() -> None:
    """Back to plaintext secrets (the current one; a rotated-out secret is dropped)."""
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_attempts_delivery")
    op.drop_table("webhook_attempts")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("attempts_at_requeue")
        batch_op.drop_column("requeued_at")

    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sa.String(length=128), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_endpoints.c.id, _endpoints.c.secret_encrypted)).all()
    if rows:
        fernet = _fernet()
        for endpoint_id, token in rows:
            bind.execute(
                _endpoints.update()
                .where(_endpoints.c.id == endpoint_id)
                .values(secret=fernet.decrypt(token.encode()).decode())
            )
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret_encrypted")
        batch_op.drop_column("secret_encrypted")
