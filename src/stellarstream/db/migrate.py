"""Run Alembic migrations programmatically (the only way the schema is made).

Alembic is imported only when a migration runs: every command checks the schema at start-up,
and a database already at :data:`HEAD` needs one query, not Alembic and its script directory
(~11 MB of memory and ~90 ms in each process; bench/sync.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

HEAD = "0011"
"""The newest revision (tests/integration/test_migrations.py checks it is Alembic's head)."""


def alembic_config(engine: Engine, *, secrets_key: str | None = None) -> Config:
    """``secrets_key``: the key that encrypts stored secrets (0010 encrypts webhook secrets with
    it); None: the migration asks the settings (``STELLARSTREAM_SECRETS_KEY`` or ``var/``)."""
    config = alembic_config_without_engine()
    config.attributes["engine"] = engine
    if secrets_key is not None:
        config.attributes["secrets_key"] = secrets_key
    return config


def upgrade(engine: Engine, revision: str = "head", *, secrets_key: str | None = None) -> None:
    """Migrate the database to ``revision`` (default: the newest)."""
    from alembic import command

    command.upgrade(alembic_config(engine, secrets_key=secrets_key), revision)


def upgrade_if_behind(engine: Engine, *, secrets_key: str | None = None) -> bool:
    """Migrate to the newest revision unless the database is there already; True if it ran."""
    if stored_revision(engine) == HEAD:
        return False
    upgrade(engine, secrets_key=secrets_key)
    return True


def downgrade(engine: Engine, revision: str, *, secrets_key: str | None = None) -> None:
    from alembic import command

    command.downgrade(alembic_config(engine, secrets_key=secrets_key), revision)


def head_revision() -> str | None:
    """The newest revision among the migration scripts (Alembic's view)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config_without_engine()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def stored_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version`` by one query (None: no table, or several
    rows, which only Alembic can interpret)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no such table yet: a new database
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def alembic_config_without_engine() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
