"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from stellarstream.api.deps import Context
from stellarstream.db.migrate import current_revision, head_revision
from stellarstream.ops.lag import lag_check

router = APIRouter(tags=["health"])


@router.get("/livez")
def livez() -> dict[str, str]:
    """The process is up (no dependencies checked)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(context: Context) -> JSONResponse:
    """Ready to serve: the database answers, its schema is at the newest migration and the
    indexer is within ``STELLARSTREAM_MAX_LAG_LEDGERS`` of the network."""
    checks: dict[str, str] = {}
    try:
        with context.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current, head = current_revision(context.engine), head_revision()
        checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
        if current == head:
            checks["indexer"] = lag_check(context.engine, context.settings.max_lag_ledgers)
    except Exception as exc:  # any database failure means "not ready", reported, not raised
        checks["database"] = f"unreachable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
