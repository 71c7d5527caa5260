"""Live updates benchmark (issue 17): thousands of SSE clients on one PostgreSQL database.

    .venv/bin/python bench/live.py --clients 5000        # about 2 minutes on 2 cores

What one run does:

1. Creates a fresh PostgreSQL database (``--db-name``, dropped at the end, also on failure),
   migrates it and stores one stream through the real ingest path.
2. Starts the API as in production (gunicorn, uvicorn workers, ``--workers``, default one per
   core; live poll 1 s), bound to 127.0.0.1 only.
3. Phase "few": ``--few`` clients (default 50) open ``GET /api/v1/live`` and stay connected;
   database transactions per second (``pg_stat_database.xact_commit``) over ``--idle`` seconds.
4. Phase "many": clients up to ``--clients``; the same measurement.
5. ``--events`` claims (default 5) stored through the ingest path, one every 2 s, each in its
   own transaction; every client notes when each event's message arrives. Reported: the share
   of (client, event) pairs delivered, and p50 / p99 / max of arrival time - commit time.
6. Worker RSS (psutil) sampled every 200 ms throughout; reported at the end of each phase.

Everything is bounded: connection and read timeouts, a deadline per event. Results go to
docs/BENCHMARKS.md. Run it alone (``flock /tmp/bench.lock``): it uses every core.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import migrated_env, start_gunicorn, stop, wait_ready  # noqa: E402
from tests.support import contract_events as ce  # noqa: E402
from tests.support.seed import ingest_events  # noqa: E402

DEFAULT_ADMIN_URL = os.environ.get(
    "STELLARSTREAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
C = ce.contract(1)
SENDER, RECEIVER = ce.account(1), ce.account(2)


def _create(stream_id: int) -> Any:
    return ce.raw_event(
        *ce.create_v2(stream_id, SENDER, RECEIVER, ce.TOKEN, 10**12, 1000, 1000, 10**10, 995, None),
        contract_id=C,
        ledger=10,
        tx_hash=ce.tx_hash_for(10),
    )


def _claim(n: int) -> Any:
    ledger = 100 + n
    return ce.raw_event(
        *ce.claim(0, RECEIVER, n, n * (n + 1) // 2, 2000 + n),
        contract_id=C,
        ledger=ledger,
        tx_hash=ce.tx_hash_for(ledger),
    )


class Client:
    """One SSE connection on a raw socket: notes when each event id arrives."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.arrivals: dict[str, float] = {}
        self.failed: str | None = None

    async def run(self, port: int, stop_at: asyncio.Event) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
            writer.write(
                b"GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
            )
            await writer.drain()
            reader_task = asyncio.create_task(self._read(reader))
            await stop_at.wait()
            reader_task.cancel()
            writer.close()
        except (OSError, TimeoutError) as exc:
            self.failed = repr(exc)
            self.connected.set()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                self.failed = self.failed or "closed"
                return
            if line.startswith(b"retry:"):
                self.connected.set()
            elif line.startswith(b"id: "):
                self.arrivals[line[4:].strip().decode()] = time.time()


class Sampler(threading.Thread):
    def __init__(self, master: psutil.Process) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.halt = threading.Event()
        self.rss: dict[int, int] = {}

    def run(self) -> None:
        while not self.halt.wait(0.2):
            for worker in self.master.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.rss[worker.pid] = max(
                        self.rss.get(worker.pid, 0), worker.memory_info().rss
                    )


def _commits(dsn: str, db_name: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (db_name,)
        ).fetchone()
    return int(row[0]) if row else 0


async def _transactions_per_second(dsn: str, db_name: str, seconds: float) -> float:
    before = await asyncio.to_thread(_commits, dsn, db_name)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(_commits, dsn, db_name)
    return (after - before - 2) / seconds  # less this benchmark's own two reads


async def _connect(clients: list[Client], n: int, port: int, stop_at: asyncio.Event) -> None:
    tasks = []
    for _ in range(n - len(clients)):
        client = Client()
        clients.append(client)
        tasks.append(asyncio.create_task(client.run(port, stop_at)))
        if len(tasks) % 200 == 0:
            await asyncio.sleep(0.05)  # below the listen backlog
    await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 120)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def measure(
    args: argparse.Namespace, db_url: str, dsn: str, port: int, log: Any
) -> dict[str, Any]:
    stop_at = asyncio.Event()
    clients: list[Client] = []
    result: dict[str, Any] = {}
    for phase, n in (("few", args.few), ("many", args.clients)):
        started = time.monotonic()
        await _connect(clients, n, port, stop_at)
        failed = sum(1 for c in clients if c.failed)
        log(
            f"{phase}: {len(clients):,} clients connected in"
            f" {time.monotonic() - started:.1f}s ({failed} failed)"
        )
        tps = await _transactions_per_second(dsn, args.db_name, args.idle)
        result[phase] = {"clients": len(clients), "failed": failed, "db_tps": tps}
        log(f"{phase}: database {tps:.1f} transactions/s with {len(clients):,} clients connected")
    commits: dict[str, float] = {}
    db_dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for n in range(1, args.events + 1):
            await asyncio.to_thread(ingest_events, db_url, [_claim(n)], [C])
            committed = time.time()
            row = conn.execute("SELECT max(id) FROM contract_events").fetchone()
            commits[str(row[0])] = committed
            await asyncio.sleep(2)
    await asyncio.sleep(3)  # the last event's stragglers
    latencies = [
        client.arrivals[event_id] - at
        for client in clients
        for event_id, at in commits.items()
        if event_id in client.arrivals
    ]
    expected = len(clients) * len(commits)
    result["delivery"] = {
        "expected": expected,
        "delivered": len(latencies),
        "p50_s": statistics.median(latencies) if latencies else None,
        "p99_s": _percentile(latencies, 0.99),
        "max_s": max(latencies, default=float("nan")),
    }
    stop_at.set()
    await asyncio.sleep(0.5)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--db-name", default="bench_live")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--few", type=int, default=50)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds per tps measurement")
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(msg, flush=True)

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.clients + 1000  # the clients' sockets and the workers' (inherited limit)
    if hard < need:
        print(f"open files limit {hard} < {need}: raise it (ulimit -n)", file=sys.stderr)
        return 2
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    admin = make_url(args.admin_url)
    db_url = admin.set(database=args.db_name).render_as_string(hide_password=False)
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
    server = None
    sampler = None
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db_name}"')
        env = migrated_env(db_url, C, workdir, STELLARSTREAM_LIVE_POLL_SECONDS="1")
        ingest_events(db_url, [_create(0)], [C])
        server = start_gunicorn("api", "stellarstream.api.asgi:app", args.workers, env, workdir, [])
        wait_ready(server, "/livez", args.workers)
        sampler = Sampler(psutil.Process(server.proc.pid))
        sampler.start()
        result = asyncio.run(measure(args, db_url, admin_dsn, server.port, log))
        sampler.halt.set()
        rss = {pid: value / 2**20 for pid, value in sampler.rss.items()}
        d = result["delivery"]
        cpu = platform.processor() or platform.machine()
        lines = [
            f"Machine: {os.cpu_count()} CPUs ({cpu}),"
            f" {psutil.virtual_memory().total / 2**30:.1f} GiB,"
            f" Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"Command: {' '.join(sys.argv)}",
            "",
            "| Clients | Failed | Database transactions/s while idle |",
            "|---|---|---|",
            *(
                f"| {result[p]['clients']:,} | {result[p]['failed']} | {result[p]['db_tps']:.1f} |"
                for p in ("few", "many")
            ),
            "",
            f"Events: {args.events} claims, each to {result['many']['clients']:,} clients:"
            f" {d['delivered']:,} of {d['expected']:,} delivered; arrival - commit"
            f" p50 {d['p50_s']:.3f} s, p99 {d['p99_s']:.3f} s, max {d['max_s']:.3f} s",
            "Worker RSS max: " + ", ".join(f"{v:.0f} MB" for v in rss.values()),
        ]
        print("\n" + "\n".join(lines), flush=True)
        ok = d["delivered"] == d["expected"] and d["p99_s"] < 1.0
        ok &= result["many"]["db_tps"] <= result["few"]["db_tps"] * 1.5 + 2
        ok &= max(rss.values(), default=0) < 250
        print("targets met" if ok else "targets NOT met", flush=True)
        return 0 if ok else 1
    finally:
        if sampler is not None:
            sampler.halt.set()
        if server is not None:
            stop(server)
        try:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        except psycopg.Error as exc:
            print(f"could not drop {args.db_name}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
