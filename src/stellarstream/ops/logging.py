"""Structured logging: JSON lines (or console lines for humans) through structlog."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SECRET_KEYS = frozenset(
    {"authorization", "token", "jwt_secret", "signing_secret", "secret", "password"}
)


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in SECRET_KEYS:
            event[key] = "[redacted]"
    return event


class _AlembicChatter(logging.Filter):
    """Alembic's INFO lines that say nothing to an operator: the plugins it loads (on every
    command that reads the revision) and its dialect notes. "Running upgrade ..." stays."""

    QUIET = ("setup plugin ", "Context impl ", "Will assume ")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno <= logging.INFO and str(record.msg).startswith(self.QUIET))


def resolve_format(fmt: str, stream: TextIO) -> str:
    """``auto`` (the default): console lines for a person at a terminal, JSON lines for
    anything else (a pipe, a file, PM2, systemd); ``json`` and ``console`` are kept as set."""
    if fmt != "auto":
        return fmt
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to ``stream`` (stdout) as JSON or console lines.

    Services log to stdout; one-shot commands whose stdout is data (``sync --json``) use stderr.
    """
    stream = stream or sys.stdout
    fmt = resolve_format(fmt, stream)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        # Below the level, an event is dropped before any processor runs (the access line of
        # every request, at level warning).
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Line-buffered: a supervisor (PM2, systemd) must see each line even if the process is killed.
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(line_buffering=True)
    handler = logging.StreamHandler(stream)
    handler.addFilter(_AlembicChatter())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
