"""Prometheus metrics: HTTP requests and latency by route, and database-derived gauges.

Under gunicorn every worker is its own process. ``deploy/gunicorn.conf.py`` sets
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's own switch) to a fresh folder before any worker
starts; each worker then writes its counters to files there and a scrape of any worker adds them
all up (``MultiProcessCollector``). Without that variable (one process: ``stellarstream api``,
tests) each app keeps a private registry.

Indexer position, events ingested and invoice links by status are read from the database at
scrape time (cached for a few seconds), so every worker reports the same numbers and no process
has to push them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine, and_, case, func, select

from stellarstream.clock import Clock
from stellarstream.db.models import ContractEventRow, InvoiceLink
from stellarstream.invoices.lifecycle import OPEN, InvoiceStatus
from stellarstream.ops.lag import contract_lags

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED_ROUTE = "<unmatched>"


def multiprocess_mode() -> bool:
    """True when prometheus-client writes metric values to ``PROMETHEUS_MULTIPROC_DIR``."""
    return bool(os.environ.get(MULTIPROC_ENV))


@dataclass
class HttpMetrics:
    """Request count and latency by method, route template and status."""

    requests: Counter
    latency: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry | None) -> HttpMetrics:
        return cls(
            requests=Counter(
                "stellarstream_http_requests",
                "HTTP requests by method, route template and status code.",
                ["method", "route", "status"],
                registry=registry,
            ),
            latency=Histogram(
                "stellarstream_http_request_duration_seconds",
                "HTTP request latency (until the response ends) by method and route template.",
                ["method", "route"],
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


@dataclass(eq=False)  # registries keep collectors in sets: hash by identity
class DatabaseCollector:
    """Gauges computed from the database when scraped (cached ``ttl`` seconds per process)."""

    engine: Engine
    clock: Clock
    ttl: float = 5.0
    _cached: list[Metric] = field(default_factory=list)
    _at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration: no database query before the first scrape

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._cached = list(self._read())
                self._at = time.monotonic()
            yield from self._cached

    def _read(self) -> Iterable[Metric]:
        now = self.clock()
        ledger = GaugeMetricFamily(
            "stellarstream_indexer_ledger",
            "Last ledger the live indexer has fully stored, by contract.",
            labels=["contract"],
        )
        latest = GaugeMetricFamily(
            "stellarstream_indexer_network_latest_ledger",
            "The network's newest ledger when the indexer last asked, by contract.",
            labels=["contract"],
        )
        lag = GaugeMetricFamily(
            "stellarstream_indexer_lag_ledgers",
            "Ledgers the live indexer trails the network by, by contract.",
            labels=["contract"],
        )
        age = GaugeMetricFamily(
            "stellarstream_indexer_checkpoint_age_seconds",
            "Seconds since the live indexer last committed a checkpoint, by contract.",
            labels=["contract"],
        )
        for state in contract_lags(self.engine):
            ledger.add_metric([state.contract_id], state.ledger)
            age.add_metric([state.contract_id], _seconds_between(state.updated_at, now))
            if state.latest_ledger is not None:
                latest.add_metric([state.contract_id], state.latest_ledger)
            if state.lag is not None:
                lag.add_metric([state.contract_id], state.lag)
        yield from (ledger, latest, lag, age)

        events = CounterMetricFamily(
            "stellarstream_events_ingested",
            "Contract events stored, by contract and event type.",
            labels=["contract", "event_type"],
        )
        invoices = GaugeMetricFamily(
            "stellarstream_invoice_links",
            "Invoice links by status (as readers see it: open links past expiry are EXPIRED).",
            labels=["status"],
        )
        effective = case(
            (
                and_(
                    InvoiceLink.status.in_([s.value for s in OPEN]),
                    InvoiceLink.expires_at.is_not(None),
                    InvoiceLink.expires_at <= now,
                ),
                InvoiceStatus.EXPIRED.value,
            ),
            else_=InvoiceLink.status,
        )
        with self.engine.connect() as conn:
            for contract, event_type, count in conn.execute(
                select(ContractEventRow.contract_id, ContractEventRow.event_type, func.count())
                .group_by(ContractEventRow.contract_id, ContractEventRow.event_type)
                .order_by(ContractEventRow.contract_id, ContractEventRow.event_type)
            ):
                events.add_metric([contract, event_type], count)
            counts: dict[str, int] = {
                status: count
                for status, count in conn.execute(
                    select(effective, func.count()).group_by(effective)
                )
            }
        for status in InvoiceStatus:
            invoices.add_metric([status.value], counts.get(status.value, 0))
        yield from (events, invoices)


def _seconds_between(earlier: datetime, later: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


class Metrics:
    """One app's metrics: what it records per request and what a scrape exposes."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.multiprocess = multiprocess_mode()
        self._database = DatabaseCollector(engine, clock)
        self._registry: CollectorRegistry | None = None
        if self.multiprocess:
            # Values go to the shared folder; a scrape builds a registry over all workers.
            self.http = HttpMetrics.create(registry=None)
        else:
            self._registry = CollectorRegistry()
            self.http = HttpMetrics.create(registry=self._registry)
            self._registry.register(self._database)

    def render(self) -> bytes:
        if self._registry is not None:
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._database)
        return generate_latest(registry)


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics (text exposition format), summed over all API worker processes."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
