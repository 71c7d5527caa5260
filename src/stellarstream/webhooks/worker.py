"""Drain the webhook outbox: claim due deliveries with a lease, POST them signed, record each try.

Claiming is one short transaction: pick due rows (``PENDING``, ``next_attempt_at <= now``, no
live lease) with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises
writers instead), set ``locked_until = now + lease`` and ``locked_by``, count the attempt. The
HTTP call happens outside any transaction; every attempt is then written to ``webhook_attempts``
and its result to the delivery, the latter only while this worker still holds the lease. A
worker that dies leaves the lease to run out, and the row is claimed again: delivery is
at-least-once, with ``webhook-id`` (the event id) as the receivers' idempotency key.

Signing is Standard Webhooks (:mod:`.signature`), with the endpoint's secret decrypted in memory
(:mod:`stellarstream.secretbox`), plus the previous secret during the 24 h after a rotation.

Backoff after a failed attempt ``n`` (1-based, counted from the last requeue): ``min(max,
initial * 2**(n-1))`` seconds, +-10 % jitter; a row whose next attempt would fall after the
retry window (3 days by default, ``STELLARSTREAM_WEBHOOK_RETRY_WINDOW_SECONDS``) from its
creation, or from its last retry/replay, becomes FAILED.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

import httpx
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from stellarstream import __version__
from stellarstream.clock import Clock, utc_now
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.invoice_status import OPEN, InvoiceStatus
from stellarstream.db.models import (
    InvoiceLink,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSweep,
)
from stellarstream.retry import Backoff
from stellarstream.secretbox import SecretBox, UnreadableSecret
from stellarstream.webhooks.outbox import DELIVERED, FAILED, PENDING, enqueue_invoice_event
from stellarstream.webhooks.signature import sign_headers

log = structlog.get_logger(__name__)

EXCERPT = 500
EXPIRY_SWEEP = "invoice-expiry"


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    timeout: float = 10.0
    retry_initial: float = 30.0
    retry_max: float = 21600.0
    retry_window: float = 3 * 86400.0
    poll: float = 1.0
    lease: float = 60.0
    batch: int = 20
    concurrency: int = 4
    sweep_every: float = 10.0  # seconds between expiry sweeps

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerConfig:
        return cls(
            timeout=settings.webhook_timeout_seconds,
            retry_initial=settings.webhook_retry_initial_seconds,
            retry_max=settings.webhook_retry_max_seconds,
            retry_window=settings.webhook_retry_window_seconds,
            poll=settings.webhook_poll_seconds,
            # The lease must outlast one attempt, or a slow receiver gets a duplicate.
            lease=max(settings.webhook_lease_seconds, 2 * settings.webhook_timeout_seconds),
            batch=settings.webhook_batch_size,
            concurrency=settings.webhook_concurrency,
        )


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    event_id: str
    event_type: str
    body: str
    attempts: int  # this attempt's number (every attempt since the delivery was queued)
    scheduled_from: datetime  # the retry window starts here (creation, or the last requeue)
    round_attempts: int  # attempts since then (the backoff's n)
    url: str
    secrets: tuple[str, ...]  # signing secrets in clear (current first); empty: unreadable
    problem: str | None = None  # why the delivery cannot be signed


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    response: str
    started_at: datetime | None = None
    duration_ms: int = 0


class WebhookWorker:
    """One worker; any number may run against the same database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: WorkerConfig,
        box: SecretBox,
        *,
        clock: Clock = utc_now,
        stop: threading.Event | None = None,
        http: httpx.Client | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self.config = config
        self._box = box
        self._clock = clock
        self.stop = stop or threading.Event()
        self._http = http or httpx.Client(
            timeout=config.timeout,
            follow_redirects=False,
            headers={"User-Agent": f"StellarStream-Webhooks/{__version__}"},
        )
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._retry = Backoff(
            base=config.retry_initial,
            cap=config.retry_max,
            jitter="spread",
            spread=0.1,
            max_exponent=40,
        )
        # The loop's own pause after a database error: poll * 2**failures, at most 30 s.
        self._error_pause = Backoff(base=config.poll, cap=30.0)
        self._next_sweep = 0.0

    def close(self) -> None:
        self._http.close()

    # --- one pass ---

    def run_once(self) -> int:
        """Sweep expiries, then claim and deliver one batch; return how many were attempted."""
        if time.monotonic() >= self._next_sweep:
            self.sweep_expired()
            self._next_sweep = time.monotonic() + self.config.sweep_every
        claims = self.claim()
        if not claims:
            return 0
        if len(claims) == 1 or self.config.concurrency == 1:
            for claim in claims:
                self.deliver(claim)
        else:
            with ThreadPoolExecutor(min(self.config.concurrency, len(claims))) as pool:
                list(pool.map(self.deliver, claims))
        return len(claims)

    def claim(self) -> list[Claim]:
        now = self._clock()
        with self._sessions() as session, session.begin():
            ids = list(
                session.scalars(
                    select(WebhookDelivery.id)
                    .where(
                        WebhookDelivery.status == PENDING,
                        WebhookDelivery.next_attempt_at <= now,
                        or_(
                            WebhookDelivery.locked_until.is_(None),
                            WebhookDelivery.locked_until <= now,
                        ),
                    )
                    .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                    .limit(self.config.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(
                    locked_until=now + timedelta(seconds=self.config.lease),
                    locked_by=self.worker_id,
                    attempts=WebhookDelivery.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows = session.execute(
                select(WebhookDelivery, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            ).all()
            return [self._claim(d, endpoint, now) for d, endpoint in rows]

    def _claim(self, d: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> Claim:
        problem = None
        try:
            signing = [self._box.decrypt(endpoint.secret_encrypted)]
            expires = endpoint.previous_secret_expires_at
            if endpoint.previous_secret_encrypted and expires is not None and expires > now:
                signing.append(self._box.decrypt(endpoint.previous_secret_encrypted))
        except UnreadableSecret as exc:
            signing, problem = [], f"not sent: {exc}"
        return Claim(
            d.id,
            d.event_id,
            d.event_type,
            d.body,
            d.attempts,
            d.requeued_at or d.created_at,
            d.attempts - d.attempts_at_requeue,
            endpoint.url,
            tuple(signing),
            problem,
        )

    def deliver(self, claim: Claim) -> Outcome:
        outcome = self.attempt(claim)
        self.record(claim, outcome)
        return outcome

    def attempt(self, claim: Claim) -> Outcome:
        """POST one delivery, signed now; never raises."""
        started, clock = self._clock(), time.monotonic()

        def done(ok: bool, status_code: int | None, response: str) -> Outcome:
            duration = round((time.monotonic() - clock) * 1000)
            return Outcome(ok, status_code, response, started, duration)

        if claim.problem is not None or not claim.secrets:
            return done(False, None, (claim.problem or "not sent: no signing secret")[:EXCERPT])
        body = claim.body.encode()
        headers = {
            "Content-Type": "application/json",
            **sign_headers(claim.secrets, claim.event_id, int(time.time()), body),
            "StellarStream-Event-Type": claim.event_type,
            "StellarStream-Delivery-Id": str(claim.id),
            "StellarStream-Delivery-Attempt": str(claim.attempts),
        }
        try:
            response = self._http.post(claim.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return done(False, None, f"timed out after {self.config.timeout:g} s")
        except httpx.HTTPError as exc:
            return done(False, None, f"{type(exc).__name__}: {exc}"[:EXCERPT])
        excerpt = response.text[:EXCERPT]
        return done(200 <= response.status_code < 300, response.status_code, excerpt)

    def backoff(self, attempts: int) -> float:
        """Seconds until the next try of a delivery whose ``attempts``-th try failed."""
        return self._retry.delay(attempts, self._rng)

    def record(self, claim: Claim, outcome: Outcome) -> None:
        now = self._clock()
        values: dict[str, object] = {
            "last_attempt_at": now,
            "last_status_code": outcome.status_code,
            "last_response": outcome.response,
            "locked_until": None,
            "locked_by": None,
        }
        if outcome.ok:
            values.update(status=DELIVERED, delivered_at=now)
        else:
            retry_at = now + timedelta(seconds=self.backoff(claim.round_attempts))
            if retry_at > claim.scheduled_from + timedelta(seconds=self.config.retry_window):
                values.update(status=FAILED)
            else:
                values.update(next_attempt_at=retry_at)
        with self._sessions() as session, session.begin():
            exists = session.scalar(  # locked: an endpoint's deletion waits for this record
                select(WebhookDelivery.id).where(WebhookDelivery.id == claim.id).with_for_update()
            )
            if exists is not None:  # (or it was deleted meanwhile: nothing to record)
                session.add(
                    WebhookAttempt(
                        delivery_id=claim.id,
                        attempt=claim.attempts,
                        attempted_at=outcome.started_at or now,
                        duration_ms=outcome.duration_ms,
                        ok=outcome.ok,
                        status_code=outcome.status_code,
                        response=outcome.response,
                    )
                )
                session.flush()
            result = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claim.id,
                    WebhookDelivery.locked_by == self.worker_id,
                    WebhookDelivery.status == PENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        recorded = result.rowcount == 1  # type: ignore[attr-defined]
        log.info(
            "webhook_attempt",
            delivery_id=claim.id,
            event_type=claim.event_type,
            attempt=claim.attempts,
            ok=outcome.ok,
            status_code=outcome.status_code,
            final=values.get("status"),
            recorded=recorded,
        )

    def sweep_expired(self) -> int:
        """Queue ``invoice.expired`` for open links whose expiry passed since the last sweep."""
        now = self._clock()
        try:
            with self._sessions() as session, session.begin():
                sweep = session.get(WebhookSweep, EXPIRY_SWEEP, with_for_update=True)
                since = (
                    sweep.swept_to
                    if sweep is not None
                    else now - timedelta(seconds=self.config.retry_window)
                )
                links = list(
                    session.scalars(
                        select(InvoiceLink).where(
                            InvoiceLink.status.in_([s.value for s in OPEN]),
                            InvoiceLink.expires_at.is_not(None),
                            InvoiceLink.expires_at > since,
                            InvoiceLink.expires_at <= now,
                        )
                    )
                )
                for link in links:
                    enqueue_invoice_event(
                        session,
                        link,
                        "invoice.expired",
                        now=now,
                        status=InvoiceStatus.EXPIRED,
                        event_id=f"{link.id}-expired",
                    )
                if sweep is None:
                    session.add(WebhookSweep(name=EXPIRY_SWEEP, swept_to=now))
                elif now > sweep.swept_to:
                    sweep.swept_to = now
        except IntegrityError:
            return 0  # another worker created the sweep row first: it sweeps this time
        return len(links)

    # --- the loop ---

    def run(self) -> None:
        """Until ``stop`` is set: drain, then wait ``poll`` seconds when idle."""
        failures = 0
        while not self.stop.is_set():
            try:
                busy = self.run_once()
                failures = 0
            except Exception as exc:  # a database hiccup must not end the worker
                failures += 1
                delay = self._error_pause.delay(failures + 1)
                log.exception("webhook_worker_error", error=str(exc), retry_in_seconds=delay)
                self.stop.wait(delay)
                continue
            if not busy:
                self.stop.wait(self.config.poll)


def run_worker(settings: Settings) -> int:
    """``stellarstream webhooks``: run until SIGTERM/SIGINT, finishing in-flight deliveries."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("webhooks_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    engine = make_engine(settings.resolved_database_url)
    worker = WebhookWorker(
        make_sessionmaker(engine),
        WorkerConfig.from_settings(settings),
        SecretBox(settings.secrets_key_value),
        stop=stop,
    )
    log.info("webhooks_started", worker_id=worker.worker_id)
    try:
        worker.run()
    finally:
        worker.close()
        engine.dispose()
    log.info("webhooks_stopped", worker_id=worker.worker_id)
    return 0
