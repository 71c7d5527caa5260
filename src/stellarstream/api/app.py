"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from stellarstream import __version__
from stellarstream.api.deps import AppContext
from stellarstream.api.errors import install_error_handlers
from stellarstream.api.middleware import RequestIdMiddleware
from stellarstream.api.routers import auth, health, invoice_links, live, streams
from stellarstream.api.schemas.common import ErrorResponse
from stellarstream.clock import Clock, utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """Build the API for ``settings``. The database schema must already be migrated."""
    engine = make_engine(settings.resolved_database_url)
    context = AppContext(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), clock=clock
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="StellarStream API",
        version=__version__,
        description="Token payment streams on Stellar: streams, invoice links, SEP-10 auth.",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorResponse},
            401: {"model": ErrorResponse},
            404: {"model": ErrorResponse},
            409: {"model": ErrorResponse},
            422: {"model": ErrorResponse},
        },
    )
    app.state.context = context
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "X-Request-Id",
                "Last-Event-ID",
            ],
            expose_headers=["X-Request-Id", "Idempotent-Replayed", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestIdMiddleware)
    for router in (health.router, auth.router, invoice_links.router, streams.router, live.router):
        app.include_router(router)
    return app
