"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from stellarstream import __version__
from stellarstream.api.access import AccessLogMiddleware
from stellarstream.api.deps import AppContext
from stellarstream.api.errors import install_error_handlers
from stellarstream.api.metrics import Metrics
from stellarstream.api.metrics import router as metrics_router
from stellarstream.api.middleware import RequestIdMiddleware
from stellarstream.api.pages import dashboard as dashboard_page
from stellarstream.api.pages import docs as docs_pages
from stellarstream.api.pages import invoice as invoice_page
from stellarstream.api.ratelimit import RateLimiter, RateLimitMiddleware
from stellarstream.api.routers import (
    auth,
    health,
    invoice_links,
    live,
    payments,
    streams,
    webhooks,
    well_known,
)
from stellarstream.api.schemas.common import ErrorResponse
from stellarstream.clock import Clock, utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import (
    make_engine,
    make_read_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from stellarstream.db.hot import HotReads
from stellarstream.invoices.followers import Followers
from stellarstream.invoices.submission import Submissions
from stellarstream.streams.cache import VersionedCache
from stellarstream.tokens.directory import TokenDirectory

log = structlog.get_logger(__name__)

SWITCH_INTERVAL_SECONDS = 0.001
TOKEN_REFRESH_SECONDS = 30.0


async def refresh_tokens(tokens: TokenDirectory) -> None:
    """Keep this worker's token names current: the table, and tokens in use it lacks."""
    while True:
        try:
            await run_in_threadpool(tokens.refresh)
        except Exception:  # the database away for a moment: the next pass tries again
            log.warning("token_metadata_refresh_failed", exc_info=True)
        await asyncio.sleep(TOKEN_REFRESH_SECONDS)


def create_app(settings: Settings, *, clock: Clock = utc_now) -> FastAPI:
    """Build the API for ``settings``. The database schema must already be migrated."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    context = AppContext(
        settings=settings,
        engine=engine,
        sessions=sessions,
        read_sessions=make_read_sessionmaker(engine),
        read_engine=make_read_engine(engine),
        hot=None if engine.dialect.name == "sqlite" else HotReads(settings.resolved_database_url),
        clock=clock,
        stats_cache=VersionedCache(settings.stats_max_age_seconds, lambda: clock().timestamp()),
        pause_cache=VersionedCache(
            settings.stats_max_age_seconds, lambda: clock().timestamp(), single_flight=False
        ),
        tokens=TokenDirectory(settings, sessions, clock),
    )

    metrics = Metrics(engine, clock)
    limiter = RateLimiter.from_settings(settings, clock) if settings.rate_limits_enabled else None
    followers = Followers(lambda: Submissions(settings, context.sessions, clock))
    feed = live.make_feed(context)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # What the process holds once started (modules, the app, the ORM's mappings) lives as
        # long as it does: kept out of the cyclic GC, whose full collections otherwise walk it
        # again and again under load (bench/api.py: `?address=` 156 -> 249 req/s at peak).
        gc.collect()
        gc.freeze()
        # Requests run in a thread pool; each database round trip hands the GIL over and waits
        # to get it back. At the default 5 ms switch interval a request waited up to 5 ms per
        # round trip behind other requests' Python (bench/api.py: p50 at half rate 35 ms with
        # the workers 50% busy); at 1 ms, it waits at most 1 ms.
        if context.hot is not None:
            await context.hot.open()
        await feed.start()
        token_names = asyncio.create_task(refresh_tokens(context.tokens), name="token-metadata")
        previous = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        yield
        token_names.cancel()
        await feed.stop()
        sys.setswitchinterval(previous)  # as it was (a process that starts several apps: tests)
        gc.unfreeze()  # collectable again
        followers.close()
        if limiter is not None:
            await limiter.backend.close()
        engine.dispose()
        if context.hot is not None:
            await context.hot.close()

    app = FastAPI(
        title="StellarStream API",
        version=__version__,
        description="Token payment streams on Stellar: streams, invoice links, SEP-10 auth.",
        lifespan=lifespan,
        docs_url=None,  # pages.docs: the same pages, offline and under a strict CSP
        redoc_url=None,
        responses={
            400: {"model": ErrorResponse},
            401: {"model": ErrorResponse},
            404: {"model": ErrorResponse},
            409: {"model": ErrorResponse},
            422: {"model": ErrorResponse},
            429: {"model": ErrorResponse, "description": "Rate limited (see Retry-After)"},
        },
    )
    app.state.context = context
    app.state.metrics = metrics
    app.state.followers = followers
    app.state.feed = feed
    install_error_handlers(app)
    if limiter is not None:  # innermost of the middlewares: CORS headers reach a 429 too
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
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
    app.add_middleware(AccessLogMiddleware, metrics=metrics.http)
    app.add_middleware(RequestIdMiddleware)  # outermost: the access log line has the request id
    # Streams first: every request walks the routes in order, and wallets poll these most.
    for router in (streams.router, live.router, health.router, auth.router, invoice_links.router):
        app.include_router(router)
    for router in (payments.router, webhooks.router, well_known.router, invoice_page.router):
        app.include_router(router)
    app.include_router(dashboard_page.router)
    app.include_router(metrics_router)
    # The page bundles (web/, built by esbuild and committed): same origin, loaded with SRI.
    app.mount("/static", StaticFiles(packages=[("stellarstream.api", "static")]), name="static")
    docs_pages.install(app)
    return app
