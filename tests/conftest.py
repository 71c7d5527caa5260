"""Shared fixtures: a fresh migrated database per test (SQLite and PostgreSQL), settings, a
movable clock, and the real API on a real HTTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.api.app import create_app
from stellarstream.config import Settings, load_settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from tests.support.clock import FakeClock
from tests.support.db import (
    PostgresDatabases,
    copy_sqlite,
    migrated_sqlite_template,
    postgres_admin_url,
    postgres_reachable,
)
from tests.support.missing_services import report as report_missing_services
from tests.support.server import serve

pytest_plugins = ["tests.support.payer_fixtures"]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    url = postgres_admin_url()
    reason = postgres_reachable(url)
    if reason is not None:
        message = f"PostgreSQL not reachable at {url}: {reason}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI needs it: a missing PostgreSQL is a failure)")
        pytest.skip(message)
    databases = PostgresDatabases(url)
    yield databases
    databases.close()


def _fresh(
    request: pytest.FixtureRequest, sqlite: bool, directory: Path, template: Path
) -> Iterator[str]:
    """A freshly migrated database: a copied SQLite file, or a PostgreSQL database from the
    template; dropped afterwards."""
    if sqlite:
        directory.mkdir(exist_ok=True)
        yield copy_sqlite(template, directory)
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    name = databases.create()
    yield databases.url_for(name)
    databases.drop(name)


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A freshly migrated database of each backend, one per test."""
    yield from _fresh(request, request.param == "sqlite", tmp_path, sqlite_template)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on ``database_url`` (each backend)."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def other_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A second fresh database of the same backend (to compare two runs)."""
    sqlite = database_url.startswith("sqlite")
    yield from _fresh(request, sqlite, tmp_path / "other", sqlite_template)


@pytest.fixture
def third_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A third fresh database of the same backend."""
    sqlite = database_url.startswith("sqlite")
    yield from _fresh(request, sqlite, tmp_path / "third", sqlite_template)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        public_url="http://pay.example.test",
        network="testnet",
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api_url(settings: Settings, clock: FakeClock) -> Iterator[str]:
    """The real API, served over HTTP on 127.0.0.1."""
    with serve(create_app(settings, clock=clock)) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=10) as http:
        yield http


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's last lines: one per service whose absence skipped tests (the run still exits
    0 locally; with CI set those fixtures fail). After pytest's own summary, so none is missed."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        report_missing_services(terminal)
