"""The live indexer against a local Stellar RPC server, in-process and as a real process."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import contract_events as ce
from tests.support.chain_data import stream_history
from tests.support.clock import FakeClock
from tests.support.db import PostgresDatabases
from tests.support.seed import ingest_events
from tests.support.snapshot import checkpoint_ledgers, snapshot
from tests.support.stellar_rpc import Chain, FakeStellarRpc, load_recorded_events, running_rpc

from stellarstream.chain.rpc import RpcClient, RpcSource
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import InvoiceLink
from stellarstream.ingest.live.indexer import Indexer, StopSignal
from stellarstream.ingest.live.lock import FileLock
from stellarstream.invoices.service import InvoiceService, NewInvoice

C = ce.V2_CONTRACT
BIN = Path(sys.executable).parent


def chain_with(n_streams: int) -> Chain:
    chain = Chain(latest_ledger=100 + 4 * n_streams + 50, oldest_ledger=1)
    for raw in stream_history(n_streams):
        chain.add_raw(raw)
        # a token transfer in the same tx precedes our event (event_index 0): realistic keys
        chain.add(
            *ce.claim(0, ce.account(1), 1, 1, 1),
            contract_id=ce.contract(55),
            ledger=raw.ledger,
            tx_hash=raw.tx_hash,
            tx_index=raw.tx_index,
            event_index=0,
        )
    return chain


@pytest.fixture
def rpc() -> Iterator[tuple[str, FakeStellarRpc]]:
    with running_rpc(chain_with(40), default_limit=100) as served:
        yield served


class NoLock:
    def acquire(self, stop: threading.Event) -> bool:
        return True

    def healthy(self) -> bool:
        return True

    def release(self) -> None:
        pass


def make_indexer(
    database_url: str,
    url: str,
    *,
    limit: int = 25,
    start: int = 1,
    stop: StopSignal | None = None,
    retries: int = 5,
) -> tuple[Indexer, RpcClient]:
    client = RpcClient(
        url, timeout=0.5, max_retries=retries, backoff_initial=0.01, backoff_max=0.05
    )
    engine = make_engine(database_url)
    indexer = Indexer(
        sessions=make_sessionmaker(engine),
        source=RpcSource(client, limit=limit),
        contract_ids=[C],
        latest_ledger=lambda: client.get_latest_ledger().sequence,
        clock=FakeClock(),
        stop=stop or StopSignal(),
        lock=NoLock(),
        start_ledger=start,
        poll_interval=0.05,
    )
    return indexer, client


def expected(database_url: str, chain: Chain) -> dict[str, list[tuple[object, ...]]]:
    ingest_events(database_url, chain.raw_events([C]), [C])
    return snapshot(database_url)


def test_indexer_ingests_everything_once_in_pages(
    database_url: str, other_database_url: str, rpc: tuple[str, FakeStellarRpc]
) -> None:
    url, server = rpc
    indexer, client = make_indexer(database_url, url)
    assert indexer.catch_up() > 5  # many pages of 25
    result = snapshot(database_url)
    assert len(result["events"]) == 160 and len(result["streams"]) == 40
    assert checkpoint_ledgers(database_url) == {C: server.chain.latest_ledger}
    assert result == expected(other_database_url, server.chain)
    # Caught up: the next pass asks once and stores nothing new.
    before = server.requests["getEvents"]
    indexer.catch_up()
    assert server.requests["getEvents"] == before + 1
    assert snapshot(database_url) == result
    client.close()


def test_new_ledgers_are_picked_up_from_the_cursor(
    database_url: str, rpc: tuple[str, FakeStellarRpc]
) -> None:
    url, server = rpc
    indexer, client = make_indexer(database_url, url)
    indexer.catch_up()
    chain = server.chain
    top = chain.latest_ledger
    chain.add_encoded(
        ce.create_v2(900, ce.account(1), ce.account(2), ce.TOKEN, 5, 1, 1, 2, 1),
        contract_id=C,
        ledger=top + 3,
        tx_hash=ce.tx_hash_for(9001),
    )
    chain.latest_ledger = top + 5
    indexer.catch_up()
    assert len(snapshot(database_url)["streams"]) == 41
    assert checkpoint_ledgers(database_url) == {C: top + 5}
    client.close()


def test_injected_faults_delay_but_never_change_the_result(
    database_url: str, other_database_url: str, rpc: tuple[str, FakeStellarRpc]
) -> None:
    url, server = rpc
    for kind in ("429", "503", "timeout", "malformed", "reset", "500", "rpc_error"):
        server.faults.push(kind, retry_after=0.01 if kind == "429" else None, delay=1.0)
    indexer, client = make_indexer(database_url, url, retries=10)
    indexer.catch_up()
    assert len(server.faults) == 0
    assert snapshot(database_url) == expected(other_database_url, server.chain)
    client.close()


def test_unreachable_rpc_backs_off_without_crashing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    stop = StopSignal()
    indexer, client = make_indexer(database_url, "http://127.0.0.1:9/", stop=stop, retries=1)
    thread = threading.Thread(target=indexer.run)
    thread.start()
    time.sleep(1.0)
    stop.event.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert snapshot(database_url)["events"] == []
    client.close()


def test_recorded_testnet_events_are_stored_as_unknown(database_url: str) -> None:
    chain = Chain(latest_ledger=3_730_000, oldest_ledger=3_727_000)
    recorded = load_recorded_events(chain)
    contract = recorded[0].contract_id
    with running_rpc(chain) as (url, _server):
        client = RpcClient(url, timeout=2, max_retries=1)
        engine = make_engine(database_url)
        indexer = Indexer(
            sessions=make_sessionmaker(engine),
            source=RpcSource(client, limit=100),
            contract_ids=[contract],
            latest_ledger=lambda: 0,
            clock=FakeClock(),
            stop=StopSignal(),
            lock=NoLock(),
            start_ledger=3_727_000,
        )
        indexer.catch_up()
        client.close()
        engine.dispose()
    events = snapshot(database_url)["events"]
    assert len(events) == len([e for e in recorded if e.contract_id == contract]) >= 2
    assert {e[6] for e in events} == {"unknown"}
    assert {e[3] for e in events} >= {3727845}


def test_invoice_completes_from_the_chain(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    link = InvoiceService(sessions, FakeClock()).create(
        ce.account(1),
        NewInvoice(receiver=ce.account(2), amount=10**20, token_address=ce.TOKEN, duration=3600),
    )
    assert isinstance(link, InvoiceLink)
    chain = Chain(latest_ledger=60)
    chain.add_encoded(
        ce.create_v2(
            3, ce.account(8), ce.account(2), ce.TOKEN, 10**20, 1000, 1000, 4600, 990, link.slug
        ),
        contract_id=C,
        ledger=55,
        tx_hash=ce.tx_hash_for(77),
        event_index=1,
    )
    with running_rpc(chain) as (url, _server):
        indexer, client = make_indexer(database_url, url)
        indexer.catch_up()
        client.close()
    with sessions() as session:
        fresh = session.get(InvoiceLink, link.id)
        assert fresh is not None and (fresh.status, fresh.stream_id, fresh.tx_hash) == (
            "COMPLETED",
            3,
            ce.tx_hash_for(77),
        )
    engine.dispose()


def test_checkpoint_older_than_retention_skips_ahead_and_says_how_to_backfill(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    chain = chain_with(5)
    chain.oldest_ledger = 110
    with running_rpc(chain) as (url, _server):
        indexer, client = make_indexer(database_url, url, start=1)
        stop = indexer._stop
        thread = threading.Thread(target=indexer.run)
        thread.start()
        deadline = time.monotonic() + 10
        while (
            checkpoint_ledgers(database_url).get(C) != chain.latest_ledger
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        stop.event.set()
        thread.join(5)
        client.close()
    assert checkpoint_ledgers(database_url) == {C: chain.latest_ledger}
    ledgers = {e[3] for e in snapshot(database_url)["events"]}
    assert ledgers and min(ledgers) >= 110


# --- the real process --------------------------------------------------------------------------


def indexer_env(database_url: str, url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(
        STELLARSTREAM_DATABASE_URL=database_url,
        STELLARSTREAM_RPC_URL=url,
        STELLARSTREAM_CONTRACT_IDS=C,
        STELLARSTREAM_START_LEDGER="1",
        STELLARSTREAM_POLL_INTERVAL_SECONDS="0.1",
        STELLARSTREAM_RPC_PAGE_LIMIT="10",
        STELLARSTREAM_VAR_DIR=str(tmp_path / "var"),
        STELLARSTREAM_STANDBY_POLL_SECONDS="0.2",
        **extra,
    )
    return env


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = open(log, "ab")  # noqa: SIM115 - the child writes into it
    return subprocess.Popen(
        [str(BIN / "stellarstream"), "indexer"], env=env, stdout=handle, stderr=subprocess.STDOUT
    )


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_sigkill_at_random_points_then_restart_gives_the_same_database(
    database_url: str, other_database_url: str, tmp_path: Path
) -> None:
    chain = chain_with(60)
    rng = random.Random(7)
    with running_rpc(chain) as (url, _server):
        env = indexer_env(database_url, url, tmp_path)
        kills = 0
        log = tmp_path / "indexer.log"
        while checkpoint_ledgers(database_url).get(C) != chain.latest_ledger:
            runs = log.read_text().count('"indexer_started"') if log.exists() else 0
            proc = spawn(env, log)
            # Kill at a random point once it is indexing (start-up is not the interesting part).
            wait_for(
                lambda runs=runs, proc=proc: (
                    log.read_text().count('"indexer_started"') > runs or proc.poll() is not None
                )
            )
            time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is None:
                proc.kill()
                kills += 1
            proc.wait()
            assert kills < 60, log.read_text()[-3000:]
    assert kills >= 1
    assert snapshot(database_url) == expected(other_database_url, chain)


def test_sigterm_finishes_the_batch_and_exits_0_within_5_seconds(
    database_url: str, tmp_path: Path
) -> None:
    chain = chain_with(60)
    with running_rpc(chain) as (url, _server):
        log_path = tmp_path / "indexer.log"
        proc = spawn(indexer_env(database_url, url, tmp_path), log_path)
        wait_for(lambda: checkpoint_ledgers(database_url).get(C, 0) > 0)
        # Logged just after the first commit: a signal in between would rightly skip the line.
        wait_for(lambda: '"batch_ingested"' in log_path.read_text())
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
    log = log_path.read_text()
    assert '"indexer_stopping"' in log and '"indexer_stopped"' in log
    assert '"batch_ingested"' in log and '"lag"' in log


def test_sqlite_refuses_a_second_indexer(tmp_path: Path, sqlite_template: Path) -> None:
    from tests.support.db import copy_sqlite

    url = copy_sqlite(sqlite_template, tmp_path)
    with running_rpc(chain_with(2)) as (rpc_url, _server):
        env = indexer_env(url, rpc_url, tmp_path)
        first = spawn(env, tmp_path / "first.log")
        wait_for(lambda: checkpoint_ledgers(url).get(C, 0) > 0)
        second = subprocess.run(
            [str(BIN / "stellarstream"), "indexer"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=10) == 0
    assert second.returncode == 3
    assert "another indexer" in second.stdout and "SQLite" in second.stdout


def test_file_lock_is_released_on_stop(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "db.indexer.lock")
    assert lock.acquire(threading.Event())
    lock.release()
    again = FileLock(tmp_path / "db.indexer.lock")
    assert again.acquire(threading.Event())
    again.release()


@pytest.mark.postgres
def test_second_indexer_on_postgres_stands_by_and_takes_over(
    postgres: PostgresDatabases, tmp_path: Path
) -> None:
    name = postgres.create()
    database_url = postgres.url_for(name)
    chain = chain_with(10)
    with running_rpc(chain) as (url, _server):
        env = indexer_env(database_url, url, tmp_path)
        first = spawn(env, tmp_path / "first.log")
        wait_for(lambda: checkpoint_ledgers(database_url).get(C) == chain.latest_ledger)
        second = spawn(env, tmp_path / "second.log")
        wait_for(lambda: '"indexer_standby"' in (tmp_path / "second.log").read_text())
        top = chain.latest_ledger
        chain.add_encoded(
            ce.create_v2(500, ce.account(1), ce.account(2), ce.TOKEN, 5, 1, 1, 2, 1),
            contract_id=C,
            ledger=top + 2,
            tx_hash=ce.tx_hash_for(5000),
        )
        first.kill()
        first.wait()
        chain.latest_ledger = top + 3
        wait_for(lambda: checkpoint_ledgers(database_url).get(C) == top + 3)
        assert '"took_over": true' in (tmp_path / "second.log").read_text()
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) == 0
    assert len(snapshot(database_url)["streams"]) == 11
    postgres.drop(name)
