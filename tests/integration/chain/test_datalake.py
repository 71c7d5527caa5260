"""The SEP-54 data lake source against real lakes: folders written from the recorded ledgers, and
the same folders served over HTTP by a real server (with injected failures and delays)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from tests.support import contract_events as ce
from tests.support.datalake import (
    FIXTURE_PASSPHRASE,
    EventSpec,
    frame_has_content_size,
    lcm_files,
    recorded_lcms,
    sequence_of,
    synthetic_ledger,
    write_lake,
)
from tests.support.server import serve

from stellarstream.chain.datalake import (
    DataLake,
    DataLakeSource,
    LakeConfig,
    batch_file_name,
    partition_name,
)
from stellarstream.chain.meta import events_from_ledger_close_meta
from stellarstream.chain.source import Batch, EventSource
from stellarstream.chain.types import RawEvent
from stellarstream.errors import (
    LedgerNotInLake,
    MalformedResponse,
    RangeUnavailable,
    SourceError,
    SourceUnavailable,
    ValidationError,
)

BIG = "21c43b92b819267f"  # 44 ledgers (2-45), 21 events, two contracts
LAYOUTS = [(1, 64000), (4, 3), (5, 1)]  # (ledgersPerBatch, batchesPerPartition)


def _direct(stem: str, contract_ids: frozenset[str] | None = None) -> list[RawEvent]:
    return [
        e for lcm in recorded_lcms(stem) for e in events_from_ledger_close_meta(lcm, contract_ids)
    ]


def _events(batches: Iterator[Batch]) -> list[RawEvent]:
    return [e for b in batches for e in b.events]


def _lake(
    tmp_path: Path, stem: str = BIG, lpb: int = 1, bpp: int = 64000
) -> tuple[Path, list[str]]:
    root = tmp_path / f"{stem}-{lpb}-{bpp}"
    return root, write_lake(
        root, recorded_lcms(stem), ledgers_per_batch=lpb, batches_per_partition=bpp
    )


# --- key layout ---


def test_key_one_ledger_per_batch() -> None:
    config = LakeConfig(FIXTURE_PASSPHRASE, 1, 64000)
    assert config.object_key(5) == "FFFFFFFF--0-63999/FFFFFFFA--5.xdr.zst"
    assert config.object_key(63999) == "FFFFFFFF--0-63999/FFFF0600--63999.xdr.zst"
    assert config.object_key(64000) == "FFFF05FF--64000-127999/FFFF05FF--64000.xdr.zst"
    # pubnet-sized: 0xFFFFFFFF - 50,000,000 = 0xFD050F7F; partition 49,984,000 = 781 * 64,000
    assert config.object_key(50_000_000) == (
        "FD054DFF--49984000-50047999/FD050F7F--50000000.xdr.zst"
    )
    assert partition_name(0, 63999) == "FFFFFFFF--0-63999"
    assert batch_file_name(5, 5) == "FFFFFFFA--5.xdr.zst"


def test_key_several_ledgers_per_batch() -> None:
    config = LakeConfig(FIXTURE_PASSPHRASE, 64, 10)
    # partition 640-1279 (0xFFFFFFFF - 640 = 0xFFFFFD7F), batch 960-1023 (- 960 = 0xFFFFFC3F)
    assert config.batch_bounds(1000) == (960, 1023)
    assert config.partition_bounds(1000) == (640, 1279)
    assert config.object_key(1000) == "FFFFFD7F--640-1279/FFFFFC3F--960-1023.xdr.zst"
    assert config.object_key(960) == config.object_key(1023) != config.object_key(1024)
    assert batch_file_name(960, 1023) == "FFFFFC3F--960-1023.xdr.zst"
    assert config.batch_bounds(0xFFFFFFFF) == (0xFFFFFFC0, 0xFFFFFFFF)


def test_no_partition_folder_with_one_batch_per_partition() -> None:
    assert LakeConfig(FIXTURE_PASSPHRASE, 1, 1).object_key(5) == "FFFFFFFA--5.xdr.zst"
    assert LakeConfig(FIXTURE_PASSPHRASE, 8, 1).object_key(5) == "FFFFFFFF--0-7.xdr.zst"


def test_written_lake_uses_the_layout(tmp_path: Path) -> None:
    root, keys = _lake(tmp_path, BIG, 4, 3)
    assert keys[:4] == [
        "FFFFFFFF--0-11/FFFFFFFF--0-3.xdr.zst",
        "FFFFFFFF--0-11/FFFFFFFB--4-7.xdr.zst",
        "FFFFFFFF--0-11/FFFFFFF7--8-11.xdr.zst",
        "FFFFFFF3--12-23/FFFFFFF3--12-15.xdr.zst",
    ]
    assert all((root / key).is_file() for key in keys)


# --- reading local lakes ---


def test_source_implements_the_protocol(tmp_path: Path) -> None:
    source: EventSource = DataLakeSource(DataLake(str(_lake(tmp_path)[0])))
    assert source.name == "datalake"


@pytest.mark.parametrize(("lpb", "bpp"), LAYOUTS[:2])
def test_every_recorded_file_reads_back_identically(tmp_path: Path, lpb: int, bpp: int) -> None:
    total = 0
    for path in lcm_files():
        lcms = recorded_lcms(path.stem)
        root, keys = _lake(tmp_path, path.stem, lpb, bpp)
        first, last = sequence_of(lcms[0]), sequence_of(lcms[-1])
        batches = list(DataLakeSource(DataLake(str(root))).batches([], first, last))
        assert _events(iter(batches)) == _direct(path.stem)
        assert len(batches) == len(keys)  # one batch per object
        covered = [b.covered_to for b in batches]
        assert covered == sorted(set(covered)) and covered[-1] == last
        assert all(b.cursor is None and b.source == "datalake" for b in batches)
        total += sum(len(b.events) for b in batches)
    assert total == 77


@pytest.mark.parametrize(("lpb", "bpp"), LAYOUTS)
def test_sub_ranges_and_contract_filter(tmp_path: Path, lpb: int, bpp: int) -> None:
    root, _ = _lake(tmp_path, BIG, lpb, bpp)
    source = DataLakeSource(DataLake(str(root), concurrency=3))
    everything = _direct(BIG)
    for start, end in [(2, 45), (13, 27), (14, 14), (10, 12), (41, 45)]:
        batches = list(source.batches([], start, end))
        assert _events(iter(batches)) == [e for e in everything if start <= e.ledger <= end]
        assert batches[-1].covered_to == end
        assert all(b.covered_to <= end for b in batches)
    sac = "CA6V62EKFQO5BGNG5V5UI7VDBSZSWCD2DLAXP2PDHQA3LOISQZ4S6VRR"
    mine = _events(source.batches([sac], 2, 45))
    assert len(mine) == 15
    assert mine == [e for e in everything if e.contract_id == sac]
    assert list(source.batches([], 30, 29)) == []


def test_ledger_close_metas_and_batches(tmp_path: Path) -> None:
    root, _ = _lake(tmp_path, BIG, 4, 3)
    lake = DataLake(str(root))
    assert [sequence_of(lcm) for lcm in lake.ledger_close_metas(9, 17)] == list(range(9, 18))
    batch = lake.batch(13)
    assert (batch.start_sequence.uint32, batch.end_sequence.uint32) == (12, 15)
    assert lake.config.network_passphrase == FIXTURE_PASSPHRASE


def test_streams_with_stellarstream_events(tmp_path: Path) -> None:
    """A lake of recorded ledgers plus synthetic ledgers holding StellarStream events: filtering by
    the StellarStream contract gives exactly those, keyed as decoding the ledgers gives them."""
    create = ce.create_v2(1, ce.account(1), ce.account(2), ce.TOKEN, 500, 0, 0, 100, 10)
    claim = ce.claim(1, ce.account(2), 5, 5, 20)
    lcms = recorded_lcms(BIG)
    extra = [
        synthetic_ledger({2: [[EventSpec(ce.V2_CONTRACT, create)]]}, sequence=46),
        synthetic_ledger({3: [[EventSpec(ce.V2_CONTRACT, claim)]]}, meta_version=3, sequence=47),
    ]
    root = tmp_path / "lake"
    write_lake(root, [*lcms, *extra], ledgers_per_batch=4, batches_per_partition=3)
    got = _events(DataLakeSource(DataLake(str(root))).batches([ce.V2_CONTRACT], 2, 47))
    assert [(e.ledger, e.tx_index, e.event_index) for e in got] == [(46, 2, 0), (47, 3, 0)]
    mine = frozenset({ce.V2_CONTRACT})
    assert got == [e for lcm in extra for e in events_from_ledger_close_meta(lcm, mine)]
    assert (got[0].value_xdr, got[1].value_xdr) == (create[1], claim[1])


def test_objects_with_and_without_zstd_content_size(tmp_path: Path) -> None:
    root, keys = _lake(tmp_path, BIG, 1, 64000)
    sizes = [frame_has_content_size(root / key) for key in keys]
    assert True in sizes and False in sizes
    no_size = root / keys[sizes.index(False)]
    with pytest.raises(zstandard.ZstdError):  # the one-shot API needs the size: we must stream
        zstandard.ZstdDecompressor().decompress(no_size.read_bytes())
    for content_size in ("always", "never"):
        other = tmp_path / content_size
        write_lake(other, recorded_lcms(BIG), content_size=content_size)  # type: ignore[arg-type]
        assert _events(DataLakeSource(DataLake(str(other))).batches([], 2, 45)) == _direct(BIG)


# --- missing and broken data ---


def test_missing_object_names_the_ledger(tmp_path: Path) -> None:
    root, keys = _lake(tmp_path, BIG, 1, 64000)
    source = DataLakeSource(DataLake(str(root)))
    with pytest.raises(RangeUnavailable, match="ledger 46 ") as info:
        list(source.batches([], 40, 50))
    assert isinstance(info.value, LedgerNotInLake) and info.value.ledger == 46
    (root / keys[20 - 2]).unlink()  # ledger 20
    seen: list[int] = []
    with pytest.raises(LedgerNotInLake, match="ledger 20 ") as info:
        for batch in source.batches([], 2, 45):
            seen.append(batch.covered_to)
    assert seen == list(range(2, 20))  # everything before the hole was delivered, in order
    assert info.value.key == keys[18]


def test_lake_ending_inside_an_object(tmp_path: Path) -> None:
    root, _ = _lake(tmp_path, BIG, 4, 3)  # the last object, 44-47, holds 44-45
    source = DataLakeSource(DataLake(str(root)))
    assert _events(source.batches([], 40, 45)) == [e for e in _direct(BIG) if e.ledger >= 40]
    with pytest.raises(LedgerNotInLake, match="ledger 46 ") as info:
        list(source.batches([], 40, 46))
    assert info.value.ledger == 46
    # Ledger 1 has no meta: the first object (0-3, holding 2-3) still covers a request from 1.
    assert list(source.batches([], 1, 3))[-1].covered_to == 3


def test_lake_starting_inside_an_object(tmp_path: Path) -> None:
    root = tmp_path / "late"
    write_lake(root, recorded_lcms(BIG)[5:], ledgers_per_batch=4, batches_per_partition=3)
    source = DataLakeSource(DataLake(str(root)))  # holds 7-45: object 4-7 holds only 7
    assert _events(source.batches([], 7, 45)) == [e for e in _direct(BIG) if e.ledger >= 7]
    with pytest.raises(LedgerNotInLake, match="ledger 5 "):
        list(source.batches([], 5, 45))


def test_corrupt_objects_are_malformed(tmp_path: Path) -> None:
    root, keys = _lake(tmp_path, BIG, 1, 64000)
    lake = DataLake(str(root))
    (root / keys[0]).write_bytes(b"not zstd at all")
    with pytest.raises(MalformedResponse, match="zstd"):
        lake.batch(2)
    # A valid object in the wrong place (ledger 4's data under ledger 3's key).
    (root / keys[1]).write_bytes((root / keys[2]).read_bytes())
    with pytest.raises(MalformedResponse, match="4-4"):
        lake.batch(3)
    (root / keys[3]).write_bytes(zstandard.ZstdCompressor().compress(b"\x00\x00\x00"))
    with pytest.raises(MalformedResponse, match="LedgerCloseMetaBatch"):
        lake.batch(5)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "no .config.json"),
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"networkPassphrase": "p", "ledgersPerBatch": 1, "compression": "zstd"}', "batchesPer"),
        (
            '{"networkPassphrase": "p", "batchesPerPartition": 1, "compression": "zstd"}',
            "ledgersPer",
        ),
        ('{"ledgersPerBatch": 1, "batchesPerPartition": 1, "compression": "zstd"}', "networkPass"),
        (
            '{"networkPassphrase": "p", "ledgersPerBatch": 1, "batchesPerPartition": 1}',
            "compressio",
        ),
        (
            '{"networkPassphrase": "p", "ledgersPerBatch": "1", "batchesPerPartition": 1, '
            '"compression": "zstd"}',
            "must be an integer",
        ),
        (
            '{"networkPassphrase": "p", "ledgersPerBatch": 0, "batchesPerPartition": 1, '
            '"compression": "zstd"}',
            ">= 1",
        ),
        (
            '{"networkPassphrase": "p", "ledgersPerBatch": 1, "batchesPerPartition": 1, '
            '"compression": "gzip"}',
            "unsupported",
        ),
    ],
)
def test_bad_config(tmp_path: Path, config: str | None, message: str) -> None:
    if config is not None:
        (tmp_path / ".config.json").write_text(config)
    with pytest.raises(SourceError, match=message):
        list(DataLakeSource(DataLake(str(tmp_path))).batches([], 2, 3))


def test_wrong_network(tmp_path: Path) -> None:
    root, _ = _lake(tmp_path)
    lake = DataLake(str(root), network_passphrase="Test SDF Network ; September 2015")
    with pytest.raises(SourceError, match="not 'Test SDF Network"):
        list(DataLakeSource(lake).batches([], 2, 3))
    assert DataLake(str(root), network_passphrase=FIXTURE_PASSPHRASE).config


def test_arguments_are_validated(tmp_path: Path) -> None:
    source = DataLakeSource(DataLake(str(_lake(tmp_path)[0])))
    with pytest.raises(ValidationError, match="end_ledger") as info:
        source.batches([], 2)
    assert info.value.field == "end_ledger"
    with pytest.raises(ValidationError, match="cursor"):
        source.batches([], 2, 3, cursor="123-1")
    with pytest.raises(ValidationError) as bad:
        source.batches(["GAAAA"], 2, 3)
    assert bad.value.field == "contract_ids"
    with pytest.raises(ValidationError):
        DataLake("x", concurrency=0)
    with pytest.raises(ValidationError, match=r"http\(s\)://") as location:
        DataLake("s3://bucket/ledgers")
    assert location.value.field == "location"


def test_file_url_and_genesis(tmp_path: Path) -> None:
    root, _ = _lake(tmp_path)
    source = DataLakeSource(DataLake(f"file://{root}"))
    # Ledger 1 (genesis) has no meta and no object: a range from 0 or 1 starts at 2.
    assert [b.covered_to for b in source.batches([], 0, 3)] == [2, 3]
    assert list(source.batches([], 0, 1)) == []


# --- over HTTP ---


@dataclass
class Traffic:
    """What the test server saw, and the faults it injects."""

    fail_first: int = 0  # answer 503 to the first N GETs of every object
    status: int = 503
    retry_after: str | None = None  # the failures' Retry-After header
    delay: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Faults:
    """ASGI middleware: counts requests and concurrency, delays, fails the first tries."""

    def __init__(self, app: ASGIApp, traffic: Traffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t = self.traffic
        path = scope["path"]
        with t.lock:
            t.requests[path] += 1
            attempt = t.requests[path]
            t.in_flight += 1
            t.max_in_flight = max(t.max_in_flight, t.in_flight)
        try:
            if t.delay and path.endswith(".zst"):
                await asyncio.sleep(t.delay)
            if attempt <= t.fail_first and path.endswith(".zst"):
                headers = (
                    [] if t.retry_after is None else [(b"retry-after", t.retry_after.encode())]
                )
                await send({"type": "http.response.start", "status": t.status, "headers": headers})
                await send({"type": "http.response.body", "body": b"try later"})
                return
            await self.app(scope, receive, send)
        finally:
            with t.lock:
                t.in_flight -= 1


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Traffic, Path, list[str]]]:
    root, keys = _lake(tmp_path, BIG, 1, 64000)
    traffic = Traffic()
    app = Starlette(
        routes=[Mount("/lake", app=StaticFiles(directory=root))],
        middleware=[Middleware(Faults, traffic=traffic)],
    )
    with serve(app) as url:
        yield f"{url}/lake", traffic, root, keys


def _http_lake(url: str, **kwargs: Any) -> DataLake:
    return DataLake(url, retries=kwargs.pop("retries", 3), backoff_seconds=0.01, **kwargs)


def test_http_lake_reads_like_the_folder(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, traffic, _, keys = served
    with _http_lake(url) as lake:
        batches = list(DataLakeSource(lake).batches([], 2, 45))
    assert _events(iter(batches)) == _direct(BIG)
    assert [b.covered_to for b in batches] == list(range(2, 46))
    assert traffic.requests["/lake/.config.json"] == 1
    assert all(traffic.requests[f"/lake/{key}"] == 1 for key in keys)


def test_http_lake_with_several_ledgers_per_object(tmp_path: Path) -> None:
    root, _ = _lake(tmp_path, BIG, 4, 3)
    app = Starlette(routes=[Mount("/", app=StaticFiles(directory=root))])
    with serve(app) as url, httpx.Client(timeout=10) as http:
        lake = DataLake(url + "/", http=http)
        assert _events(DataLakeSource(lake).batches([], 13, 27)) == [
            e for e in _direct(BIG) if 13 <= e.ledger <= 27
        ]
        lake.close()  # a client passed in stays open
        assert not http.is_closed


def test_http_5xx_is_retried(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, traffic, _, keys = served
    traffic.fail_first = 2
    with _http_lake(url, retries=2) as lake:
        assert _events(DataLakeSource(lake).batches([], 10, 20)) == [
            e for e in _direct(BIG) if 10 <= e.ledger <= 20
        ]
    assert [traffic.requests[f"/lake/{keys[seq - 2]}"] for seq in range(10, 21)] == [3] * 11


def test_http_retry_after_http_date_is_honoured(
    served: tuple[str, Traffic, Path, list[str]],
) -> None:
    url, traffic, _, keys = served
    later = datetime.now(UTC) + timedelta(seconds=4)
    traffic.fail_first, traffic.status = 1, 429
    traffic.retry_after = format_datetime(later, usegmt=True)
    sleeps: list[float] = []
    with _http_lake(url, retries=1, sleep=sleeps.append) as lake:
        assert _events(DataLakeSource(lake).batches([], 10, 10)) == [
            e for e in _direct(BIG) if e.ledger == 10
        ]
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 4.0
    assert traffic.requests[f"/lake/{keys[8]}"] == 2


def test_http_5xx_gives_up(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, traffic, _, keys = served
    traffic.fail_first = 100
    with _http_lake(url, retries=2) as lake, pytest.raises(SourceUnavailable, match="HTTP 503"):
        list(DataLakeSource(lake).batches([], 10, 10))
    assert traffic.requests[f"/lake/{keys[8]}"] == 3


def test_http_other_4xx_is_not_retried(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, traffic, _, keys = served
    traffic.fail_first, traffic.status = 100, 403
    with _http_lake(url) as lake, pytest.raises(SourceError, match="HTTP 403") as info:
        list(DataLakeSource(lake).batches([], 10, 10))
    assert not isinstance(info.value, SourceUnavailable)
    assert traffic.requests[f"/lake/{keys[8]}"] == 1


def test_http_404_is_range_unavailable(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, _, root, keys = served
    (root / keys[30 - 2]).unlink()
    with _http_lake(url) as lake, pytest.raises(LedgerNotInLake, match="ledger 30 ") as info:
        list(DataLakeSource(lake).batches([], 25, 35))
    assert info.value.ledger == 30 and info.value.key == keys[28]


def test_unreachable_lake(tmp_path: Path) -> None:
    root = _lake(tmp_path)[0]
    app = Starlette(routes=[Mount("/", app=StaticFiles(directory=root))])
    with serve(app) as url:
        pass  # the port is closed now
    with _http_lake(url, retries=1) as lake, pytest.raises(SourceUnavailable, match="2 attempts"):
        lake.config  # noqa: B018


class CountingTransport(httpx.BaseTransport):
    """Counts requests in flight on the client side (until their body is read)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = self.inner.handle_request(request)
            response.read()
            return response
        finally:
            with self.lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


def test_fetches_are_concurrent_bounded_and_in_order(
    served: tuple[str, Traffic, Path, list[str]],
) -> None:
    url, traffic, _, _ = served
    traffic.delay = 0.03
    transport = CountingTransport()
    with httpx.Client(transport=transport, timeout=10) as http:
        lake = DataLake(url, http=http, concurrency=4)
        batches = list(DataLakeSource(lake).batches([], 2, 45))
    assert [b.covered_to for b in batches] == list(range(2, 46))
    assert _events(iter(batches)) == _direct(BIG)
    assert transport.max_in_flight == 4  # concurrent, and never more than `concurrency`


def test_stopping_early_stops_fetching(served: tuple[str, Traffic, Path, list[str]]) -> None:
    url, traffic, _, _ = served
    traffic.delay = 0.02
    with _http_lake(url, concurrency=3) as lake:
        batches = DataLakeSource(lake).batches([], 2, 45)
        assert next(batches).covered_to == 2
        batches.close()  # type: ignore[attr-defined]
    fetched = sum(n for path, n in traffic.requests.items() if path.endswith(".zst"))
    assert fetched <= 1 + 3  # the consumed object and at most `concurrency` ahead
