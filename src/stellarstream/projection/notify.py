"""The channel that tells API workers new events are stored (``streams.feed`` listens on it)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = "stellarstream_events"


def notify(session: Session) -> None:
    """Tell API workers that this transaction stored events (PostgreSQL; at commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
