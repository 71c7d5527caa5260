"""Fixtures shared by the ingestion tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.db.engine import make_engine, make_sessionmaker


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a fresh database of each backend."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()
