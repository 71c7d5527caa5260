"""Benchmark: historical sync of >= 200,000 StellarStream events from a local Stellar RPC.

Usage: ``.venv/bin/python bench/sync.py [--events 200000] [--db sqlite|postgres|both]
[--repeat 2] [--page-limit N] [--xdr-format json|base64]`` (see ``bench/README.md``).
Not a pytest test.

1. Generate a realistic history (``bench/history.py``): every StellarStream event in a
   transaction after the token's transfer event; check templates against the builders.
2. Serve it from the test suite's fake Stellar RPC over HTTP on 127.0.0.1, in this process
   (``bench/fast_rpc.py``: getEvents pages prebuilt, checked against the original code).
3. For each database: a fresh migrated database, then the real ``stellarstream sync --from F
   --to L --json`` as a subprocess; its RSS (process tree) is polled every 50 ms. The result is
   checked: every event stored and decoded as expected, every stream row equal to a projection
   of the whole history.
4. Ceilings, measured on the same events as served: decode only (the RPC client's page parser
   on the served getEvents pages, of the sync's page size, then ``decode()``; in this process,
   one core) and database insert only (``store.insert_events`` of those decoded events in
   transactions of the sync's size, fresh database), with the projection rebuild timed on its
   own; both with garbage collection paced as the sync paces it.
5. Print a table (markdown) and the machine.

Each measurement runs ``--repeat`` times (default 2); the table shows the best run and every
run's value, because other work on the machine makes single timings noisy. Each sync run also
reports its CPU time (user + system of the process and its children) and the CPU time the rest
of the machine used meanwhile (from /proc/stat), to tell a slow run from a busy machine.

Variants: ``--page-limit N`` sets STELLARSTREAM_SYNC_PAGE_LIMIT; ``--xdr-format base64`` makes the
sync ask for (and the fake node serve) base64 XDR instead of the default XDR-JSON.
``--profile FILE`` runs the sync under py-spy (installed separately) and writes its collapsed
stacks to FILE (timings and RSS of such a run are not comparable).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import itertools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psutil  # noqa: E402
from bench.fast_rpc import BenchRpc  # noqa: E402
from bench.history import CONTRACT, History, generate, generate_wide, verify  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from tests.support.db import (  # noqa: E402
    PostgresDatabases,
    migrated_sqlite_template,
    postgres_admin_url,
    postgres_reachable,
)
from tests.support.server import serve  # noqa: E402

from stellarstream import jsontext  # noqa: E402
from stellarstream.chain import events as ev  # noqa: E402
from stellarstream.chain.decode import decode  # noqa: E402
from stellarstream.chain.rpc_results import parse_events_page, split_events_body  # noqa: E402
from stellarstream.chain.types import RawEvent  # noqa: E402
from stellarstream.config import Settings  # noqa: E402
from stellarstream.db.engine import make_engine, make_sessionmaker  # noqa: E402
from stellarstream.db.models import ContractEventRow, Stream  # noqa: E402
from stellarstream.ingest import store  # noqa: E402
from stellarstream.ingest.backfill import batching  # noqa: E402
from stellarstream.ingest.backfill.batchgc import BatchCollector  # noqa: E402
from stellarstream.projection.fold import Located, project  # noqa: E402
from stellarstream.projection.rows import (  # noqa: E402
    FIXED_AT_CREATION,
    REBUILD_CHUNK,
    rebuild_streams,
)

BIN = Path(sys.executable).parent
RSS_LIMIT_MB = 150
DEFAULT_PAGE = Settings.model_fields["sync_page_limit"].default
POLL_SECONDS = 0.05
MB = 1024 * 1024
PAGE_CACHE = Path(tempfile.gettempdir()) / "stellarstream-bench-pages"  # see BenchRpc


# --- databases -------------------------------------------------------------------------------


class Databases:
    """Fresh migrated databases: a copied SQLite file, or a PostgreSQL copy of a template."""

    def __init__(self, workdir: Path, kinds: list[str]) -> None:
        self.workdir = workdir
        self.sqlite_template = migrated_sqlite_template(workdir) if "sqlite" in kinds else None
        self.postgres = PostgresDatabases(postgres_admin_url()) if "postgres" in kinds else None
        self._count = 0

    @contextmanager
    def fresh(self, kind: str) -> Iterator[str]:
        self._count += 1
        if kind == "sqlite":
            assert self.sqlite_template is not None
            folder = self.workdir / f"db{self._count}"
            folder.mkdir()
            shutil.copyfile(self.sqlite_template, folder / "sync.db")
            try:
                yield f"sqlite:///{folder / 'sync.db'}"
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return
        assert self.postgres is not None
        name = self.postgres.create()
        try:
            yield self.postgres.url_for(name)
        finally:
            self.postgres.drop(name)

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()


# --- the sync command ------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    page_limit: int | None = None  # None: the product's default
    xdr_format: str = "json"  # STELLARSTREAM_RPC_XDR_FORMAT (the product's default: json)
    src: Path | None = None  # another checkout's src/ (PYTHONPATH), e.g. an older commit
    profile: Path | None = None  # py-spy's collapsed stacks of the sync go to this file
    worker: bool = False  # STELLARSTREAM_SYNC_WORKER true/false (the product's default, auto: on
    # Linux with 2+ CPUs, is the worker)

    def describe(self) -> str:
        page = "default" if self.page_limit is None else f"{self.page_limit:,}"
        code = "" if self.src is None else f", code from {self.src}"
        return f"STELLARSTREAM_SYNC_PAGE_LIMIT {page}, xdrFormat {self.xdr_format}{code}"


@dataclass
class SyncRun:
    wall: float  # the whole command: start, imports, migrations check, sync, exit
    summary: dict[str, Any]
    rss_main: float  # MB, peak RSS of the sync process
    rss_child: float  # MB, peak RSS of any one child (the worker), 0 without
    rss_tree: float  # MB, peak of the summed RSS of the process and its children
    pss_tree: float  # MB, peak of the summed PSS (shared pages split between processes)
    maxrss_kernel: float  # MB, ru_maxrss of the sync process (wait4)
    children: int  # most child processes seen at once
    server_cpu: float  # seconds of CPU the fake node's thread used during the run
    requests: int  # getEvents requests the fake node answered
    cpu: float  # user + system seconds of the sync process and its (reaped) children
    others_cpu: float  # CPU seconds used on the machine by everything else during the run

    @property
    def seconds(self) -> float:
        return float(self.summary["seconds"])

    @property
    def events(self) -> int:
        return int(self.summary["events"])


class MemoryWatch(threading.Thread):
    """Poll RSS/PSS of a process and its children every ``POLL_SECONDS``."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.rss_main = self.rss_child = self.rss_tree = self.pss_tree = 0
        self.children = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
            except psutil.Error:
                return
            rss = pss = 0
            for number, proc in enumerate(tree):
                try:
                    info = proc.memory_full_info()
                except psutil.Error:
                    continue
                rss += info.rss
                pss += info.pss
                if number == 0:
                    self.rss_main = max(self.rss_main, info.rss)
                else:
                    self.rss_child = max(self.rss_child, info.rss)
            self.rss_tree = max(self.rss_tree, rss)
            self.pss_tree = max(self.pss_tree, pss)
            self.children = max(self.children, len(tree) - 1)
            self.done.wait(POLL_SECONDS)


def run_sync(
    url: str,
    rpc_url: str,
    server: BenchRpc,
    first: int,
    last: int,
    workdir: Path,
    variant: Variant,
) -> SyncRun:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(
        STELLARSTREAM_DATABASE_URL=url,
        STELLARSTREAM_CONTRACT_IDS=CONTRACT,
        STELLARSTREAM_RPC_URL=rpc_url,
        STELLARSTREAM_HORIZON_URL="none",
        STELLARSTREAM_VAR_DIR=str(workdir / "var"),
        STELLARSTREAM_LOG_LEVEL="WARNING",
    )
    if variant.page_limit is not None:
        env["STELLARSTREAM_SYNC_PAGE_LIMIT"] = str(variant.page_limit)
    env["STELLARSTREAM_RPC_XDR_FORMAT"] = variant.xdr_format
    env["STELLARSTREAM_SYNC_WORKER"] = "true" if variant.worker else "false"
    if variant.src is not None:
        env["PYTHONPATH"] = str(variant.src)
    command = [str(BIN / "stellarstream")]
    if variant.profile is not None:  # the sync under py-spy (its RSS is then not comparable)
        command = ["py-spy", "record", "-f", "raw", "-r", "200", "-o", str(variant.profile), "--"]
        command += [str(BIN / "stellarstream")]
    command += ["sync", "--from", str(first), "--to", str(last)]
    requests_before, cpu_before = server.requests["getEvents"], server.thread_seconds
    gc.collect()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before, own_before = busy_cpu_seconds(), time.process_time()
        began = time.perf_counter()
        proc = subprocess.Popen([*command, "--json"], env=env, stdout=out, stderr=err)
        watch = MemoryWatch(proc.pid)
        watch.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - began
        cpu = usage.ru_utime + usage.ru_stime
        others = busy_cpu_seconds() - busy_before - cpu - (time.process_time() - own_before)
        proc.returncode = os.waitstatus_to_exitcode(status)
        watch.done.set()
        watch.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"sync failed ({proc.returncode}):\n{stderr[-3000:]}")

    return SyncRun(
        wall=wall,
        # py-spy prints lines before and after it
        summary=json.JSONDecoder().raw_decode(stdout[stdout.index("{") :])[0],
        rss_main=watch.rss_main / MB,
        rss_child=watch.rss_child / MB,
        rss_tree=watch.rss_tree / MB,
        pss_tree=watch.pss_tree / MB,
        maxrss_kernel=usage.ru_maxrss / 1024,
        children=watch.children,
        server_cpu=server.thread_seconds - cpu_before,
        requests=server.requests["getEvents"] - requests_before,
        cpu=cpu,
        others_cpu=max(0.0, others),
    )


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting for I/O)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- checks ----------------------------------------------------------------------------------


def expected_streams(history: History, raws: list[RawEvent]) -> dict[int, dict[str, Any]]:
    """Every stream's row projected from its whole history at once (no batches)."""
    located: dict[int, list[Located]] = defaultdict(list)
    for raw, event in zip(raws, history.expected, strict=True):
        sid = ev.stream_id_of(event)
        if sid is not None:
            located[sid].append(
                Located(event, raw.ledger, raw.tx_index, raw.op_index, raw.event_index, raw.tx_hash)
            )
    rows = {sid: project(CONTRACT, sid, items) for sid, items in located.items()}
    return {sid: row for sid, row in rows.items() if row is not None}


def check_database(url: str, history: History, streams: dict[int, dict[str, Any]]) -> None:
    """Every event stored once with the expected decoding; every stream row as projected."""
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            count = session.scalar(select(func.count()).select_from(ContractEventRow))
            assert count == history.events, (count, history.events)
            rows = session.execute(
                select(ContractEventRow.decoded).order_by(
                    ContractEventRow.ledger,
                    ContractEventRow.tx_index,
                    ContractEventRow.op_index,
                    ContractEventRow.event_index,
                )
            )
            for (decoded,), expected in zip(rows, history.expected, strict=True):
                if decoded != ev.to_json(expected):
                    raise AssertionError(f"stored {decoded} != expected {ev.to_json(expected)}")
            columns = [c.key for c in Stream.__table__.columns if c.key != "id"]
            found = 0
            for stream in session.scalars(select(Stream)):
                want = streams[stream.stream_id]
                got = {c: getattr(stream, c) for c in columns if c in want}
                if got != {c: want[c] for c in got}:
                    raise AssertionError(f"stream {stream.stream_id}: {got} != {want}")
                found += 1
            assert found == len(streams), (found, len(streams))
    finally:
        engine.dispose()


# --- ceilings --------------------------------------------------------------------------------


def decode_ceiling(
    pages: list[bytes], expected: list[ev.DomainEvent]
) -> tuple[float, list[RawEvent]]:
    """Seconds to parse the served pages and decode every event in this process (one core),
    and the RawEvents parsed; checks every result."""
    wanted = frozenset([CONTRACT])
    raws: list[RawEvent] = []
    decoded: list[ev.DomainEvent] = []
    # Garbage collection as the sync paces it (young generations after each batch): CPython's
    # automatic collections would walk this process's whole history again and again.
    with BatchCollector() as collector:
        began = time.perf_counter()
        for page in pages:
            # As the sync's RPC client reads a page: one event at a time, decoded as parsed.
            parsed = split_events_body(b'{"jsonrpc":"2.0","id":1,"result":' + page + b"}", wanted)
            if parsed is None:  # not a plain result: the whole-body parser, as the client
                parsed = parse_events_page(jsontext.loads(page), wanted)
            raws.extend(parsed.events)
            decoded.extend(parsed.decoded or [decode(raw) for raw in parsed.events])
            del parsed
            collector.after_batch()
        seconds = time.perf_counter() - began
    if decoded != expected:
        wrong = next(i for i, (a, b) in enumerate(zip(decoded, expected, strict=False)) if a != b)
        raise AssertionError(f"event {wrong} decodes to {decoded[wrong]}, not {expected[wrong]}")
    return seconds, raws


@dataclass
class InsertRun:
    insert: float  # insert_events + commit, seconds
    rebuild: float  # rebuild_streams of the touched streams, seconds


def insert_ceiling(url: str, pairs: list[tuple[RawEvent, ev.DomainEvent]]) -> InsertRun:
    """Pre-decoded events through the store in transactions of the sync's size (its
    ``MAX_EVENTS``), garbage collected as the sync does; the rebuild timed on its own."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    insert = rebuild = 0.0
    size = batching.MAX_EVENTS
    try:
        with BatchCollector() as collector:
            for start in range(0, len(pairs), size):
                chunk = pairs[start : start + size]
                t0 = time.perf_counter()
                with sessions() as session, session.begin():
                    stored = store.insert_events(session, chunk, source="rpc", now=now)
                    assert len(stored.new) == len(chunk)
                    session.flush()
                    t1 = time.perf_counter()
                    rebuild_streams(session, stored.touched, known=stored.new)
                    # As the sync does (PostgreSQL: statistics for the stream lookups)
                    store.refresh_statistics(session, start + len(chunk))
                    session.flush()
                    t2 = time.perf_counter()
                del stored
                collector.after_batch()
                insert += (t1 - t0) + (time.perf_counter() - t2)
                rebuild += t2 - t1
    finally:
        engine.dispose()
    return InsertRun(insert, rebuild)


def sqlite_floor(filled: str, template: Path, workdir: Path) -> float:
    """Seconds SQLite alone takes for the writes a sync makes, with no Python work between.

    The rows of ``filled`` (a database the store filled) go again into a fresh copy of the
    migrated ``template``, batch by batch in chain order as a sync sends them: each batch's
    events by ``executemany``, its streams' rows read by the same ``IN`` query, then upserted
    (each stream's final row stands for its row of that batch), then commit. The WAL and
    checkpoint settings are the product's (``db.engine``)."""
    source = sqlite3.connect(filled.removeprefix("sqlite:///"))
    events_cols = [r[1] for r in source.execute("PRAGMA table_info(contract_events)")][1:]
    stream_cols = [r[1] for r in source.execute("PRAGMA table_info(streams)")][1:]
    order = "ledger, tx_index, op_index, event_index"
    events = source.execute(
        f"SELECT {', '.join(events_cols)} FROM contract_events ORDER BY {order}"
    ).fetchall()
    rows = {r[1]: r for r in source.execute(f"SELECT {', '.join(stream_cols)} FROM streams")}
    source.close()
    at = events_cols.index("stream_id")
    fixed = FIXED_AT_CREATION
    insert_events = (
        f"INSERT INTO contract_events ({', '.join(events_cols)}) VALUES "
        f"({', '.join('?' * len(events_cols))}) ON CONFLICT (tx_hash, event_index) DO NOTHING"
    )
    upsert = (
        f"INSERT INTO streams ({', '.join(stream_cols)}) VALUES "
        f"({', '.join('?' * len(stream_cols))}) ON CONFLICT (contract_id, stream_id) DO UPDATE "
        f"SET {', '.join(f'{c} = excluded.{c}' for c in stream_cols if c not in fixed)}"
    )
    path = workdir / "floor.db"
    shutil.copyfile(template, path)
    db = sqlite3.connect(path, isolation_level=None)
    raw = make_engine(f"sqlite:///{path}").raw_connection()  # the product's pragmas, to copy
    for pragma in ("journal_mode", "synchronous", "wal_autocheckpoint"):
        value = raw.cursor().execute(f"PRAGMA {pragma}").fetchone()[0]
        db.execute(f"PRAGMA {pragma}={value}")
    raw.close()
    size = batching.MAX_EVENTS
    began = time.perf_counter()
    for start in range(0, len(events), size):
        batch = events[start : start + size]
        ids = sorted({row[at] for row in batch})
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert_events, batch)
        for i in range(0, len(ids), REBUILD_CHUNK):
            chunk = ids[i : i + REBUILD_CHUNK]
            marks = ", ".join("?" * len(chunk))
            db.execute(
                f"SELECT {', '.join(stream_cols)} FROM streams WHERE contract_id = ? "
                f"AND stream_id IN ({marks})",
                [batch[0][0], *chunk],
            ).fetchall()
            db.executemany(upsert, [rows[s] for s in chunk])
        db.execute("COMMIT")
    seconds = time.perf_counter() - began
    db.close()
    path.unlink()
    return seconds


# --- report ----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import stellar_sdk

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores (load avg before: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        + ")",
        "ram": f"{psutil.virtual_memory().total / 1024**3:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "stellar-sdk": stellar_sdk.__version__,
        "sqlite": sqlite3.sqlite_version,
    }


def postgres_version() -> str:
    engine = make_engine(postgres_admin_url())
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}"


def all_rates(n: int, seconds: list[float]) -> str:
    return " / ".join(rate(n, s) for s in seconds)


@dataclass
class Results:
    events: int
    decode: list[float] = field(default_factory=list)
    syncs: dict[str, list[SyncRun]] = field(default_factory=lambda: defaultdict(list))
    inserts: dict[str, list[InsertRun]] = field(default_factory=lambda: defaultdict(list))
    floor: list[float] = field(default_factory=list)  # sqlite_floor seconds

    def table(self) -> str:
        n = self.events
        lines = [
            "| measurement | database | best events/s | every run (events/s) | notes |",
            "|---|---|---:|---|---|",
        ]
        if self.decode:
            lines.append(
                f"| decode only, 1 core | - | {rate(n, min(self.decode))} | "
                f"{all_rates(n, self.decode)} | getEvents page parse + `decode()`, in-process |"
            )
        for db, items in self.inserts.items():
            lines.append(
                f"| DB insert only | {db} | {rate(n, min(r.insert for r in items))} | "
                f"{all_rates(n, [r.insert for r in items])} | `insert_events`, pre-decoded, "
                f"{batching.MAX_EVENTS:,} per transaction |"
            )
            lines.append(
                f"| DB stage (insert + rebuild) | {db} | "
                f"{rate(n, min(r.insert + r.rebuild for r in items))} | "
                f"{all_rates(n, [r.insert + r.rebuild for r in items])} | both, as a batch does |"
            )
            lines.append(
                f"| projection rebuild only | {db} | {rate(n, min(r.rebuild for r in items))} | "
                f"{all_rates(n, [r.rebuild for r in items])} | `rebuild_streams` of each "
                "batch's streams, same transactions |"
            )
        if self.floor:
            lines.append(
                f"| SQLite alone (the floor) | sqlite | {rate(n, min(self.floor))} | "
                f"{all_rates(n, self.floor)} | the same rows by `sqlite3` `executemany`, no Python "
                "work: events, stream lookups, stream upserts, commits |"
            )
        for db, items in self.syncs.items():
            best = min(items, key=lambda r: r.wall)
            lines.append(
                f"| **sync end to end** | {db} | **{rate(n, best.wall)}** | "
                f"{all_rates(n, [r.wall for r in items])} | the command's wall time "
                f"({best.wall:.1f} s, start-up and migration check included) |"
            )
            lines.append(
                f"| sync loop | {db} | {rate(n, best.seconds)} | "
                f"{all_rates(n, [r.seconds for r in items])} | `--json` seconds "
                "(`HistoricalSync.run`) |"
            )
        lines += [
            "",
            "| database | run | peak RSS sync process | peak RSS worker | peak RSS tree (sum) |"
            " peak PSS tree | processes | CPU s (us/event) | others' CPU s meanwhile |"
            " getEvents requests | fake node CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for db, items in self.syncs.items():
            for number, r in enumerate(items, 1):
                lines.append(
                    f"| {db} | {number} | {r.rss_main:.0f} MB | "
                    f"{f'{r.rss_child:.0f} MB' if r.children else '-'} | {r.rss_tree:.0f} MB | "
                    f"{r.pss_tree:.0f} MB | {1 + r.children} | {r.cpu:.1f} "
                    f"({r.cpu / n * 1e6:.0f}) | {r.others_cpu:.1f} | {r.requests} | "
                    f"{r.server_cpu:.2f} |"
                )
        return "\n".join(lines)

    def verdict(self) -> str:
        n = self.events
        lines = []
        ceilings = {"decode": n / min(self.decode)} if self.decode else {}
        for db, items in self.inserts.items():
            ceilings[f"insert {db}"] = n / min(r.insert for r in items)
            ceilings[f"store {db}"] = n / min(r.insert + r.rebuild for r in items)
        for label, items in self.syncs.items():
            db = label.split(",")[0]
            best = n / min(r.wall for r in items)
            parts = [f"{label}: {best:,.0f} events/s end to end"]
            if db == "sqlite":
                parts.append(f"target 20,000: {'met' if best >= 20_000 else 'NOT met'}")
            # Two readings of "database insert only": the event insert alone, and the whole
            # database stage a batch needs (insert + projection rebuild).
            for stage in ("insert", "store"):
                candidates = [v for k, v in ceilings.items() if k in ("decode", f"{stage} {db}")]
                if len(candidates) == 2:
                    lower = min(candidates)
                    met = "met" if best >= lower / 2 else "NOT met"
                    parts.append(
                        f"{best / lower:.0%} of the lower ceiling {lower:,.0f} with the database"
                        f" {'insert alone' if stage == 'insert' else 'stage (insert + rebuild)'}"
                        f" ({met})"
                    )
            # Two readings of "the sync's peak RSS < 150 MB": each process on its own (a
            # supervisor's per-process limit), and all of them together by PSS (shared pages
            # counted once).
            main = max(r.rss_main for r in items)
            child = max(r.rss_child for r in items)
            pss = max(r.pss_tree for r in items)
            rss = max(r.rss_tree for r in items)
            each = "met" if max(main, child) < RSS_LIMIT_MB else "NOT met"
            together = "met" if pss < RSS_LIMIT_MB else "NOT met"
            worker = f", worker {child:.0f} MB" if child else ""
            parts.append(
                f"peak RSS < {RSS_LIMIT_MB} MB per process {each} (sync process {main:.0f} MB"
                f"{worker}); all together {together} (PSS {pss:.0f} MB, RSS summed {rss:.0f} MB)"
            )
            lines.append("- " + "; ".join(parts))
        return "\n".join(lines)


SHAPES = ("deep", "wide")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="the deep shape's events")
    parser.add_argument(
        "--shape",
        choices=[*SHAPES, "both"],
        default="deep",
        help="deep: --events over ~52 streams per 200 events; wide: --streams of 3-4 events",
    )
    parser.add_argument("--streams", type=int, default=50_000, help="the wide shape's streams")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement")
    parser.add_argument("--page-limit", type=int, help="STELLARSTREAM_SYNC_PAGE_LIMIT")
    parser.add_argument("--xdr-format", choices=["json", "base64"], default="json")
    parser.add_argument(
        "--src", type=Path, help="run the command from this src/ directory (compare commits)"
    )
    parser.add_argument(
        "--profile", type=Path, help="record the sync with py-spy (raw collapsed stacks) here"
    )
    parser.add_argument("--skip-ceilings", action="store_true", help="only the sync command")
    parser.add_argument(
        "--worker",
        choices=["off", "on", "both"],
        default="both",
        help="STELLARSTREAM_SYNC_WORKER for the sync runs (both: each database both ways)",
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if "postgres" in kinds and (reason := postgres_reachable(postgres_admin_url())):
        parser.error(f"PostgreSQL is not reachable at {postgres_admin_url()}: {reason}")
    variant = Variant(args.page_limit, args.xdr_format, args.src, args.profile)
    info = machine()
    if "postgres" in kinds:
        info["postgresql"] = postgres_version()
    shapes = list(SHAPES) if args.shape == "both" else [args.shape]
    reports = [(shape, bench_shape(shape, args, kinds, variant)) for shape in shapes]
    print()
    print("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()))
    command = f".venv/bin/python bench/sync.py --shape {args.shape}"
    if "deep" in shapes:
        command += f" --events {args.events}"
    if "wide" in shapes:
        command += f" --streams {args.streams}"
    command += f" --db {args.db} --repeat {args.repeat}"
    if args.page_limit is not None:
        command += f" --page-limit {args.page_limit}"
    command += f" --xdr-format {args.xdr_format} --worker {args.worker}"
    if args.src is not None:
        command += f" --src {args.src}"
    print(f"Command: {command}  ({variant.describe()})")
    for shape, (about, results) in reports:
        print()
        print(f"Shape {shape}: {about}")
        print()
        print(results.table())
        print()
        print(results.verdict())


def bench_shape(
    shape: str, args: argparse.Namespace, kinds: list[str], variant: Variant
) -> tuple[str, Results]:
    """Generate the ``shape``'s history, serve it, sync and check it; its description and
    results."""
    began = time.perf_counter()
    history = generate(args.events) if shape == "deep" else generate_wide(args.streams)
    built = time.perf_counter() - began
    about = (
        f"{history.events:,} StellarStream events ({history.streams:,} streams) and "
        f"{len(history.chain.events) - history.events:,} token transfers, ledgers "
        f"{history.first_ledger}-{history.last_ledger}"
    )
    print(
        f"{shape} history: {about}, built in {built:.1f} s; "
        f"{verify(history)} samples byte-identical to the builders",
        flush=True,
    )
    raws = history.raw_events()
    results = Results(history.events)
    with tempfile.TemporaryDirectory(prefix="ss-bench-") as tmp:
        workdir = Path(tmp)
        began = time.perf_counter()
        server = BenchRpc(history.chain, xdr_format=variant.xdr_format, cache=PAGE_CACHE)
        checked = server.check(CONTRACT, history.first_ledger, history.last_ledger, 10_000)
        print(
            f"fake node: pages prebuilt in {time.perf_counter() - began:.1f} s; fast path == "
            f"original on {checked:,} events; sync variant: {variant.describe()}",
            flush=True,
        )
        streams = expected_streams(history, raws)
        databases = Databases(workdir, kinds)
        try:
            workers = {"off": [False], "on": [True], "both": [False, True]}[args.worker]
            with serve(server) as base:
                for kind, worker in itertools.product(kinds, workers):
                    label = f"{kind}, worker" if worker else kind
                    mode = dataclasses.replace(variant, worker=worker)
                    for number in range(args.repeat):
                        with databases.fresh(kind) as url:
                            run = run_sync(
                                url,
                                base + "/",
                                server,
                                history.first_ledger,
                                history.last_ledger,
                                workdir,
                                mode,
                            )
                            assert run.events == run.summary["new"] == history.events, run.summary
                            if number == 0:
                                check_database(url, history, streams)
                        results.syncs[label].append(run)
                        pages = server.page_seconds[-run.requests :] or [0.0]
                        print(
                            f"sync {shape} {label} #{number + 1}: "
                            f"{history.events / run.wall:,.0f} "
                            f"events/s (wall {run.wall:.1f} s, loop {run.seconds:.1f} s), "
                            f"{run.requests} requests; RSS {run.rss_main:.0f} MB (worker "
                            f"{run.rss_child:.0f} MB, tree {run.rss_tree:.0f} MB, PSS "
                            f"{run.pss_tree:.0f} MB); CPU "
                            f"{run.cpu:.1f} s ({run.cpu / history.events * 1e6:.0f} us/event); "
                            f"rest of the machine {run.others_cpu:.1f} CPU s; fake node "
                            f"{run.server_cpu:.2f} CPU s, {statistics.mean(pages) * 1e3:.1f} "
                            "ms/page",
                            flush=True,
                        )
            if not args.skip_ceilings:
                measure_ceilings(
                    args.repeat,
                    kinds,
                    server,
                    args.page_limit or DEFAULT_PAGE,
                    history,
                    databases,
                    results,
                )
        finally:
            databases.close()
    return about, results


def measure_ceilings(
    repeat: int,
    kinds: list[str],
    server: BenchRpc,
    page: int,
    history: History,
    databases: Databases,
    results: Results,
) -> None:
    n = history.events
    pages = server.pages(CONTRACT, page)
    raws: list[RawEvent] = []
    for number in range(repeat):
        seconds, raws = decode_ceiling(pages, history.expected)
        results.decode.append(seconds)
        print(f"decode only #{number + 1}: {rate(n, seconds)} events/s on 1 core", flush=True)
    pairs = list(zip(raws, history.expected, strict=True))
    for kind in kinds:
        for number in range(repeat):
            with databases.fresh(kind) as url:
                run = insert_ceiling(url, pairs)
                if kind == "sqlite":
                    assert databases.sqlite_template is not None
                    floor = sqlite_floor(url, databases.sqlite_template, databases.workdir)
                    results.floor.append(floor)
                    print(f"SQLite alone #{number + 1}: {rate(n, floor)} events/s", flush=True)
            results.inserts[kind].append(run)
            print(
                f"insert only {kind} #{number + 1}: {rate(n, run.insert)} events/s; "
                f"rebuild {rate(n, run.rebuild)} events/s",
                flush=True,
            )


if __name__ == "__main__":
    main()
