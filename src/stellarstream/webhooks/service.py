"""Webhook endpoints: register, list, delete, and read their deliveries (issuer-owned)."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.clock import Clock
from stellarstream.db.models import WebhookDelivery, WebhookEndpoint
from stellarstream.errors import Conflict, NotFound, ValidationError
from stellarstream.pagination import check_limit, decode_cursor, encode_cursor
from stellarstream.webhooks.outbox import EVENT_TYPES, WILDCARDS

MAX_ENDPOINTS = 10
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def check_url(url: str, *, allow_http_localhost: bool) -> str:
    """An ``https://`` URL (``http://`` to this machine only when allowed, for development)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError(f"url is not a valid URL: {exc}", field="url") from exc
    if not host or parts.username or parts.password:
        raise ValidationError("url must be https://host/path (no credentials)", field="url")
    local = host in LOCAL_HOSTS
    if parts.scheme == "http" and local and allow_http_localhost:
        return url
    if parts.scheme != "https":
        hint = (
            ""
            if allow_http_localhost
            else " (http://localhost needs STELLARSTREAM_WEBHOOKS_ALLOW_HTTP_LOCALHOST=true)"
        )
        raise ValidationError(f"url must be an https:// URL{hint}", field="url")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    internal = local or (
        address is not None and (address.is_private or address.is_loopback or address.is_link_local)
    )
    if internal and not allow_http_localhost:
        raise ValidationError("url must not point to a local or private address", field="url")
    return url


def check_event_types(event_types: list[str] | None) -> list[str] | None:
    if event_types is None:
        return None
    if not event_types:
        raise ValidationError(
            "eventTypes must not be empty (omit it for every event)", field="eventTypes"
        )
    for name in event_types:
        if name not in EVENT_TYPES and name not in WILDCARDS:
            raise ValidationError(
                f"unknown event type {name!r} (known: {', '.join((*WILDCARDS, *EVENT_TYPES))})",
                field="eventTypes",
            )
    return sorted(set(event_types))


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[WebhookDelivery]
    next_cursor: str | None


class WebhookService:
    """Endpoints belong to the issuer that registered them; others' answer 404."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, *, allow_http_localhost: bool
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._allow_http_localhost = allow_http_localhost

    def create(
        self,
        owner: str,
        url: str,
        *,
        event_types: list[str] | None = None,
        description: str | None = None,
    ) -> WebhookEndpoint:
        """Register an endpoint; its ``secret`` is only ever returned here."""
        url = check_url(url, allow_http_localhost=self._allow_http_localhost)
        event_types = check_event_types(event_types)
        with self._sessions() as session, session.begin():
            count = session.scalar(
                select(func.count())
                .select_from(WebhookEndpoint)
                .where(WebhookEndpoint.owner == owner)
            )
            if (count or 0) >= MAX_ENDPOINTS:
                raise Conflict(
                    f"an account may register at most {MAX_ENDPOINTS} webhook endpoints: "
                    "delete one first",
                    field="url",
                )
            endpoint = WebhookEndpoint(
                id=uuid.uuid4().hex,
                owner=owner,
                url=url,
                secret="whsec_" + secrets.token_urlsafe(32),
                event_types=event_types,
                description=description,
                created_at=self._clock(),
            )
            session.add(endpoint)
        return endpoint

    def list_for(self, owner: str) -> list[WebhookEndpoint]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.owner == owner)
                    .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
                )
            )

    def _owned(self, session: Session, owner: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or endpoint.owner != owner:
            raise NotFound(f"no webhook endpoint with id {endpoint_id!r}")
        return endpoint

    def get(self, owner: str, endpoint_id: str) -> WebhookEndpoint:
        with self._sessions() as session:
            return self._owned(session, owner, endpoint_id)

    def delete(self, owner: str, endpoint_id: str) -> None:
        """Delete the endpoint and its pending and past deliveries."""
        with self._sessions() as session, session.begin():
            endpoint = self._owned(session, owner, endpoint_id)
            session.execute(
                delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
            )
            session.delete(endpoint)

    def deliveries(
        self, owner: str, endpoint_id: str, *, limit: int, cursor: str | None
    ) -> DeliveryPage:
        """The endpoint's deliveries, newest first, with their attempts and last response."""
        check_limit(limit)
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        if cursor is not None:
            (last_id,) = decode_cursor(cursor, (int,))
            query = query.where(WebhookDelivery.id < last_id)
        with self._sessions() as session:
            self._owned(session, owner, endpoint_id)
            rows = list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1)))
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1].id)
        return DeliveryPage(rows, next_cursor)
