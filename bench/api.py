"""Streams API benchmark (issue 5): PostgreSQL with 100,000 streams and 1,000,000 contract events,
served by gunicorn with uvicorn workers (one per core), measured with wrk beside its floors
(``bench/floor_app.py``: Starlette + async psycopg doing the same SQL) and a bare Starlette
endpoint, all served the same way.

    .venv/bin/python bench/api.py            # about 5 minutes on 2 cores

What it does, in one run:

1. Creates a fresh PostgreSQL database (``--db-name``, dropped again at the end, even on failure
   or Ctrl-C) and runs the real migrations (``stellarstream db upgrade``).
2. Loads the data with ``INSERT ... SELECT generate_series`` in the shapes the product writes:
   one V2 contract, ``create_v2``/``claim``/``cancel``/``archived`` stream events and contract-wide
   ``pause``/``unpause``/``btch_crt`` events with their real topic and value XDR (built from
   templates encoded with stellar_sdk, variable fields overlaid per row) and the ``decoded`` JSON
   text exactly as ``chain.events.to_json`` + SQLAlchemy's JSON serialiser store it; the
   ``streams`` rows are the projection of those events (cancel splits computed with
   ``chain.math.unlocked``); 2% of the amounts are above 2**63; 400 addresses (senders skewed,
   receivers uniform); a ``sync_state`` row 3 ledgers behind the network. Then the ``/stats``
   totals counted (``projection.totals.rebuild``), VACUUM ANALYZE, CHECKPOINT, and a check on a
   sample: ``decode(row XDR)`` must give the stored ``decoded`` byte for byte and
   ``projection.fold.project(events)`` must give the stored ``streams`` row.
3. Starts ``gunicorn -k uvicorn_worker.UvicornWorker -w <cores> stellarstream.api.asgi:app``
   (rate limits off, log level warning, prometheus multiprocess dir as in production) and the
   same for ``bench/floor_app.py`` and ``bench/bare_app.py``.
4. For GET /bare, /api/v1/streams/{id} (10,000 ids in rotation), /api/v1/streams?address=
   (all 400 addresses in rotation) and /api/v1/stats, each after its floor (same rotation):
   a wrk warm-up, a peak run
   (``wrk -t2 -c32 -d15s``), then a run paced at half of that endpoint's own peak (a LuaJIT
   ``delay()`` schedule inside wrk: constant request rate, rotation kept) reporting p99.
   Every gunicorn worker's RSS is sampled (psutil, children of the master) every 200 ms
   throughout; CPU used by the workers, by PostgreSQL and by wrk is reported per run, because
   on a small machine the load generator competes with the server for the same cores.
5. Prints machine info, the results table and the targets (``/streams/{id}`` and ``/stats`` >=
   50% of their floor's peak, ``?address=`` >= 30%, p99 < 50 ms at half of own peak, worker
   RSS < 200 MB) marked met / NOT MET; exits 1 if any API
   target is missed. Every run is bounded (wrk durations, subprocess timeouts).

Needs wrk (``apt-get install -y wrk``, built with LuaJIT) and a PostgreSQL reachable at
``--admin-url`` by a role that may create databases. Results go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from stellar_sdk import StrKey, scval
from stellar_sdk import xdr as x

from stellarstream.chain import events as ev
from stellarstream.chain.decode import decode
from stellarstream.chain.math import unlocked
from stellarstream.chain.types import RawEvent
from stellarstream.db.models import ContractEventRow, Stream
from stellarstream.projection import totals
from stellarstream.projection.fold import Located, project

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Each API read against its floor (bench/floor_app.py: the same SQL, async psycopg, no product
# code): the share of the floor's peak throughput it must reach.
FLOORS = {
    "stream": ("floor-stream", 0.50),
    "address": ("floor-address", 0.30),
    "stats": ("floor-stats", 0.50),
}
TARGET_P99_MS = 50.0
TARGET_RSS_MB = 200.0
LEDGER_SECONDS = 5
LATEST_LEDGER = 52_000_000
ADDRESSES = 400
TOKENS = 6
ROTATED_IDS = 10_000


def _raw(label: str) -> bytes:
    return hashlib.sha256(f"stellarstream-bench:{label}".encode()).digest()


CONTRACT = StrKey.encode_contract(_raw("contract-v2"))
ADMIN_RAW = _raw("admin")


# --- event templates: real XDR with placeholder bytes, overlaid per row in SQL ------------------

PH_SID = 0x1A2B3C4D5E6F7A01
PH_START = 0x1A2B3C4D5E6F7A02
PH_CLIFF = 0x1A2B3C4D5E6F7A03
PH_END = 0x1A2B3C4D5E6F7A04
PH_NOW = 0x1A2B3C4D5E6F7A05
PH_AMOUNT = (0x2B3C4D5E6F7A0B01 << 64) | 0x2B3C4D5E6F7A0B11
PH_AMOUNT2 = (0x2B3C4D5E6F7A0B02 << 64) | 0x2B3C4D5E6F7A0B12
PH_COUNT = 0x7F6E5D4C
PH_ACCOUNT = bytes([0xA1]) * 32
PH_ACCOUNT2 = bytes([0xA2]) * 32
PH_TOKEN = bytes([0xC3]) * 32
PH_MEMO = "zqmemozq9"  # the memo is 'inv' + 6 digits: same length


def _u64(v: int) -> x.SCVal:
    return scval.to_uint64(v)


def _i128(v: int) -> x.SCVal:
    return scval.to_int128(v)


def _account(raw: bytes) -> x.SCVal:
    return scval.to_address(StrKey.encode_ed25519_public_key(raw))


def _contract(raw: bytes) -> x.SCVal:
    return scval.to_address(StrKey.encode_contract(raw))


def _nebula(action: str, data: list[x.SCVal]) -> x.SCVal:
    return scval.to_struct(
        {
            "action": scval.to_symbol(action),
            "data": scval.to_vec(data),
            "timestamp": _u64(PH_NOW),
            "version": scval.to_uint32(2),
        }
    )


def _stream_value(action: str, items: list[x.SCVal]) -> x.SCVal:
    return _nebula(action, [_u64(PH_SID), *items, _u64(PH_NOW)])


@dataclass(frozen=True)
class Slot:
    """A placeholder in a template and the SQL bytea expression that replaces it."""

    pattern: bytes
    sql: str
    count: int = 1


def u64_sql(expr: str) -> str:
    return f"int8send(({expr})::bigint)"


def i128_sql(expr: str) -> str:
    # Non-negative i128 as big-endian hi (int64) + lo (uint64, sent as its int64 bit pattern).
    two64, two63 = 2**64, 2**63
    lo = f"mod(({expr})::numeric, {two64})"
    return (
        f"(int8send(div(({expr})::numeric, {two64})::bigint)"
        f" || int8send((CASE WHEN {lo} >= {two63} THEN {lo} - {two64} ELSE {lo} END)::bigint))"
    )


def xdr_sql(value: x.SCVal, slots: list[Slot]) -> str:
    """SQL text expression: base64 XDR of ``value`` with every slot's bytes replaced per row."""
    data = base64.b64decode(value.to_xdr())
    edits: list[tuple[int, int, str]] = []
    for slot in slots:
        found = [m.start() for m in re.finditer(re.escape(slot.pattern), data)]
        if len(found) != slot.count:
            raise AssertionError(f"placeholder found {len(found)} times, expected {slot.count}")
        edits += [(at, len(slot.pattern), slot.sql) for at in found]
    edits.sort()
    for (a, la, _), (b, _, _) in itertools.pairwise(edits):
        if a + la > b:
            raise AssertionError("overlapping placeholders")
    expr = f"'\\x{data.hex()}'::bytea"
    for at, length, sql in edits:
        expr = f"overlay({expr} placing ({sql}) from {at + 1} for {length})"
    return f"translate(encode({expr}, 'base64'), E'\\n', '')"


def _b64(value: x.SCVal) -> str:
    return value.to_xdr()


def _q(sql: str) -> str:
    """A JSON string value built in SQL (our values never need escaping)."""
    return f"""'"' || ({sql}) || '"'"""


def json_sql(pairs: list[tuple[str, str]]) -> str:
    """SQL text expression of a JSON object exactly as ``json.dumps`` writes it."""
    parts = [f"'{json.dumps(key)}: ' || ({value})" for key, value in pairs]
    return "'{' || " + " || ', ' || ".join(parts) + " || '}'"


# --- the data ------------------------------------------------------------------------------------


@dataclass
class Dataset:
    streams: int
    now: int
    addresses: list[str]
    tokens: list[str]

    @property
    def latest_ledger(self) -> int:
        return LATEST_LEDGER

    @property
    def first_ledger(self) -> int:
        return LATEST_LEDGER - 17 * self.streams - 2000

    @property
    def contract_wide(self) -> int:
        return max(2, self.streams // 100)

    @property
    def events(self) -> int:
        # 10 per stream, 9 for the one in 100 created in a batch (its btch_crt is contract-wide).
        return 10 * self.streams - self.streams // 100 + self.contract_wide


def close_time_sql(ledger: str, ds: Dataset) -> str:
    return f"({ds.now}::bigint - ({ds.latest_ledger} - ({ledger})) * {LEDGER_SECONDS})"


def load_data(conn: psycopg.Connection[Any], ds: Dataset, log: Any) -> None:
    """Fill streams, contract_events and sync_state (the connection is in autocommit off)."""
    cur = conn.cursor()
    cur.execute("SET synchronous_commit = off")
    cur.execute("SET work_mem = '256MB'")
    cur.execute("SET maintenance_work_mem = '512MB'")
    cur.execute("SET max_parallel_workers_per_gather = 0")  # random() stays deterministic
    cur.execute("CREATE TEMP TABLE bench_addr (idx int PRIMARY KEY, strkey text, raw bytea)")
    cur.execute("CREATE TEMP TABLE bench_tok (idx int PRIMARY KEY, strkey text, raw bytea)")
    with cur.copy("COPY bench_addr FROM STDIN") as copy:
        for i in range(ADDRESSES):
            raw = _raw(f"account-{i}")
            copy.write_row((i + 1, StrKey.encode_ed25519_public_key(raw), raw))
    with cur.copy("COPY bench_tok FROM STDIN") as copy:
        for i in range(TOKENS):
            raw = _raw(f"token-{i}")
            copy.write_row((i + 1, StrKey.encode_contract(raw), raw))
    ds.addresses = [r[0] for r in cur.execute("SELECT strkey FROM bench_addr ORDER BY idx")]
    ds.tokens = [r[0] for r in cur.execute("SELECT strkey FROM bench_tok ORDER BY idx")]

    n, a, latest = ds.streams, ADDRESSES, ds.latest_ledger
    created_ledger = f"{ds.first_ledger} + n * 17 + floor(r6 * 17)::int"
    cur.execute("SELECT setseed(0.4242)")
    cur.execute(
        f"""
        CREATE TEMP TABLE bench_p AS
        WITH r AS (
            SELECT n, random() r1, random() r2, random() r3, random() r4, random() r5,
                   random() r6, random() r7, random() r8, random() r9, random() r10,
                   random() r11, random() r12
            FROM generate_series(1, {n}) n
        ), b AS (
            SELECT n, r7, r8, r9, r10, r11, r12,
                1 + floor({a} * r1 * r1)::int AS s_idx,
                1 + floor({a} * r2)::int AS r_raw,
                1 + floor({TOKENS} * r3 * r3)::int AS t_idx,
                (CASE WHEN r4 < 0.02
                    THEN 18446744073709551616 + floor(r5 * 1e15)::numeric * 1000
                    ELSE (floor(r5 * 1e5)::numeric + 10) * 10000000 END)::numeric(39, 0)
                    AS total,
                {created_ledger} AS created_ledger,
                CASE WHEN n % 100 = 0 THEN 9 ELSE 10 END AS nev
            FROM r
        ), c AS (
            SELECT *, {close_time_sql("created_ledger", ds)} AS created_at,
                created_ledger + ((nev - 1) * ({latest} - 10 - created_ledger)) / nev
                    AS ledger_last
            FROM b
        ), d AS (
            SELECT *,
                created_at + CASE WHEN r7 < 0.1 THEN 86400 * floor(r8 * 30)::int ELSE 0 END
                    AS start_t,
                86400::bigint * (7 + floor(r9 * 358)::int) AS duration
            FROM c
        )
        SELECT n, s_idx,
            CASE WHEN r_raw = s_idx THEN r_raw % {a} + 1 ELSE r_raw END AS r_idx,
            t_idx, total, created_ledger, created_at, nev, ledger_last,
            {close_time_sql("ledger_last", ds)} AS ts_last,
            start_t,
            CASE WHEN r10 < 0.2 THEN start_t + duration / 10 ELSE start_t END AS cliff_t,
            start_t + duration AS end_t,
            CASE WHEN r11 < 0.08 THEN 'c' WHEN r11 < 0.13 THEN 'a' ELSE 'n' END AS fate,
            CASE WHEN r12 < 0.03 THEN 'inv' || lpad(n::text, 6, '0') END AS memo,
            NULL::numeric(39, 0) AS cu
        FROM d
        """
    )
    cur.execute("ALTER TABLE bench_p ADD PRIMARY KEY (n)")
    # Cancels: what had unlocked at the cancel, with the contract's own math.
    rows = cur.execute(
        "SELECT n, total, start_t, cliff_t, end_t, ts_last FROM bench_p WHERE fate = 'c'"
    ).fetchall()
    cur.execute("CREATE TEMP TABLE bench_cu (n int PRIMARY KEY, cu numeric(39, 0))")
    with cur.copy("COPY bench_cu FROM STDIN") as copy:
        for sid, total, start, cliff, end, ts in rows:
            copy.write_row((sid, unlocked(int(total), start, cliff, end, ts)))
    cur.execute("UPDATE bench_p p SET cu = c.cu FROM bench_cu c WHERE c.n = p.n")
    log(f"  parameters of {n:,} streams ready ({len(rows):,} canceled)")

    _insert_events(cur, ds)
    log(f"  {ds.events:,} contract events inserted")
    _insert_streams(cur, ds)
    cur.execute(
        "INSERT INTO sync_state (contract_id, source, ledger, cursor, latest_ledger, updated_at)"
        f" VALUES ('{CONTRACT}', 'rpc', {latest - 3}, NULL, {latest}, now())"
    )
    conn.commit()
    log(f"  {n:,} streams inserted")


def _insert_events(cur: psycopg.Cursor[Any], ds: Dataset) -> None:
    latest = ds.latest_ledger
    sid, ts = "p.n", "e.ts"
    u64_topic = xdr_sql(_u64(PH_SID), [Slot(PH_SID.to_bytes(8, "big"), u64_sql(sid))])

    def sl(v: int, sql: str, count: int = 1, size: int = 8) -> Slot:
        return Slot(v.to_bytes(size, "big"), sql, count)

    common = [sl(PH_SID, u64_sql(sid)), sl(PH_NOW, u64_sql(ts), 2)]
    create_items = [
        _account(PH_ACCOUNT),
        _account(PH_ACCOUNT2),
        _contract(PH_TOKEN),
        _i128(PH_AMOUNT),
        _u64(PH_START),
        _u64(PH_CLIFF),
        _u64(PH_END),
        _u64(PH_NOW),
    ]
    create_slots = [
        *common,
        Slot(PH_ACCOUNT, "s.raw"),
        Slot(PH_ACCOUNT2, "r.raw"),
        Slot(PH_TOKEN, "t.raw"),
        sl(PH_AMOUNT, i128_sql("p.total"), size=16),
        sl(PH_START, u64_sql("p.start_t")),
        sl(PH_CLIFF, u64_sql("p.cliff_t")),
        sl(PH_END, u64_sql("p.end_t")),
    ]
    create_void = xdr_sql(
        _nebula("create_v2", [_u64(PH_SID), *create_items, scval.to_void()]), create_slots
    )
    create_memo = xdr_sql(
        _nebula("create_v2", [_u64(PH_SID), *create_items, scval.to_symbol(PH_MEMO)]),
        [*create_slots, Slot(PH_MEMO.encode(), "convert_to(p.memo, 'UTF8')")],
    )
    claim = xdr_sql(
        _stream_value("claim", [_account(PH_ACCOUNT), _i128(PH_AMOUNT), _i128(PH_AMOUNT2)]),
        [
            *common,
            Slot(PH_ACCOUNT, "r.raw"),
            sl(PH_AMOUNT, i128_sql("e.w - e.w_prev"), size=16),
            sl(PH_AMOUNT2, i128_sql("e.w"), size=16),
        ],
    )
    to_receiver = "greatest(p.cu - e.w_prev, 0)"
    to_sender = "p.total - greatest(p.cu, e.w_prev)"
    cancel = xdr_sql(
        _stream_value("cancel", [_account(PH_ACCOUNT), _i128(PH_AMOUNT), _i128(PH_AMOUNT2)]),
        [
            *common,
            Slot(PH_ACCOUNT, "s.raw"),
            sl(PH_AMOUNT, i128_sql(to_receiver), size=16),
            sl(PH_AMOUNT2, i128_sql(to_sender), size=16),
        ],
    )
    archived = xdr_sql(
        _stream_value("archived", [_i128(PH_AMOUNT), _i128(PH_AMOUNT2), _account(PH_ACCOUNT)]),
        [
            *common,
            Slot(PH_ACCOUNT, "s.raw"),
            sl(PH_AMOUNT, i128_sql("p.total"), size=16),
            sl(PH_AMOUNT2, i128_sql("e.w_prev"), size=16),
        ],
    )

    def head(kind: str) -> list[tuple[str, str]]:
        return [("kind", f"'\"{kind}\"'"), ("version", "'2'"), ("stream_id", _q(f"{sid}::text"))]

    memo = """CASE WHEN p.memo IS NULL THEN 'null' ELSE '"' || p.memo || '"' END"""
    decoded = {
        "create_v2": json_sql(
            [
                *head("create_v2"),
                ("sender", _q("s.strkey")),
                ("receiver", _q("r.strkey")),
                ("token", _q("t.strkey")),
                ("amount", _q("p.total::text")),
                ("start_time", _q("p.start_t::text")),
                ("cliff_time", _q("p.cliff_t::text")),
                ("end_time", _q("p.end_t::text")),
                ("timestamp", _q(f"{ts}::text")),
                ("memo", memo),
                ("has_memo_slot", "'true'"),
            ]
        ),
        "claim": json_sql(
            [
                *head("claim"),
                ("beneficiary", _q("r.strkey")),
                ("amount", _q("(e.w - e.w_prev)::text")),
                ("withdrawn_total", _q("e.w::text")),
                ("timestamp", _q(f"{ts}::text")),
            ]
        ),
        "cancel": json_sql(
            [
                *head("cancel"),
                ("caller", _q("s.strkey")),
                ("to_receiver", _q(f"({to_receiver})::text")),
                ("to_sender", _q(f"({to_sender})::text")),
                ("timestamp", _q(f"{ts}::text")),
            ]
        ),
        "archived": json_sql(
            [
                *head("archived"),
                ("total", _q("p.total::text")),
                ("withdrawn", _q("e.w_prev::text")),
                ("caller", _q("s.strkey")),
                ("timestamp", _q(f"{ts}::text")),
            ]
        ),
    }
    value_xdr = f"""CASE e.kind
        WHEN 'create_v2' THEN CASE WHEN p.memo IS NULL THEN {create_void} ELSE {create_memo} END
        WHEN 'claim' THEN {claim} WHEN 'cancel' THEN {cancel} ELSE {archived} END"""
    decoded_sql = "CASE e.kind " + " ".join(
        f"WHEN '{kind}' THEN {sql}" for kind, sql in decoded.items()
    )
    symbol_topics = {
        kind: _b64(scval.to_symbol(kind)) for kind in ("create_v2", "claim", "cancel", "archived")
    }
    symbol_case = "CASE e.kind " + " ".join(
        f"WHEN '{k}' THEN '{b}'" for k, b in symbol_topics.items()
    )
    topic_sql = f"""'["' || {u64_topic} || '", "' || ({symbol_case} END) || '"]'"""
    ledger = f"p.created_ledger + (g.k * ({latest} - 10 - p.created_ledger)) / p.nev"
    stream_rows = f"""
        SELECT l.ledger, {ts} AS ts,
            encode(sha256(convert_to('bench:' || p.n || ':' || g.k, 'UTF8')), 'hex') AS tx_hash,
            1 + (p.n * 7 + g.k * 13) % 150 AS tx_index,
            CASE e.kind WHEN 'claim' THEN 1 WHEN 'archived' THEN 0 ELSE 2 END AS event_index,
            e.kind, p.n AS stream_id, {topic_sql} AS topic_xdr, {value_xdr} AS value_xdr,
            ({decoded_sql} END) AS decoded
        FROM bench_p p
        JOIN bench_addr s ON s.idx = p.s_idx
        JOIN bench_addr r ON r.idx = p.r_idx
        JOIN bench_tok t ON t.idx = p.t_idx
        CROSS JOIN LATERAL generate_series(0, p.nev - 1) AS g(k)
        CROSS JOIN LATERAL (SELECT {ledger} AS ledger) l
        CROSS JOIN LATERAL (
            SELECT {close_time_sql("l.ledger", ds)} AS ts,
                CASE WHEN g.k = 0 THEN 'create_v2'
                     WHEN g.k = p.nev - 1 AND p.fate = 'c' THEN 'cancel'
                     WHEN g.k = p.nev - 1 AND p.fate = 'a' THEN 'archived'
                     ELSE 'claim' END AS kind,
                div(p.total * g.k, 20) AS w,
                div(p.total * greatest(g.k - 1, 0), 20) AS w_prev
        ) e
    """
    # Contract-wide: pause, then unpause (the contract ends unpaused), then batch creations.
    cw_topic = xdr_sql(_account(PH_ACCOUNT), [Slot(PH_ACCOUNT, "s.raw")])
    admin_slots = [Slot(PH_ACCOUNT, "s.raw"), Slot(PH_NOW.to_bytes(8, "big"), u64_sql(ts), 2)]
    pause = xdr_sql(_nebula("pause", [_account(PH_ACCOUNT), _u64(PH_NOW)]), admin_slots)
    unpause = xdr_sql(_nebula("unpause", [_account(PH_ACCOUNT), _u64(PH_NOW)]), admin_slots)
    batch = xdr_sql(
        _nebula(
            "btch_crt",
            [_account(PH_ACCOUNT), scval.to_uint32(PH_COUNT), _i128(PH_AMOUNT), _u64(PH_NOW)],
        ),
        [
            *admin_slots,
            Slot(PH_COUNT.to_bytes(4, "big"), "int4send(10)"),
            Slot(PH_AMOUNT.to_bytes(16, "big"), i128_sql("e.total_net")),
        ],
    )
    admin_json = [("admin", _q("s.strkey")), ("timestamp", _q(f"{ts}::text"))]
    cw_decoded = {
        "pause": json_sql([("kind", "'\"pause\"'"), ("version", "'2'"), *admin_json]),
        "unpause": json_sql([("kind", "'\"unpause\"'"), ("version", "'2'"), *admin_json]),
        "btch_crt": json_sql(
            [
                ("kind", "'\"btch_crt\"'"),
                ("version", "'2'"),
                ("sender", _q("s.strkey")),
                ("count", "'10'"),
                ("total_net", _q("e.total_net::text")),
                ("timestamp", _q(f"{ts}::text")),
            ]
        ),
    }
    cw_symbol = "CASE e.kind " + " ".join(
        f"WHEN '{k}' THEN '{_b64(scval.to_symbol(k))}'" for k in cw_decoded
    )
    admin_sql = f"'\\x{ADMIN_RAW.hex()}'::bytea"
    cw_rows = f"""
        SELECT e.ledger, {ts} AS ts,
            encode(sha256(convert_to('bench-cw:' || g.m, 'UTF8')), 'hex') AS tx_hash,
            1 + g.m % 150 AS tx_index, 20 AS event_index, e.kind, NULL::bigint AS stream_id,
            '["' || ({cw_symbol} END) || '", "' || {cw_topic} || '"]' AS topic_xdr,
            CASE e.kind WHEN 'pause' THEN {pause} WHEN 'unpause' THEN {unpause}
                ELSE {batch} END AS value_xdr,
            (CASE e.kind {" ".join(f"WHEN '{k}' THEN {v}" for k, v in cw_decoded.items())} END)
                AS decoded
        FROM generate_series(1, {ds.contract_wide}) AS g(m)
        CROSS JOIN LATERAL (
            SELECT {ds.first_ledger} + g.m * (17 * {ds.streams} / {ds.contract_wide}) AS ledger,
                CASE g.m WHEN 1 THEN 'pause' WHEN 2 THEN 'unpause' ELSE 'btch_crt' END AS kind,
                g.m::numeric * 1000000000 AS total_net
        ) e0
        CROSS JOIN LATERAL (SELECT e0.*, {close_time_sql("e0.ledger", ds)} AS ts) e
        JOIN bench_addr s0 ON s0.idx = 1 + g.m % {ADDRESSES}
        CROSS JOIN LATERAL (
            SELECT CASE WHEN g.m <= 2 THEN {admin_sql} ELSE s0.raw END AS raw,
                CASE WHEN g.m <= 2 THEN '{StrKey.encode_ed25519_public_key(ADMIN_RAW)}'
                     ELSE s0.strkey END AS strkey
        ) s
    """
    cur.execute(
        f"""
        INSERT INTO contract_events (contract_id, ledger, ledger_closed_at, tx_hash, tx_index,
            op_index, event_index, event_type, stream_id, topic_xdr, value_xdr, decoded, source,
            ingested_at)
        SELECT '{CONTRACT}', ledger, to_timestamp(ts), tx_hash, tx_index, 0, event_index, kind,
            stream_id, topic_xdr::json, value_xdr, decoded::json, 'rpc', now()
        FROM ({stream_rows} UNION ALL {cw_rows}) AS all_events
        ORDER BY ledger, tx_index, event_index
        """
    )


def _insert_streams(cur: psycopg.Cursor[Any], ds: Dataset) -> None:
    w_prev = "div(p.total * (p.nev - 2), 20)"
    cur.execute(
        f"""
        INSERT INTO streams (contract_id, stream_id, version, sender, receiver, beneficiary,
            token, total_amount, withdrawn_amount, start_time, cliff_time, end_time, curve_type,
            cancelled, cancelled_at, cancel_to_receiver, cancel_to_sender, archived, archived_at,
            paused, paused_at, memo, yield_enabled, vault_address, created_ledger, created_tx,
            created_at, updated_ledger)
        SELECT '{CONTRACT}', p.n, 2, s.strkey, r.strkey, r.strkey, t.strkey, p.total,
            CASE p.fate WHEN 'c' THEN p.cu WHEN 'a' THEN {w_prev}
                ELSE div(p.total * (p.nev - 1), 20) END,
            p.start_t, p.cliff_t, p.end_t, 0,
            p.fate = 'c', CASE WHEN p.fate = 'c' THEN p.ts_last END,
            CASE WHEN p.fate = 'c' THEN greatest(p.cu - {w_prev}, 0) END,
            CASE WHEN p.fate = 'c' THEN p.total - greatest(p.cu, {w_prev}) END,
            p.fate = 'a', CASE WHEN p.fate = 'a' THEN p.ts_last END,
            false, NULL, p.memo, false, NULL, p.created_ledger,
            encode(sha256(convert_to('bench:' || p.n || ':0', 'UTF8')), 'hex'),
            p.created_at, p.ledger_last
        FROM bench_p p
        JOIN bench_addr s ON s.idx = p.s_idx
        JOIN bench_addr r ON r.idx = p.r_idx
        JOIN bench_tok t ON t.idx = p.t_idx
        ORDER BY p.n
        """
    )


def verify_sample(database_url: str, ds: Dataset, log: Any) -> None:
    """The loaded rows are what the product would have written: decode and project a sample."""
    engine = create_engine(database_url)
    rng = random.Random(7)
    try:
        with Session(engine) as session:
            counts = session.execute(
                text(
                    "SELECT (SELECT count(*) FROM streams), (SELECT count(*) FROM contract_events)"
                )
            ).one()
            if tuple(counts) != (ds.streams, ds.events):
                raise AssertionError(f"row counts {tuple(counts)} != {(ds.streams, ds.events)}")
            picked = session.execute(
                text(
                    "SELECT stream_id FROM streams WHERE cancelled OR archived OR memo IS NOT NULL"
                    " OR total_amount > 9223372036854775807 OR stream_id % 100 = 0"
                    " ORDER BY stream_id"
                )
            ).scalars()
            ids = rng.sample(list(picked), 150) + rng.sample(range(1, ds.streams + 1), 100)
            keys = {(CONTRACT, int(i)) for i in ids}
            grouped: dict[tuple[str, int], list[ContractEventRow]] = {key: [] for key in keys}
            for row in session.scalars(
                select(ContractEventRow).where(
                    ContractEventRow.contract_id == CONTRACT,
                    ContractEventRow.stream_id.in_([k[1] for k in keys]),
                )
            ):
                assert row.stream_id is not None
                grouped[(row.contract_id, row.stream_id)].append(row)
            raw_text = dict(
                session.execute(
                    text(
                        "SELECT id, decoded::text FROM contract_events"
                        " WHERE stream_id = ANY(:ids) OR stream_id IS NULL"
                    ),
                    {"ids": [k[1] for k in keys]},
                ).all()
            )
            rows = {
                (s.contract_id, s.stream_id): s
                for s in session.scalars(select(Stream).where(Stream.stream_id.in_(ids)))
            }
            cw = session.execute(
                text(
                    "SELECT id, contract_id, ledger, ledger_closed_at, tx_hash, tx_index, op_index,"
                    " event_index, topic_xdr, value_xdr FROM contract_events"
                    " WHERE stream_id IS NULL ORDER BY ledger LIMIT 20"
                )
            ).all()
            checked = 0
            for key, events in grouped.items():
                located = []
                for e in events:
                    raw = RawEvent(
                        e.contract_id,
                        e.ledger,
                        e.ledger_closed_at,
                        e.tx_hash,
                        e.tx_index,
                        e.op_index,
                        e.event_index,
                        tuple(e.topic_xdr),
                        e.value_xdr,
                    )
                    decoded = decode(raw)
                    if json.dumps(ev.to_json(decoded)) != raw_text[e.id] or e.event_type != (
                        decoded.kind
                    ):
                        raise AssertionError(f"event {e.id}: stored decoded != decode(XDR)")
                    located.append(
                        Located(
                            ev.from_json(e.decoded),
                            e.ledger,
                            e.tx_index,
                            e.op_index,
                            e.event_index,
                            e.tx_hash,
                        )
                    )
                    checked += 1
                projected = project(key[0], key[1], located)
                stream = rows[key]
                assert projected is not None
                for column, value in projected.items():
                    if getattr(stream, column) != value:
                        raise AssertionError(f"stream {key}: {column} is not its projection")
            for row in cw:
                raw = RawEvent(*row[1:8], tuple(row.topic_xdr), row.value_xdr)
                if json.dumps(ev.to_json(decode(raw))) != raw_text[row.id]:
                    raise AssertionError(f"contract-wide event {row.id}: decoded != decode(XDR)")
            log(
                f"  sample verified: {len(grouped)} streams = projection of their {checked} events,"
                f" every event's decoded = decode(its XDR), {len(cw)} contract-wide events too"
            )
    finally:
        engine.dispose()


# --- processes -----------------------------------------------------------------------------------


def migrated_env(db_url: str, contract: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The API's environment as a benchmark serves it (rate limits off, log level warning,
    Prometheus multiprocess dir in ``workdir``), after ``stellarstream db upgrade`` with it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STELLARSTREAM_")}
    env.update(
        STELLARSTREAM_DATABASE_URL=db_url,
        STELLARSTREAM_CONTRACT_IDS=contract,
        STELLARSTREAM_LOG_LEVEL="warning",
        STELLARSTREAM_RATE_LIMITS_ENABLED="false",
        STELLARSTREAM_VAR_DIR=str(workdir / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "prometheus"),
        **extra,
    )
    (workdir / "prometheus").mkdir()
    cli = Path(sys.executable).parent / "stellarstream"
    subprocess.run([str(cli), "db", "upgrade"], env=env, cwd=workdir, check=True, timeout=300)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    rss_max: dict[int, int] = field(default_factory=dict)
    master_rss_max: int = 0
    samples: int = 0

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []


def start_gunicorn(
    name: str, app: str, workers: int, env: dict[str, str], workdir: Path, extra: list[str]
) -> Server:
    port = free_port()
    log_path = workdir / f"{name}.log"
    gunicorn = Path(sys.executable).parent / "gunicorn"
    cmd = [
        str(gunicorn if gunicorn.exists() else shutil.which("gunicorn")),
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "5",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "--chdir",
        str(workdir),
        *extra,
        app,
    ]
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, proc, port, log_path)


def wait_ready(server: Server, path: str, workers: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}{path}"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited: {server.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200 and len(server.workers()) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} not ready after {timeout}s: {server.log_path.read_text()}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            server.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(server.proc.pid, signal.SIGKILL)  # its own session: master and workers only
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.proc.wait(timeout=5)


class RssSampler(threading.Thread):
    """Max RSS of every worker (child of each gunicorn master), sampled every ``interval``."""

    def __init__(self, servers: list[Server], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.servers, self.interval = servers, interval
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            for server in self.servers:
                with contextlib.suppress(psutil.Error):
                    master = psutil.Process(server.proc.pid).memory_info().rss
                    server.master_rss_max = max(server.master_rss_max, master)
                for worker in server.workers():
                    with contextlib.suppress(psutil.Error):
                        rss = worker.memory_info().rss
                        server.rss_max[worker.pid] = max(server.rss_max.get(worker.pid, 0), rss)
                server.samples += 1


# --- load generation -------------------------------------------------------------------------

LUA = r"""
local paths = {%(paths)s}
local n = #paths
local i = 0
local interval_us = %(interval_us)f
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  i = ((tid or 1) * 7919) %% n
  math.randomseed(tid or 1)
end

function request()
  i = i %% n + 1
  return wrk.format("GET", paths[i])
end

%(delay)s

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f %%.0f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""

# One schedule per wrk thread: each request takes the next slot (interval_us apart) whichever
# connection sends it, so requests go out at a constant rate; behind schedule, no catch-up burst.
LUA_DELAY = r"""
local next_slot = nil
function delay()
  local now = now_us()
  if next_slot == nil then
    next_slot = now + math.random() * interval_us
  else
    next_slot = next_slot + interval_us
  end
  if next_slot < now then next_slot = now end
  return math.floor((next_slot - now) / 1000)
end
"""


@dataclass
class WrkRun:
    label: str
    connections: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    target_rps: float | None = None
    cpu: dict[str, float] = field(default_factory=dict)
    pg_sessions_opened: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def write_script(workdir: Path, name: str, paths: list[str], interval_us: float) -> Path:
    script = workdir / f"{name}.lua"
    script.write_text(
        LUA
        % {
            "paths": ", ".join(json.dumps(p) for p in paths),
            "interval_us": interval_us,
            "delay": LUA_DELAY if interval_us > 0 else "",
        }
    )
    return script


def _cpu_seconds(procs: list[psutil.Process]) -> dict[int, float]:
    """CPU seconds used so far by each process still alive."""
    used = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            used[proc.pid] = t.user + t.system
    return used


def _cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used in between by the processes alive at the end (new ones: all of it)."""
    return sum(max(0.0, used - before.get(pid, 0.0)) for pid, used in after.items())


def _busy(times: Any) -> float:
    """CPU seconds the machine spent busy (not idle, not waiting for I/O, not stolen)."""
    return float(sum(times) - times.idle - times.iowait - getattr(times, "steal", 0.0))


def _pg_sessions(dsn: str, db_name: str) -> int:
    """Connections ever opened to the database (pg_stat_database.sessions, PostgreSQL 14+)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (db_name,)
        ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _postgres_backends(db_name: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if proc.info.get("name") == "postgres" and f" {db_name} " in cmdline:
            found.append(proc)
    return found


def run_wrk(
    label: str,
    server: Server,
    script: Path,
    *,
    threads: int,
    connections: int,
    duration: float,
    db_name: str,
    db_dsn: str,
    target_rps: float | None = None,
) -> WrkRun:
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        "20s",
        "-s",
        str(script),
        f"http://127.0.0.1:{server.port}",
    ]
    workers = server.workers()
    backends = _postgres_backends(db_name)
    sessions_before = _pg_sessions(db_dsn, db_name)
    before = (
        time.monotonic(),
        resource.getrusage(resource.RUSAGE_CHILDREN),
        _cpu_seconds(workers),
        _cpu_seconds(backends),
        psutil.cpu_times(),
    )
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, check=False)
    wall = time.monotonic() - before[0]
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_all = psutil.cpu_times()
    busy = _busy(cpu_all) - _busy(before[4])
    new_sessions = _pg_sessions(db_dsn, db_name) - sessions_before
    cpu = {
        "workers": _cpu_delta(before[2], _cpu_seconds(workers)) / wall,
        "postgres": _cpu_delta(before[3], _cpu_seconds(_postgres_backends(db_name))) / wall,
        "wrk": (ru.ru_utime + ru.ru_stime - before[1].ru_utime - before[1].ru_stime) / wall,
    }
    # Everything else busy on the machine: other processes, and backends that exited meanwhile.
    cpu["other"] = max(0.0, busy / wall - sum(cpu.values()))
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    v = [float(f) for f in line.split()[1:]]
    requests, dur_us = int(v[0]), v[1]
    errors = dict(
        zip(
            ("connect", "read", "write", "status", "timeout"), (int(e) for e in v[2:7]), strict=True
        )
    )
    return WrkRun(
        label=label,
        connections=connections,
        duration_s=dur_us / 1e6,
        requests=requests,
        rps=requests / (dur_us / 1e6),
        p50_ms=v[7] / 1000,
        p90_ms=v[8] / 1000,
        p99_ms=v[9] / 1000,
        max_ms=v[10] / 1000,
        errors={k: e for k, e in errors.items() if e},
        target_rps=target_rps,
        cpu=cpu,
        pg_sessions_opened=new_sessions,
    )


def wait_quiet(limit: float, log: Any) -> str:
    """Wait (at most ``limit`` s) until the machine is < 25% busy over 3 s; say how busy it was."""
    deadline = time.monotonic() + limit
    cores = psutil.cpu_count() or 1
    while True:
        before = psutil.cpu_times()
        time.sleep(3)
        busy = (_busy(psutil.cpu_times()) - _busy(before)) / 3 / cores
        if busy < 0.25 or time.monotonic() >= deadline:
            note = "" if busy < 0.25 else f" (still busy after waiting {limit:.0f}s)"
            log(f"machine {busy:.0%} busy before measuring{note}")
            return f"{busy:.0%} of {cores} cores{note}"
        time.sleep(2)


# --- report --------------------------------------------------------------------------------------


def machine_info(database_url: str) -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            pg = str(conn.execute(text("SHOW server_version")).scalar())
            shared = str(conn.execute(text("SHOW shared_buffers")).scalar())
    finally:
        engine.dispose()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online)",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": f"{pg} (shared_buffers {shared}, same machine)",
        "wrk": (wrk_version.stdout + wrk_version.stderr).splitlines()[0].strip(),
        "commit": f"{commit}{' + uncommitted changes in src/' if dirty else ''}",
        "load_before": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def mark(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def report(
    info: dict[str, str],
    ds: Dataset,
    workers: int,
    peaks: dict[str, WrkRun],
    halves: dict[str, WrkRun],
    servers: list[Server],
    args: argparse.Namespace,
) -> tuple[str, bool]:
    lines = ["Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += [
        f"- data: {ds.streams:,} streams, {ds.events:,} contract events,"
        f" {ADDRESSES} addresses, {TOKENS} tokens",
        f"- server: gunicorn -k uvicorn_worker.UvicornWorker -w {workers} (one per core),"
        " rate limits off, log level warning",
        f"- load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s on 127.0.0.1"
        " (same machine: wrk, PostgreSQL and the workers share the cores)",
        "",
    ]
    bare_rps = peaks["bare"].rps
    all_ok = True
    header = (
        "| Endpoint | Peak req/s | p50 ms | p99 ms | vs floor | vs bare | CPU cores at peak:"
        " workers / postgres / wrk / other | New PG connections at peak |"
        " Half-rate req/s (target) | p50 / p99 ms at half | Errors |"
    )
    lines += [header, "|" + "---|" * 11]
    for key, run in peaks.items():
        half = halves.get(key)
        cpu = run.cpu
        errors = run.error_count + (half.error_count if half else 0)
        floor = f"{run.rps / peaks[FLOORS[key][0]].rps:.0%}" if key in FLOORS else "-"
        paced = (
            f"{half.rps:,.1f} ({half.target_rps:,.1f}) | {half.p50_ms:.1f} / {half.p99_ms:.1f}"
            if half
            else "- | -"
        )
        lines.append(
            f"| {run.label} | {run.rps:,.0f} | {run.p50_ms:.1f} | {run.p99_ms:.1f} |"
            f" {floor} | {run.rps / bare_rps:.0%} | {cpu['workers']:.2f} / {cpu['postgres']:.2f}"
            f" / {cpu['wrk']:.2f} / {cpu['other']:.2f} | {run.pg_sessions_opened:,} |"
            f" {paced} | {errors or 0} |"
        )
    lines += ["", "Targets", ""]
    for key, (floor_key, target) in FLOORS.items():
        run = peaks[key]
        share = run.rps / peaks[floor_key].rps
        ok = share >= target and run.error_count == 0
        all_ok &= ok
        lines.append(
            f"- {run.label}: throughput {share:.0%} of its floor's {peaks[floor_key].rps:,.0f}"
            f" req/s (>= {target:.0%}): {mark(ok)}"
        )
    for key, half in halves.items():
        achieved = half.target_rps is not None and half.rps >= 0.9 * half.target_rps
        ok = half.p99_ms < TARGET_P99_MS and half.error_count == 0 and achieved
        if key != "bare":
            all_ok &= ok
        note = "" if achieved else " (rate not reached)"
        if half.requests == 0:
            note = " (no request completed)"
        lines.append(
            f"- {half.label}: p99 {half.p99_ms:.1f} ms at {half.rps:,.1f} req/s, half of its"
            f" peak, {half.requests:,} requests (< 50 ms): {mark(ok)}{note}"
        )
    for server in servers:
        worst = max(server.rss_max.values(), default=0) / 2**20
        per = ", ".join(f"{rss / 2**20:.0f}" for rss in server.rss_max.values())
        ok = worst < TARGET_RSS_MB and len(server.rss_max) > 0
        if server.name == "api":
            all_ok &= ok
        lines.append(
            f"- {server.name} worker RSS max {worst:.0f} MB (per worker: {per} MB;"
            f" {len(server.rss_max)} worker pids over {server.samples} samples; master"
            f" {server.master_rss_max / 2**20:.0f} MB) (< 200 MB): {mark(ok)}"
        )
    return "\n".join(lines), all_ok


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="existing database URL")
    parser.add_argument("--db-name", default="bench_api", help="created, then dropped")
    parser.add_argument("--streams", type=int, default=100_000, help="10 events per stream")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (peak)")
    parser.add_argument("--half-connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=15, help="seconds per peak run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--half-min", type=int, default=15, help="min seconds at half rate")
    parser.add_argument("--half-max", type=int, default=45, help="max seconds at half rate")
    parser.add_argument(
        "--quiet-wait",
        type=int,
        default=60,
        help="wait up to this many seconds for the rest of the machine to be mostly idle",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2

    def log(msg: str) -> None:
        print(msg, flush=True)

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    admin = make_url(args.admin_url)
    db_url = admin.set(database=args.db_name)
    db_url_text = db_url.render_as_string(hide_password=False)
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    db_dsn = db_url.set(drivername="postgresql").render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    servers: list[Server] = []
    sampler: RssSampler | None = None
    created = False
    started = time.monotonic()
    try:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.db_name}"')
            created = True
        log(f"database {args.db_name} created; migrating")
        env = migrated_env(db_url_text, CONTRACT, workdir)
        ds = Dataset(streams=args.streams, now=int(time.time()), addresses=[], tokens=[])
        t0 = time.monotonic()
        log(f"loading {ds.streams:,} streams and {ds.events:,} events")
        with psycopg.connect(db_dsn) as conn:
            load_data(conn, ds, log)
        # The rows were loaded directly (COPY), not through the projection that keeps the
        # /stats totals: count them once, as after any bulk load (projection.totals.rebuild).
        totals_engine = create_engine(db_url_text)
        with Session(totals_engine) as session, session.begin():
            totals.rebuild(session)
        totals_engine.dispose()
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            # Write the load's dirty pages now: otherwise the next timed checkpoint spreads
            # ~1 GB of writes over the first minutes of measurement.
            conn.execute("CHECKPOINT")
            size = conn.execute(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            ).fetchone()
        log(f"  loaded and VACUUM ANALYZEd in {time.monotonic() - t0:.0f}s (database {size[0]})")
        verify_sample(db_url_text, ds, log)
        info = machine_info(db_url_text)

        api = start_gunicorn("api", "stellarstream.api.asgi:app", args.workers, env, workdir, [])
        servers.append(api)
        bare = start_gunicorn(
            "bare", "bare_app:app", args.workers, env, workdir, ["--pythonpath", str(BENCH_DIR)]
        )
        servers.append(bare)
        floor_env = {**env, "STELLARSTREAM_FLOOR_DSN": db_dsn}
        floor = start_gunicorn(
            "floor",
            "floor_app:app",
            args.workers,
            floor_env,
            workdir,
            ["--pythonpath", str(BENCH_DIR)],
        )
        servers.append(floor)
        wait_ready(api, "/livez", args.workers)
        wait_ready(bare, "/bare", args.workers)
        wait_ready(floor, "/floor/stats", args.workers)
        sampler = RssSampler(servers)
        sampler.start()
        log(
            f"servers up: api :{api.port}, floor :{floor.port}, bare :{bare.port}"
            f" ({args.workers} workers each)"
        )

        info["busy_before_measuring"] = wait_quiet(args.quiet_wait, log)
        rng = random.Random(11)
        ids = rng.sample(range(1, ds.streams + 1), min(ROTATED_IDS, ds.streams))
        addresses = rng.sample(ds.addresses, ADDRESSES)
        targets: dict[str, tuple[str, Server, list[str]]] = {
            "bare": ("GET /bare (Starlette)", bare, ["/bare"]),
            "floor-stream": (
                "floor of /streams/{id}",
                floor,
                [f"/floor/streams/{CONTRACT}-{i}" for i in ids],
            ),
            "stream": (
                "GET /api/v1/streams/{id}",
                api,
                [f"/api/v1/streams/{CONTRACT}-{i}" for i in ids],
            ),
            "floor-address": (
                "floor of /streams?address=",
                floor,
                [f"/floor/streams?address={a}" for a in addresses],
            ),
            "address": (
                "GET /api/v1/streams?address=",
                api,
                [f"/api/v1/streams?address={a}" for a in addresses],
            ),
            "floor-stats": ("floor of /stats", floor, ["/floor/stats"]),
            "stats": ("GET /api/v1/stats", api, ["/api/v1/stats"]),
        }
        peaks: dict[str, WrkRun] = {}
        halves: dict[str, WrkRun] = {}
        common = {"threads": args.threads, "db_name": args.db_name, "db_dsn": admin_dsn}
        for key, (label, server, paths) in targets.items():
            script = write_script(workdir, key, paths, 0)
            if args.warmup:
                run_wrk(
                    label,
                    server,
                    script,
                    connections=args.connections,
                    duration=args.warmup,
                    **common,
                )
            peak = run_wrk(
                label,
                server,
                script,
                connections=args.connections,
                duration=args.duration,
                **common,
            )
            peaks[key] = peak
            log(
                f"{label}: peak {peak.rps:,.1f} req/s, p50 {peak.p50_ms:.1f} ms,"
                f" p99 {peak.p99_ms:.1f} ms, errors {peak.errors or 0},"
                f" CPU {', '.join(f'{k} {v:.2f}' for k, v in peak.cpu.items())},"
                f" new PG connections {peak.pg_sessions_opened}"
            )
            if key.startswith("floor-"):
                continue  # a floor's throughput is its measure; its latency is not a target
            rate = max(peak.rps / 2, 0.5)  # (a floor for an endpoint that failed its peak run)
            # Enough time for a few hundred samples, within the bounds; few enough connections
            # that each sends at least every 2.5 s (the server's keep-alive is 5 s).
            seconds = min(args.half_max, max(args.half_min, math.ceil(400 / rate)))
            connections = max(args.threads, min(args.half_connections, math.floor(rate * 2.5)))
            paced = write_script(workdir, f"{key}-half", paths, args.threads * 1e6 / rate)
            half = run_wrk(
                label,
                server,
                paced,
                connections=connections,
                duration=seconds,
                target_rps=rate,
                **common,
            )
            halves[key] = half
            log(
                f"{label}: at half rate {half.rps:,.1f} req/s (target {rate:,.1f}),"
                f" p50 {half.p50_ms:.1f} ms, p99 {half.p99_ms:.1f} ms, errors {half.errors or 0},"
                f" {connections} connections, other CPU {half.cpu['other']:.2f},"
                f" new PG connections {half.pg_sessions_opened}"
            )
        sampler.halt.set()
        sampler.join()
        table, all_ok = report(info, ds, args.workers, peaks, halves, servers, args)
        print("\n" + table, flush=True)
        print(f"\n(total run time {time.monotonic() - started:.0f}s)")
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "peak": {k: asdict(v) for k, v in peaks.items()},
                        "half": {k: asdict(v) for k, v in halves.items()},
                        "rss_max_bytes": {s.name: s.rss_max for s in servers},
                        "all_targets_met": all_ok,
                    },
                    indent=2,
                )
            )
        return 0 if all_ok else 1
    finally:
        if sampler is not None:
            sampler.halt.set()
        for server in servers:
            stop(server)
        if created and not args.keep_db:
            try:
                with psycopg.connect(admin_dsn, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
                print(f"database {args.db_name} dropped", flush=True)
            except psycopg.Error as exc:
                print(f"could not drop {args.db_name}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
