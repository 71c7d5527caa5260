"""FastAPI dependencies: the app context, the authenticated account, services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.auth.tokens import verify_token
from stellarstream.clock import Clock
from stellarstream.config import Settings
from stellarstream.db.hot import HotReads
from stellarstream.errors import AuthError
from stellarstream.invoices.service import InvoiceService
from stellarstream.streams.cache import VersionedCache
from stellarstream.streams.service import StreamService
from stellarstream.streams.stats import Stats
from stellarstream.tokens.directory import TokenDirectory


@dataclass(frozen=True, slots=True)
class AppContext:
    """What every request handler may use; built once per process in ``create_app``."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]  # read-only requests (autocommit on PostgreSQL)
    read_engine: Engine  # the same, for Core reads without a session
    hot: HotReads | None  # PostgreSQL: the hottest read, on the event loop
    clock: Clock
    stats_cache: VersionedCache[Stats]  # this process's last /stats figures
    pause_cache: VersionedCache[frozenset[str]]  # this process's last pause state
    tokens: TokenDirectory  # token symbols and decimals (settings, then the chain's word)


async def get_context(request: Request) -> AppContext:  # async: no thread pool hop
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]

_bearer = HTTPBearer(auto_error=False, description="JWT from POST /api/v1/auth/token")


def current_account(
    context: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The Stellar account of a valid bearer token, or 401 saying what is wrong."""
    if credentials is None:
        raise AuthError("missing bearer token: send Authorization: Bearer <token>")
    if credentials.scheme.lower() != "bearer":
        raise AuthError("authorization scheme must be Bearer")
    return verify_token(context.settings.jwt_key, credentials.credentials, context.clock())


Account = Annotated[str, Depends(current_account)]


def get_invoice_service(context: Context) -> InvoiceService:
    return InvoiceService(context.sessions, context.clock)


Invoices = Annotated[InvoiceService, Depends(get_invoice_service)]


def stream_service(context: AppContext) -> StreamService:
    """The stream queries with this process's caches."""
    return StreamService(
        context.sessions,
        context.clock,
        context.settings.contract_ids,
        context.stats_cache,
        context.pause_cache,
    )


async def get_stream_service(context: Context) -> StreamService:  # async: no thread hop
    return stream_service(context)


Streams = Annotated[StreamService, Depends(get_stream_service)]
