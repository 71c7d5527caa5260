"""Historical sync: RPC, Horizon and data lake sources, fallback, idempotency, resume."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from tests.support.clock import FakeClock
from tests.support.horizon import FakeHorizon, running_horizon
from tests.support.snapshot import snapshot
from tests.support.stellar_rpc import running_rpc
from tests.support.sync_world import C, World, world

from stellarstream.chain.datalake import DataLake, DataLakeSource
from stellarstream.chain.horizon import HorizonClient, HorizonSource
from stellarstream.chain.rpc import RpcClient, RpcSource
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.db import coverage
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.errors import NoSourceCovers
from stellarstream.ingest.backfill import batching
from stellarstream.ingest.backfill import sync as sync_module
from stellarstream.ingest.backfill.prefetch import Prefetcher
from stellarstream.ingest.backfill.sync import HistoricalSync, SyncSummary

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def w() -> World:
    return world()


def make_sync(
    database_url: str, sources: dict[str, Any], order: list[str] | None = None
) -> HistoricalSync:
    engine = make_engine(database_url)
    return HistoricalSync(
        sessions=make_sessionmaker(engine),
        sources=sources,
        order=order or ["rpc", "horizon", "datalake"],
        contract_ids=[C],
        clock=FakeClock(),
    )


def rpc_source(url: str, retries: int = 2) -> RpcSource:
    return RpcSource(
        RpcClient(url, timeout=0.5, max_retries=retries, backoff_initial=0.01, backoff_max=0.02),
        limit=7,
    )


def horizon_source(url: str, retries: int = 2) -> HorizonSource:
    return HorizonSource(
        HorizonClient(url, max_retries=retries, backoff_initial=0.01, backoff_max=0.02), limit=5
    )


def lake_source(directory: Path) -> DataLakeSource:
    return DataLakeSource(DataLake(str(directory), concurrency=4))


@pytest.fixture
def served(w: World, tmp_path: Path) -> Iterator[tuple[str, Any, str, FakeHorizon, Path]]:
    horizon = FakeHorizon(w.horizon_records(), elder=w.first, latest=w.last + 5)
    with running_rpc(w.rpc_chain()) as (rpc_url, rpc), running_horizon(horizon) as horizon_url:
        yield rpc_url, rpc, horizon_url, horizon, w.write_lake(tmp_path / "lake")


def test_every_source_gives_the_same_keys_and_the_same_database(
    database_url: str,
    other_database_url: str,
    tmp_path: Path,
    w: World,
    served: Any,
    third_database_url: str,
) -> None:
    rpc_url, _rpc, horizon_url, _horizon, lake = served
    make_sync(database_url, {"rpc": rpc_source(rpc_url)}).run(w.first, w.last)
    make_sync(other_database_url, {"horizon": horizon_source(horizon_url)}).run(w.first, w.last)
    make_sync(third_database_url, {"datalake": lake_source(lake)}).run(w.first, w.last)
    via_rpc, via_horizon, via_lake = (
        snapshot(u) for u in (database_url, other_database_url, third_database_url)
    )
    assert len(via_rpc["events"]) == len(w.events()) == 46
    assert {(e[0], e[1]) for e in via_rpc["events"]} == {
        (e.tx_hash, e.event_index) for e in w.events()
    }
    assert via_rpc == via_horizon == via_lake
    assert len(via_rpc["streams"]) == 24


def test_same_range_twice_and_overlaps_change_nothing(
    database_url: str, w: World, served: Any
) -> None:
    rpc_url = served[0]
    first = make_sync(database_url, {"rpc": rpc_source(rpc_url)}).run(w.first, w.first + 10)
    assert first.new > 0
    before = snapshot(database_url)
    again = make_sync(database_url, {"rpc": rpc_source(rpc_url)}).run(w.first, w.first + 10)
    assert again.already_covered == 11 and again.new == 0 and again.events == 0
    assert snapshot(database_url) == before
    overlap = make_sync(database_url, {"rpc": rpc_source(rpc_url)}).run(w.first + 5, w.last)
    assert overlap.already_covered == 6
    assert len(snapshot(database_url)["events"]) == 46


def test_a_stored_transaction_is_let_go_before_the_next_page_is_fetched(
    database_url: str, w: World, served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory holds one transaction's events: when the source is asked for its next page, the
    events of the transactions already stored are gone (bounded memory over any range)."""
    per_transaction = 10  # pages of 7 events: transactions of two pages
    monkeypatch.setattr(
        sync_module, "joined", functools.partial(batching.joined, max_events=per_transaction)
    )
    inner = rpc_source(served[0])
    live: weakref.WeakSet[RawEvent] = weakref.WeakSet()
    held: list[int] = []

    class Watched:
        name = inner.name

        def batches(self, *args: Any, **kwargs: Any) -> Iterator[Batch]:
            for page in inner.batches(*args, **kwargs):
                live.update(page.events)
                yield page
                held.append(len(live))  # asked for the next page

    summary = make_sync(database_url, {"rpc": Watched()}).run(w.first, w.last)
    assert summary.new == 46
    assert len(held) >= 6
    # At most the pages of the transaction being gathered (less than its size) are alive.
    assert max(held) < per_transaction, held


def test_rpc_too_young_falls_back_to_horizon_for_the_older_part(
    database_url: str, w: World, served: Any
) -> None:
    rpc_url, rpc, horizon_url, _horizon, _lake = served
    rpc.chain.oldest_ledger = w.first + 10
    summary = make_sync(
        database_url, {"rpc": rpc_source(rpc_url), "horizon": horizon_source(horizon_url)}
    ).run(w.first, w.last)
    assert [(r["from"], r["to"], r["source"]) for r in summary.subranges] == [
        (w.first, w.first + 9, "horizon"),
        (w.first + 10, w.last, "rpc"),
    ]
    assert summary.fallbacks and "startLedger must be within" in str(summary.fallbacks[0]["reason"])
    assert len(snapshot(database_url)["events"]) == 46


def test_unreachable_rpc_falls_back_to_horizon(database_url: str, w: World, served: Any) -> None:
    horizon_url = served[2]
    summary = make_sync(
        database_url,
        {
            "rpc": rpc_source("http://127.0.0.1:9/", retries=1),
            "horizon": horizon_source(horizon_url),
        },
    ).run(w.first, w.last)
    assert {r["source"] for r in summary.subranges} == {"horizon"}
    assert summary.fallbacks[0]["source"] == "rpc"
    assert len(snapshot(database_url)["events"]) == 46


def test_forced_horizon_unreachable_falls_back_to_rpc(
    database_url: str, w: World, served: Any
) -> None:
    rpc_url = served[0]
    sync = make_sync(
        database_url,
        {"horizon": horizon_source("http://127.0.0.1:9/", retries=1), "rpc": rpc_source(rpc_url)},
        order=["horizon", "rpc"],
    )
    summary = sync.run(w.first, w.last)
    assert {r["source"] for r in summary.subranges} == {"rpc"} and summary.fallbacks[0][
        "source"
    ] == "horizon"
    assert len(snapshot(database_url)["events"]) == 46


def test_horizon_without_meta_falls_through_to_the_data_lake(
    database_url: str, w: World, served: Any
) -> None:
    _rpc_url, _rpc, horizon_url, horizon, lake = served
    horizon.keep_meta = False
    summary = make_sync(
        database_url,
        {"horizon": horizon_source(horizon_url), "datalake": lake_source(lake)},
        order=["horizon", "datalake"],
    ).run(w.first, w.last)
    assert {r["source"] for r in summary.subranges} == {"datalake"}
    assert "no transaction meta" in str(summary.fallbacks[0]["reason"])
    assert len(snapshot(database_url)["events"]) == 46


def test_no_source_covering_a_range_is_a_clear_failure(
    database_url: str, w: World, served: Any
) -> None:
    rpc_url, rpc, horizon_url, horizon, _lake = served
    rpc.chain.oldest_ledger = w.first + 10
    horizon.keep_meta = False
    sync = make_sync(
        database_url, {"rpc": rpc_source(rpc_url), "horizon": horizon_source(horizon_url)}
    )
    with pytest.raises(NoSourceCovers) as info:
        sync.run(w.first, w.last)
    message = info.value.message
    assert f"ledgers {w.first}-{w.first + 9}" in message and "--datalake" in message


def test_faults_on_every_source_do_not_change_the_result(
    database_url: str, other_database_url: str, w: World, served: Any
) -> None:
    rpc_url, rpc, horizon_url, horizon, _lake = served
    for kind in ("429", "503", "timeout", "malformed", "reset"):
        rpc.faults.push(kind, retry_after=0.01 if kind == "429" else None, delay=1.0)
    make_sync(database_url, {"rpc": rpc_source(rpc_url, retries=8)}).run(w.first, w.last)
    for kind in ("503", "reset", "429", "500"):
        horizon.faults.append(kind)
    make_sync(other_database_url, {"horizon": horizon_source(horizon_url, retries=8)}).run(
        w.first, w.last
    )
    assert len(rpc.faults) == 0 and not horizon.faults
    assert snapshot(database_url) == snapshot(other_database_url)
    assert len(snapshot(database_url)["events"]) == 46


def test_a_range_the_live_indexer_covered_changes_nothing(
    database_url: str, w: World, served: Any
) -> None:
    from tests.support.seed import ingest_events

    ingest_events(database_url, w.events(), [C])
    before = snapshot(database_url)
    summary = make_sync(database_url, {"datalake": lake_source(served[4])}).run(w.first, w.last)
    assert summary.new == 0 and summary.duplicate == 46
    assert snapshot(database_url) == before


def test_coverage_gaps() -> None:
    assert coverage.gaps([(5, 10), (12, 20)], 1, 25) == [(1, 4), (11, 11), (21, 25)]
    assert coverage.gaps([(1, 30)], 5, 10) == []
    assert coverage.merge([(5, 6), (1, 4), (8, 9)]) == [(1, 6), (8, 9)]


# --- the command ---------------------------------------------------------------------------


def sync_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(
        STELLARSTREAM_DATABASE_URL=database_url,
        STELLARSTREAM_CONTRACT_IDS=C,
        STELLARSTREAM_VAR_DIR=str(tmp_path / "var"),
        STELLARSTREAM_HORIZON_URL="none",
        STELLARSTREAM_RPC_URL="none",
    )
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "stellarstream"), *args], env=env, capture_output=True, text=True, timeout=120
    )


def slow_sync_env(database_url: str, tmp_path: Path, rpc_url: str, **extra: str) -> dict[str, str]:
    """Tiny pages, so that a sync of the world takes many requests (a kill lands mid-run)."""
    return sync_env(
        database_url,
        tmp_path,
        STELLARSTREAM_RPC_URL=rpc_url,
        STELLARSTREAM_RPC_TIMEOUT_SECONDS="5",
        STELLARSTREAM_SYNC_PAGE_LIMIT="3",
        **extra,
    )


def start_sync(env: dict[str, str], w: World) -> subprocess.Popen[str]:
    """``stellarstream sync --json`` of the whole world, running."""
    return subprocess.Popen(
        [str(BIN / "stellarstream"), "sync", "--from", str(w.first), "--to", str(w.last), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_json_summary_and_sync_status(
    database_url: str, tmp_path: Path, w: World, served: Any
) -> None:
    rpc_url = served[0]
    env = sync_env(database_url, tmp_path, STELLARSTREAM_RPC_URL=rpc_url)
    result = run_cli(["sync", f"--from={w.first}", "--to", str(w.first + 9), "--json"], env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ledgers"] == 10 and summary["new"] == summary["events"] > 0
    assert summary["subranges"] == [{"from": w.first, "to": w.first + 9, "source": "rpc"}]
    assert summary["requests"]["rpc"] >= 2 and summary["seconds"] >= 0
    status = json.loads(run_cli(["sync", "status", "--json"], env).stdout)
    assert status["ranges"] == [
        {"contract": C, "source": "rpc", "covered": [[w.first, w.first + 9]]}
    ]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--from", "0", "--to", "5"], "--from must be a positive ledger"),
        (["--from", "50", "--to", "40"], "is before --from"),
        (["--from", "100", "--to", "99999999"], "beyond the network's latest ledger"),
        (["--to", "5"], "--from and --to are required"),
        (
            ["--from", "1", "--to", "5", "--source", "datalake"],
            "--source datalake is not configured",
        ),
    ],
)
def test_cli_rejects_bad_ranges_clearly(
    database_url: str, tmp_path: Path, served: Any, args: list[str], needle: str
) -> None:
    result = run_cli(
        ["sync", *args], sync_env(database_url, tmp_path, STELLARSTREAM_RPC_URL=served[0])
    )
    assert result.returncode != 0
    assert needle in " ".join((result.stderr + result.stdout).split())
    assert snapshot(database_url)["events"] == []


def test_cli_fails_naming_the_missing_range(
    database_url: str, tmp_path: Path, w: World, served: Any
) -> None:
    rpc_url, rpc, horizon_url, horizon, _lake = served
    rpc.chain.oldest_ledger = w.first + 10
    horizon.keep_meta = False
    result = run_cli(
        ["sync", "--from", str(w.first), "--to", str(w.last)],
        sync_env(
            database_url,
            tmp_path,
            STELLARSTREAM_RPC_URL=rpc_url,
            STELLARSTREAM_HORIZON_URL=horizon_url,
        ),
    )
    assert result.returncode == 1
    text = " ".join(result.stderr.split())
    assert f"ledgers {w.first}-{w.first + 9}" in text and "--datalake" in text


def test_cli_horizon_flag_and_datalake_option(
    database_url: str, other_database_url: str, tmp_path: Path, w: World, served: Any
) -> None:
    rpc_url, _rpc, horizon_url, _horizon, lake = served
    env = sync_env(
        database_url, tmp_path, STELLARSTREAM_RPC_URL=rpc_url, STELLARSTREAM_HORIZON_URL=horizon_url
    )
    forced = json.loads(
        run_cli(
            ["sync", "--from", str(w.first), "--to", str(w.last), "--horizon", "--json"], env
        ).stdout
    )
    assert {r["source"] for r in forced["subranges"]} == {"horizon"}
    lake_env = sync_env(other_database_url, tmp_path, STELLARSTREAM_RPC_URL=rpc_url)
    via_lake = run_cli(
        [
            "sync",
            "--from",
            str(w.first),
            "--to",
            str(w.last),
            "--source",
            "datalake",
            "--datalake",
            str(lake),
            "--json",
        ],
        lake_env,
    )
    assert {r["source"] for r in json.loads(via_lake.stdout)["subranges"]} == {"datalake"}
    assert snapshot(database_url) == snapshot(other_database_url)


def test_sigkill_mid_sync_then_rerun_gives_the_same_database(
    database_url: str, other_database_url: str, tmp_path: Path, w: World, served: Any
) -> None:
    rpc_url, rpc, *_ = served
    rpc.faults.push("timeout", times=40, delay=0.15)  # slow every request so the kill lands mid-run
    env = slow_sync_env(database_url, tmp_path, rpc_url, STELLARSTREAM_SYNC_WORKER="false")
    proc = start_sync(env, w)
    deadline = time.monotonic() + 60
    from tests.support.snapshot import snapshot as snap

    while len(snap(database_url)["events"]) < 10:
        assert proc.poll() is None and time.monotonic() < deadline, (
            proc.stderr.read() if proc.stderr else ""
        )
        time.sleep(0.05)
    assert not psutil.Process(proc.pid).children()  # mid-run in one process, as asked
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(snap(database_url)["events"])
    assert 0 < partial < 46
    rpc.faults.clear()
    rerun = run_cli(["sync", "--from", str(w.first), "--to", str(w.last), "--json"], env)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["already_covered"] > 0
    make_sync(other_database_url, {"rpc": rpc_source(rpc_url)}).run(w.first, w.last)
    assert snapshot(database_url) == snapshot(other_database_url)
    status = json.loads(run_cli(["sync", "status", "--json"], env).stdout)
    assert status["gaps"] == {C: []}


# --- the worker process (STELLARSTREAM_SYNC_WORKER) -------------------------------------------


def test_a_worker_process_gives_the_same_database_fallbacks_and_requests(
    database_url: str, other_database_url: str, w: World, served: Any
) -> None:
    rpc_url, rpc, horizon_url, _horizon, _lake = served
    rpc.chain.oldest_ledger = w.first + 10  # the older part falls back to Horizon

    def sources() -> dict[str, Any]:
        return {"rpc": rpc_source(rpc_url), "horizon": horizon_source(horizon_url)}

    alone = make_sync(database_url, sources()).run(w.first, w.last)
    worker_sources = sources()
    with_worker = sync_with_worker(other_database_url, worker_sources, w)
    assert snapshot(database_url) == snapshot(other_database_url)
    assert len(snapshot(other_database_url)["events"]) == 46
    assert with_worker.subranges == alone.subranges
    assert [f["reason"] for f in with_worker.fallbacks] == [f["reason"] for f in alone.fallbacks]
    # The worker's copies of the sources made the requests; they are counted all the same.
    assert with_worker.requests == alone.requests and with_worker.requests["horizon"] > 0
    assert worker_sources["rpc"].client.requests == 0


def sync_with_worker(database_url: str, sources: dict[str, Any], w: World) -> SyncSummary:
    with Prefetcher(sources, [C]) as prefetcher:
        engine = make_engine(database_url)
        try:
            return HistoricalSync(
                sessions=make_sessionmaker(engine),
                sources=sources,
                order=list(sources),
                contract_ids=[C],
                clock=FakeClock(),
                prefetcher=prefetcher,
            ).run(w.first, w.last)
        finally:
            engine.dispose()


def test_a_worker_reads_a_data_lake_with_its_own_fetch_threads(
    database_url: str, other_database_url: str, w: World, served: Any
) -> None:
    lake = served[4]
    make_sync(database_url, {"datalake": lake_source(lake)}).run(w.first, w.last)
    summary = sync_with_worker(other_database_url, {"datalake": lake_source(lake)}, w)
    assert summary.new == 46 and summary.subranges[0]["source"] == "datalake"
    assert snapshot(database_url) == snapshot(other_database_url)


def test_a_source_error_crosses_from_the_worker_with_its_details() -> None:
    import pickle

    from stellarstream.errors import RangeUnavailable

    error = pickle.loads(
        pickle.dumps(RangeUnavailable("too old", oldest_ledger=7, latest_ledger=9))
    )
    assert isinstance(error, RangeUnavailable)
    assert (error.message, error.oldest_ledger, error.latest_ledger) == ("too old", 7, 9)
    again = pickle.loads(pickle.dumps(NoSourceCovers(3, 5, ["rpc: down"])))
    assert (again.start, again.end) == (3, 5) and "rpc: down" in again.message


def _worker_of(proc: subprocess.Popen[str], database_url: str) -> psutil.Process:
    """The sync's worker, once the sync has stored some events."""
    deadline = time.monotonic() + 60
    while len(snapshot(database_url)["events"]) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
        time.sleep(0.05)
    (worker,) = psutil.Process(proc.pid).children()
    return worker


@pytest.mark.parametrize("killed", ["parent", "worker"])
def test_with_a_worker_a_kill_of_either_process_then_rerun_gives_the_same_database(
    database_url: str,
    other_database_url: str,
    tmp_path: Path,
    w: World,
    served: Any,
    killed: str,
) -> None:
    rpc_url, rpc, *_ = served
    rpc.faults.push("timeout", times=40, delay=0.15)  # slow every request so the kill lands mid-run
    proc = start_sync(
        slow_sync_env(database_url, tmp_path, rpc_url, STELLARSTREAM_SYNC_WORKER="true"), w
    )
    worker = _worker_of(proc, database_url)
    if killed == "parent":
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # Orphaned, the worker exits at its next send (the pipe's reader is gone).
        worker.wait(timeout=30)
    else:
        worker.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 1
        assert "sync worker exited unexpectedly (killed by signal 9)" in " ".join(stderr.split())
    partial = len(snapshot(database_url)["events"])
    assert 0 < partial < 46
    rpc.faults.clear()
    env = sync_env(
        database_url, tmp_path, STELLARSTREAM_RPC_URL=rpc_url, STELLARSTREAM_SYNC_WORKER="true"
    )
    rerun = run_cli(["sync", "--from", str(w.first), "--to", str(w.last), "--json"], env)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["already_covered"] > 0
    make_sync(other_database_url, {"rpc": rpc_source(rpc_url)}).run(w.first, w.last)
    assert snapshot(database_url) == snapshot(other_database_url)
