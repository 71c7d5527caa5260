"""Webhook endpoints: register, list, delete, rotate secrets, read, retry and replay deliveries.

Everything is issuer-owned: another issuer's endpoint answers 404 (as if it did not exist).
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from stellarstream.clock import Clock
from stellarstream.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from stellarstream.errors import Conflict, NotFound, ValidationError
from stellarstream.pagination import check_limit, decode_cursor, encode_cursor
from stellarstream.secretbox import SecretBox
from stellarstream.webhooks.outbox import EVENT_TYPES, PENDING, WILDCARDS
from stellarstream.webhooks.signature import new_secret

MAX_ENDPOINTS = 10
ROTATION_OVERLAP = timedelta(hours=24)
"""How long a rotated-out secret keeps signing (a second signature) after a rotation."""
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


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{field} must include a time zone, e.g. 2026-12-01T00:00:00Z", field=field
        )
    return value


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[WebhookDelivery]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class NewSecret:
    """An endpoint with its secret in clear: only returned by create and rotate."""

    endpoint: WebhookEndpoint
    secret: str


def requeue_values(now: datetime) -> dict[str, object]:
    """What a retry or replay sets: due now, a fresh retry schedule, any lease dropped (an
    attempt in flight is still recorded, but its result no longer decides the row)."""
    return {
        "status": PENDING,
        "next_attempt_at": now,
        "requeued_at": now,
        "attempts_at_requeue": WebhookDelivery.attempts,
        "locked_until": None,
        "locked_by": None,
        "delivered_at": None,
    }


class WebhookService:
    """Endpoints belong to the issuer that registered them; others' answer 404."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        box: SecretBox,
        *,
        allow_http_localhost: bool,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._box = box
        self._allow_http_localhost = allow_http_localhost

    def create(
        self,
        owner: str,
        url: str,
        *,
        event_types: list[str] | None = None,
        description: str | None = None,
    ) -> NewSecret:
        """Register an endpoint; its secret is only ever returned here (and stored encrypted)."""
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
            secret = new_secret()
            endpoint = WebhookEndpoint(
                id=uuid.uuid4().hex,
                owner=owner,
                url=url,
                secret_encrypted=self._box.encrypt(secret),
                event_types=event_types,
                description=description,
                created_at=self._clock(),
            )
            session.add(endpoint)
        return NewSecret(endpoint, secret)

    def rotate_secret(self, owner: str, endpoint_id: str) -> NewSecret:
        """A new secret; the current one keeps signing beside it for :data:`ROTATION_OVERLAP`.

        Rotating again within that time retires the secret in overlap at once (only the
        newest two sign).
        """
        now = self._clock()
        with self._sessions() as session, session.begin():
            endpoint = self._owned(session, owner, endpoint_id, lock=True)
            secret = new_secret()
            endpoint.previous_secret_encrypted = endpoint.secret_encrypted
            endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
            endpoint.secret_encrypted = self._box.encrypt(secret)
        return NewSecret(endpoint, secret)

    def list_for(self, owner: str) -> list[WebhookEndpoint]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(WebhookEndpoint)
                    .where(WebhookEndpoint.owner == owner)
                    .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
                )
            )

    def _owned(
        self, session: Session, owner: str, endpoint_id: str, *, lock: bool = False
    ) -> WebhookEndpoint:
        endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
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
            deliveries = select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == endpoint.id
            )
            session.execute(
                delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
            )
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

    def _delivery(
        self, session: Session, owner: str, endpoint_id: str, delivery_id: int
    ) -> WebhookDelivery:
        self._owned(session, owner, endpoint_id)
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.endpoint_id != endpoint_id:
            raise NotFound(f"no delivery {delivery_id} to webhook endpoint {endpoint_id!r}")
        return delivery

    def delivery(
        self, owner: str, endpoint_id: str, delivery_id: int
    ) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
        """One delivery and every attempt of it, oldest first."""
        with self._sessions() as session:
            delivery = self._delivery(session, owner, endpoint_id, delivery_id)
            attempts = list(
                session.scalars(
                    select(WebhookAttempt)
                    .where(WebhookAttempt.delivery_id == delivery_id)
                    .order_by(WebhookAttempt.id)
                )
            )
        return delivery, attempts

    def retry(self, owner: str, endpoint_id: str, delivery_id: int) -> WebhookDelivery:
        """Send the delivery again now (whatever its status), with the same event id."""
        now = self._clock()
        with self._sessions() as session, session.begin():
            self._delivery(session, owner, endpoint_id, delivery_id)
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(**requeue_values(now))
                .execution_options(synchronize_session=False)
            )
        with self._sessions() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        return delivery

    def replay(
        self, owner: str, endpoint_id: str, since: datetime, until: datetime | None = None
    ) -> int:
        """Queue again every delivery to the endpoint created at or after ``since`` (and before
        ``until``), whatever its status; each keeps its event id. Returns how many."""
        since = _aware(since, "since")
        now = self._clock()
        if since > now:
            raise ValidationError(
                f"since must not be in the future (it is {since.isoformat()}, "
                f"the server's time is {now.isoformat()})",
                field="since",
            )
        conditions = [
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.created_at >= since,
        ]
        if until is not None:
            until = _aware(until, "until")
            if until <= since:
                raise ValidationError("until must be after since", field="until")
            conditions.append(WebhookDelivery.created_at < until)
        with self._sessions() as session, session.begin():
            self._owned(session, owner, endpoint_id)
            result = session.execute(
                update(WebhookDelivery)
                .where(*conditions)
                .values(**requeue_values(now))
                .execution_options(synchronize_session=False)
            )
        return int(result.rowcount)  # type: ignore[attr-defined]
