"""The schema exists only through migrations: up, down and up again on both databases."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from standardwebhooks import Webhook
from tests.support.raw_db import raw_contents

from stellarstream.db import migrate
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import Base, InvoiceLink, WebhookDelivery, WebhookEndpoint
from stellarstream.secretbox import SecretBox, new_key
from stellarstream.webhooks.signature import legacy_secret_in_standard_form, sign_headers


def test_fresh_database_is_at_head_with_every_model_table(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert migrate.is_at_head(engine)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert "invoice_links" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.is_at_head(engine)
        assert "invoice_links" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_models_match_migrations(database_url: str) -> None:
    """Autogenerate finds nothing to do: the models and the migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_head_is_the_newest_script_and_a_database_there_is_left_alone(database_url: str) -> None:
    """Start-up checks the schema by one query; only a database behind HEAD gets Alembic."""
    engine = make_engine(database_url)
    try:
        assert migrate.head_revision() == migrate.HEAD
        assert migrate.stored_revision(engine) == migrate.HEAD
        assert migrate.upgrade_if_behind(engine) is False
        migrate.downgrade(engine, "0006")
        assert migrate.stored_revision(engine) == "0006"
        assert migrate.upgrade_if_behind(engine) is True
        assert migrate.is_at_head(engine)
        migrate.downgrade(engine, "base")  # alembic_version is left empty
        assert migrate.stored_revision(engine) is None
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))  # as in a new database
        assert migrate.stored_revision(engine) is None
        assert migrate.upgrade_if_behind(engine) is True
        assert migrate.is_at_head(engine)
        assert "invoice_links" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_0008_records_who_completed_the_links_already_completed(database_url: str) -> None:
    """A COMPLETED link with a stream was completed by the indexer, one without by its issuer."""
    engine = make_engine(database_url)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    links = {"paid": ("COMPLETED", 7), "told": ("COMPLETED", None), "open": ("DRAFT", None)}
    try:
        migrate.downgrade(engine, "0007")
        assert "completed_by" not in {
            c["name"] for c in inspect(engine).get_columns("invoice_links")
        }
        table = InvoiceLink.__table__
        with engine.begin() as conn:
            for slug, (status, stream_id) in links.items():
                conn.execute(
                    table.insert().values(
                        id=f"id-{slug}",
                        slug=slug,
                        sender="G" + "A" * 55,
                        receiver="G" + "B" * 55,
                        amount=10,
                        token_address="C" + "A" * 55,
                        duration=60,
                        xdr_params="{}",
                        status=status,
                        created_at=now,
                        updated_at=now,
                        completed_at=now if status == "COMPLETED" else None,
                        stream_id=stream_id,
                    )
                )
        migrate.upgrade(engine)
        assert migrate.is_at_head(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.slug, table.c.completed_by, table.c.failed_at))
            by_slug = {slug: (completed_by, failed_at) for slug, completed_by, failed_at in rows}
        assert by_slug == {"paid": ("chain", None), "told": ("issuer", None), "open": (None, None)}
        assert "payment_requests" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_start_up_at_head_loads_neither_alembic_nor_uvicorn(
    database_url: str, tmp_path: Path
) -> None:
    """Each command's start-up (bench/sync.py: ~11 MB and ~90 ms less per process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(STELLARSTREAM_DATABASE_URL=database_url, STELLARSTREAM_VAR_DIR=str(tmp_path))
    code = (
        "import sys\n"
        "from stellarstream import cli\n"
        "cli._upgrade(cli._settings(logs_to_stderr=True))\n"
        "print(sorted(m for m in ('alembic', 'uvicorn') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert '"database_at_head"' in done.stderr


LEGACY_SECRETS = {  # as 0004-0008 made them: "whsec_" + secrets.token_urlsafe(32)
    "ep-a": "whsec_" + base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="),
    "ep-b": "whsec_" + base64.urlsafe_b64encode(bytes(range(100, 132))).decode().rstrip("="),
}


def _legacy_endpoints(engine: Engine) -> None:
    """Endpoints with plaintext secrets and a delivery each, in a database at 0008."""
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        for endpoint_id, secret in LEGACY_SECRETS.items():
            conn.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, owner, url, secret, created_at) "
                    "VALUES (:id, :owner, :url, :secret, :now)"
                ),
                {
                    "id": endpoint_id,
                    "owner": "G" + "A" * 55,
                    "url": f"http://127.0.0.1:9/{endpoint_id}",
                    "secret": secret,
                    "now": now,
                },
            )
            conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, "
                    "status, attempts, next_attempt_at, created_at) VALUES (:id, :event, "
                    "'invoice.created', '{}', 'DELIVERED', 1, :now, :now)"
                ),
                {"id": endpoint_id, "event": f"evt-{endpoint_id}", "now": now},
            )


def _secrets_found(database_url: str) -> list[str]:
    raw = raw_contents(database_url)
    found = []
    for secret in LEGACY_SECRETS.values():
        if secret.encode() in raw or secret[6:].encode() in raw:
            found.append(secret)
    return found


def test_0010_encrypts_the_plaintext_secrets_of_an_existing_database(database_url: str) -> None:
    """From 0008 with plaintext secrets: afterwards the database holds none of them, each
    endpoint keeps its secret (encrypted with the key handed in) and its deliveries."""
    key = new_key()
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "0008")
        _legacy_endpoints(engine)
        engine.dispose()
        assert len(_secrets_found(database_url)) == 2  # the check sees plaintext
        migrate.upgrade(engine, secrets_key=key)
        assert migrate.is_at_head(engine)
        columns = {c["name"] for c in inspect(engine).get_columns("webhook_endpoints")}
        assert "secret" not in columns and "secret_encrypted" in columns
        box = SecretBox(key)
        with make_sessionmaker(engine)() as session:
            stored = {e.id: e for e in session.scalars(select(WebhookEndpoint))}
            events = sorted(session.scalars(select(WebhookDelivery.event_id)))
        assert {i: box.decrypt(e.secret_encrypted) for i, e in stored.items()} == LEGACY_SECRETS
        assert all(e.previous_secret_encrypted is None for e in stored.values())
        assert events == ["evt-ep-a", "evt-ep-b"]  # the table rebuild kept the deliveries
        engine.dispose()
        assert _secrets_found(database_url) == []
        # ... and the worker signs with the same key (the secret's Standard Webhooks form).
        secret = box.decrypt(stored["ep-a"].secret_encrypted)
        headers = sign_headers([secret], "e1", int(time.time()), b"{}")
        Webhook(legacy_secret_in_standard_form(secret)).verify(b"{}", headers)
        # Down again: plaintext as before.
        migrate.downgrade(engine, "0008", secrets_key=key)
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT id, secret FROM webhook_endpoints")).all())
        assert rows == LEGACY_SECRETS
    finally:
        engine.dispose()


def test_0010_without_a_key_handed_in_uses_the_configured_one(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run by other means (no key given), the migration reads the key the server will read:
    STELLARSTREAM_SECRETS_KEY, else var/secrets_key (created then)."""
    for name in list(os.environ):
        if name.startswith("STELLARSTREAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("STELLARSTREAM_VAR_DIR", str(tmp_path / "var"))
    engine = make_engine(database_url)
    try:
        migrate.downgrade(engine, "0008")
        _legacy_endpoints(engine)
        migrate.upgrade(engine)
        generated = (tmp_path / "var" / "secrets_key").read_text().strip()
        assert oct((tmp_path / "var" / "secrets_key").stat().st_mode & 0o777) == "0o600"
        with make_sessionmaker(engine)() as session:
            tokens = list(session.scalars(select(WebhookEndpoint.secret_encrypted)))
        assert {SecretBox(generated).decrypt(t) for t in tokens} == set(LEGACY_SECRETS.values())
        key = new_key()
        monkeypatch.setenv("STELLARSTREAM_SECRETS_KEY", key)
        migrate.downgrade(engine, "0008", secrets_key=generated)
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as session:
            tokens = list(session.scalars(select(WebhookEndpoint.secret_encrypted)))
        assert {SecretBox(key).decrypt(t) for t in tokens} == set(LEGACY_SECRETS.values())
    finally:
        engine.dispose()
