"""The schema exists only through migrations: up, down and up again on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select, text

from stellarstream.db import migrate
from stellarstream.db.engine import make_engine
from stellarstream.db.models import Base, InvoiceLink


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
