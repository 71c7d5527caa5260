"""The schema exists only through migrations: up, down and up again on both databases."""

from __future__ import annotations

from sqlalchemy import inspect

from stellarstream.db import migrate
from stellarstream.db.engine import make_engine
from stellarstream.db.models import Base


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
