"""``/metrics``, ``/readyz``'s indexer lag check and the access log, on both databases."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history
from tests.support.clock import FakeClock
from tests.support.ops import BIN, clean_env, wait_for
from tests.support.seed import ingest_events

from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.invoices.service import InvoiceService, NewInvoice

C = ce.V2_CONTRACT


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``{(sample name, sorted labels): value}`` of a Prometheus text exposition."""
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def invoice(sessions_url: str, clock: FakeClock, *, expires_in: timedelta | None = None) -> None:
    engine = make_engine(sessions_url)
    InvoiceService(make_sessionmaker(engine), clock).create(
        ce.account(1),
        NewInvoice(
            receiver=ce.account(2),
            amount=10,
            token_address=ce.TOKEN,
            duration=60,
            expires_at=None if expires_in is None else clock() + expires_in,
        ),
    )
    engine.dispose()


def test_metrics_count_requests_by_route_template_and_read_the_database(
    client: httpx.Client, settings: Settings, clock: FakeClock
) -> None:
    ingest_events(settings.resolved_database_url, stream_history(3), [C], latest_ledger=150)
    invoice(settings.resolved_database_url, clock)
    invoice(settings.resolved_database_url, clock, expires_in=timedelta(hours=1))
    clock.advance(2 * 3600)  # the second link is now EXPIRED for readers
    for n in range(3):
        assert client.get(f"/api/v1/streams/{C}-{n}").status_code in (200, 404)
    client.get("/api/v1/streams", params={"limit": "nope"})
    client.get("/no/such/page")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)

    by_route = {
        labels: value
        for (name, labels), value in got.items()
        if name == "stellarstream_http_requests_total"
    }
    streams = dict(by_route)
    detail = [
        v
        for labels, v in streams.items()
        if ("route", "/api/v1/streams/{stream_id}") in labels and ("method", "GET") in labels
    ]
    assert sum(detail) == 3  # three ids, one route template
    assert by_route[(("method", "GET"), ("route", "/api/v1/streams"), ("status", "422"))] == 1
    assert by_route[(("method", "GET"), ("route", "<unmatched>"), ("status", "404"))] == 1
    count = got[
        (
            "stellarstream_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/api/v1/streams/{stream_id}")),
        )
    ]
    assert count == 3

    top = max(e.ledger for e in stream_history(3))
    assert got[("stellarstream_indexer_ledger", (("contract", C),))] == top
    assert got[("stellarstream_indexer_network_latest_ledger", (("contract", C),))] == 150
    assert got[("stellarstream_indexer_lag_ledgers", (("contract", C),))] == 150 - top
    ingested = {
        dict(labels)["event_type"]: v
        for (name, labels), v in got.items()
        if name == "stellarstream_events_ingested_total"
    }
    assert sum(ingested.values()) == len(stream_history(3)) and ingested["create_v2"] == 3
    invoices = {
        dict(labels)["status"]: v
        for (name, labels), v in got.items()
        if name == "stellarstream_invoice_links"
    }
    assert invoices == {"DRAFT": 1, "SIGNED": 0, "COMPLETED": 0, "EXPIRED": 1, "CANCELED": 0}


def test_readyz_fails_when_the_indexer_lags_too_far(
    client: httpx.Client, settings: Settings
) -> None:
    body = client.get("/readyz").json()
    assert body["checks"]["indexer"] == "ok"  # no checkpoint yet: the API still serves
    events = stream_history(2)
    top = max(e.ledger for e in events)
    ingest_events(settings.resolved_database_url, events, [C], latest_ledger=top + 100)
    assert client.get("/readyz").status_code == 200  # exactly at the limit (100)
    ingest_events(settings.resolved_database_url, events, [C], latest_ledger=top + 101)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["indexer"] == (
        "lagging: 101 ledgers behind the network (limit 100)"
    )


def test_one_json_access_log_line_per_request_with_request_id_and_no_secrets(
    tmp_path: Path, database_url: str
) -> None:
    """The real ``stellarstream api`` process, its stdout read as JSON lines."""
    port = free_port()
    env = clean_env(
        STELLARSTREAM_DATABASE_URL=database_url,
        STELLARSTREAM_VAR_DIR=str(tmp_path / "var"),
        STELLARSTREAM_PORT=str(port),
        STELLARSTREAM_LOG_FORMAT="json",
    )
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "stellarstream"), "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
    slug = "SluggySecretSlug1234"
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base), timeout=60, what="the API")
        response = httpx.get(
            f"{base}/api/v1/invoice-links/{slug}?token=hush",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "trace-me-1"},
        )
        assert response.status_code == 404
        wait_for(lambda: "trace-me-1" in log.read_text(), timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    text = log.read_text()
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(entries) == len(text.splitlines())  # every line is JSON
    mine = [e for e in entries if e.get("request_id") == "trace-me-1"]
    access = [e for e in mine if e["event"] == "http_request"]
    assert len(access) == 1
    assert access[0]["method"] == "GET" and access[0]["route"] == "/api/v1/invoice-links/{slug}"
    assert access[0]["status"] == 404 and access[0]["duration_ms"] >= 0
    assert token not in text and slug not in text and "hush" not in text


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/livez", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


MULTIPROCESS_SCRIPT = """
import os, sys
from pathlib import Path
from prometheus_client.parser import text_string_to_metric_families
from stellarstream.api.metrics import HttpMetrics, Metrics
from stellarstream.clock import utc_now
from stellarstream.db.engine import make_engine
from stellarstream.ops.gunicorn import mark_worker_dead

engine = make_engine(sys.argv[1])
metrics = Metrics(engine, utc_now)
assert metrics.multiprocess
metrics.http.observe("GET", "/livez", 200, 0.01)
# Another worker's file, as a forked worker would leave it.
pid = os.fork()
if pid == 0:
    Metrics(engine, utc_now).http.observe("GET", "/livez", 200, 0.02)
    os._exit(0)
os.waitpid(pid, 0)
mark_worker_dead(pid)
text = metrics.render().decode()
for family in text_string_to_metric_families(text):
    for s in family.samples:
        if s.name == "stellarstream_http_requests_total":
            print(s.value)
"""


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "prom"
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRIPT, settings.resolved_database_url],
        env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2.0"]
