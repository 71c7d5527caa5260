"""``stellarstream webhooks`` as a real process: SIGKILL mid-delivery loses nothing, SIGTERM
stops cleanly. Delivery is at-least-once: only rows in flight at the kill may arrive twice, and
every copy carries the same ``webhook-id``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from standardwebhooks import Webhook
from stellar_sdk import Keypair
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link
from tests.support.webhook_receiver import running_receiver

from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import WebhookDelivery
from stellarstream.secretbox import SecretBox, new_key
from stellarstream.webhooks.service import WebhookService

BIN = Path(sys.executable).parent
BATCH = 4
KEY = new_key()


def worker_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(
        STELLARSTREAM_DATABASE_URL=database_url,
        STELLARSTREAM_VAR_DIR=str(tmp_path / "var"),
        STELLARSTREAM_RPC_URL="none",
        STELLARSTREAM_SECRETS_KEY=KEY,
        STELLARSTREAM_WEBHOOK_POLL_SECONDS="0.05",
        STELLARSTREAM_WEBHOOK_RETRY_INITIAL_SECONDS="0.2",
        STELLARSTREAM_WEBHOOK_TIMEOUT_SECONDS="0.75",
        STELLARSTREAM_WEBHOOK_LEASE_SECONDS="1.5",
        STELLARSTREAM_WEBHOOK_BATCH_SIZE=str(BATCH),
        STELLARSTREAM_WEBHOOK_CONCURRENCY=str(BATCH),
    )
    return env


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child writes into it
    return subprocess.Popen(
        [str(BIN / "stellarstream"), "webhooks"], env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def statuses(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(WebhookDelivery.status)))
    finally:
        engine.dispose()


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_sigkill_mid_delivery_then_restart_delivers_everything(
    database_url: str, tmp_path: Path
) -> None:
    issuer = Keypair.random().public_key
    clock = FakeClock()
    engine = make_engine(database_url)
    with running_receiver(delay=0.15) as (url, hook):
        created = WebhookService(
            make_sessionmaker(engine), clock, SecretBox(KEY), allow_http_localhost=True
        ).create(issuer, url)
        for _ in range(40):
            create_link(database_url, clock, issuer)  # 40 invoice.created events
        env = worker_env(database_url, tmp_path)
        log = tmp_path / "webhooks.log"
        first = spawn(env, log)
        wait_for(lambda: len(hook.accepted) >= 10)
        first.kill()  # mid-way: a batch is in flight, leases held
        first.wait(10)
        accepted_at_kill = len(hook.accepted)
        assert accepted_at_kill < 40, "the worker finished before it could be killed"
        second = spawn(env, log)
        try:
            wait_for(lambda: statuses(database_url).count("DELIVERED") == 40, timeout=60)
            time.sleep(0.3)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(10) == 0
    engine.dispose()
    ids = [r.event_id for r in hook.accepted]
    assert len(set(ids)) == 40  # nothing lost
    assert len(ids) - 40 <= BATCH  # duplicates: only the deliveries in flight at the kill
    for delivery in hook.accepted:
        assert delivery.json["id"] == delivery.event_id
        assert Webhook(created.secret).verify(delivery.body, delivery.headers) == delivery.json
    text = log.read_text()
    assert text.count('"webhooks_started"') == 2 and '"webhooks_stopped"' in text


def test_sigterm_stops_the_worker_with_exit_0(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "webhooks.log"
    proc = spawn(worker_env(database_url, tmp_path), log)
    wait_for(lambda: '"webhooks_started"' in log.read_text() if log.exists() else False)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - started < 5
    assert '"webhooks_stopped"' in log.read_text()
