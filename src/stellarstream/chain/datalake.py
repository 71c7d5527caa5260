"""SEP-54 data lake (Galexie output) as a source of contract events.

A lake is a folder or an HTTP(S) prefix holding ``.config.json`` and zstd-compressed XDR
``LedgerCloseMetaBatch`` objects at ``<partition>/<batch>.xdr.zst`` (see :class:`LakeConfig`).

Concurrency: a bounded thread pool fetches and decompresses objects (network and zstd release the
GIL), at most ``concurrency`` in flight, consumed strictly in ledger order; the XDR decode (pure
Python, GIL-bound) and event extraction run on the consumer's thread, once per object. Memory holds
at most ``concurrency`` decompressed objects plus the one being decoded, whatever the range.
"""

from __future__ import annotations

import io
import json
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import zstandard
from stellar_sdk import xdr

from stellarstream.chain.addresses import require_address
from stellarstream.chain.meta import events_from_ledger_close_meta, ledger_sequence
from stellarstream.chain.source import Batch
from stellarstream.chain.types import RawEvent
from stellarstream.errors import (
    LedgerNotInLake,
    MalformedResponse,
    SourceError,
    SourceUnavailable,
    ValidationError,
)
from stellarstream.retry import Backoff, Uniform, retry_after

__all__ = [
    "DataLake",
    "DataLakeSource",
    "LakeConfig",
    "batch_file_name",
    "partition_name",
]

_MAX_SEQ = 0xFFFFFFFF
_FIRST_LEDGER = 2  # ledger 1 (genesis) has no LedgerCloseMeta
_RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def partition_name(start: int, end: int) -> str:
    """Partition folder of ledgers ``start..end``: ``"%08X--%d-%d" % (0xFFFFFFFF - start, ...)``."""
    return f"{_MAX_SEQ - start:08X}--{start}-{end}"


def batch_file_name(start: int, end: int) -> str:
    """Object name of a batch of ledgers ``start..end``.

    ``"%08X--%d.xdr.zst"`` for one ledger, else ``"%08X--%d-%d.xdr.zst"`` (hex of 0xFFFFFFFF-start).
    """
    if start == end:
        return f"{_MAX_SEQ - start:08X}--{start}.xdr.zst"
    return f"{_MAX_SEQ - start:08X}--{start}-{end}.xdr.zst"


@dataclass(frozen=True, slots=True)
class LakeConfig:
    """A lake's ``.config.json`` and its key layout (Galexie's GetObjectKeyFromSequenceNumber)."""

    network_passphrase: str
    ledgers_per_batch: int
    batches_per_partition: int
    compression: str = "zstd"

    @classmethod
    def from_json(cls, data: Any, *, where: str) -> LakeConfig:
        """Parse ``.config.json`` content; every problem raises :class:`SourceError` naming it."""
        if not isinstance(data, Mapping):
            raise SourceError(f"{where}: .config.json is not a JSON object")

        def field(name: str, kind: type) -> Any:
            if name not in data:
                raise SourceError(f"{where}: .config.json lacks {name!r}: not a SEP-54 data lake?")
            value = data[name]
            if not isinstance(value, kind) or isinstance(value, bool):
                wanted = "an integer" if kind is int else "a string"
                raise SourceError(f"{where}: .config.json {name!r} must be {wanted}")
            return value

        config = cls(
            network_passphrase=field("networkPassphrase", str),
            ledgers_per_batch=field("ledgersPerBatch", int),
            batches_per_partition=field("batchesPerPartition", int),
            compression=field("compression", str),
        )
        if config.ledgers_per_batch < 1 or config.batches_per_partition < 1:
            raise SourceError(f"{where}: ledgersPerBatch and batchesPerPartition must be >= 1")
        if config.compression != "zstd":
            raise SourceError(f"{where}: compression {config.compression!r} unsupported (zstd)")
        return config

    def batch_bounds(self, seq: int) -> tuple[int, int]:
        """First and last ledger of the batch object holding ``seq``."""
        start = seq - seq % self.ledgers_per_batch
        return start, min(start + self.ledgers_per_batch - 1, _MAX_SEQ)

    def partition_bounds(self, seq: int) -> tuple[int, int]:
        """First and last ledger of the partition holding ``seq``."""
        size = self.ledgers_per_batch * self.batches_per_partition
        start = seq - seq % size
        return start, min(start + size - 1, _MAX_SEQ)

    def object_key(self, seq: int) -> str:
        """Key of the object holding ledger ``seq`` (no partition folder if 1 batch/partition)."""
        if not 0 <= seq <= _MAX_SEQ:
            raise ValidationError(f"ledger {seq} is not a uint32", field="ledger")
        name = batch_file_name(*self.batch_bounds(seq))
        if self.batches_per_partition > 1:
            return f"{partition_name(*self.partition_bounds(seq))}/{name}"
        return name


class _NotFound(Exception):
    """Internal: the object does not exist."""


def _decompress(stream: IO[bytes]) -> bytes:
    """Streaming zstd decompression: works for frames without a content size, and many frames."""
    reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    with reader:
        out = io.BytesIO()
        while chunk := reader.read(1 << 20):
            out.write(chunk)
        return out.getvalue()


class DataLake:
    """Read access to a SEP-54 lake at an ``http(s)://`` base URL or a local folder.

    ``.config.json`` is read on first use. HTTP errors that may pass (transport errors, 408, 429,
    5xx) are retried ``retries`` times with exponential backoff (equal jitter: half to all of
    ``backoff_seconds * 2**(n-1)``) or the server's ``Retry-After``, both capped at
    ``backoff_max_seconds``, then :class:`SourceUnavailable`. ``sleep`` and ``rng`` are
    injectable for tests.
    ``http`` is used as given (and left open); without it the lake owns a client (:meth:`close`).
    """

    def __init__(
        self,
        location: str,
        *,
        http: httpx.Client | None = None,
        concurrency: int = 8,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        timeout_seconds: float = 30.0,
        network_passphrase: str | None = None,
        sleep: Callable[[float], object] = time.sleep,
        rng: Uniform | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValidationError("concurrency must be >= 1", field="concurrency")
        if location.startswith("file://"):
            location = location.removeprefix("file://")
        elif "://" in location and not location.startswith(("http://", "https://")):
            raise ValidationError(
                f"data lake location {location!r} must be an http(s):// URL or a local folder "
                "(for S3/GCS use the bucket's public HTTPS URL)",
                field="location",
            )
        self.location = location
        self.is_http = location.startswith(("http://", "https://"))
        self.concurrency = concurrency
        self.retries = retries
        self.backoff = Backoff(
            base=backoff_seconds, cap=backoff_max_seconds, jitter="equal", retries=retries
        )
        self._sleep = sleep
        self._rng = rng
        self.expected_passphrase = network_passphrase
        self._owns_http = http is None and self.is_http
        self._http = http
        if self._owns_http:
            self._http = httpx.Client(timeout=timeout_seconds, follow_redirects=True)
        self._config: LakeConfig | None = None

    def close(self) -> None:
        """Close the HTTP client if this lake created it."""
        if self._owns_http and self._http is not None:
            self._http.close()

    def __enter__(self) -> DataLake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def config(self) -> LakeConfig:
        """The lake's ``.config.json`` (fetched once)."""
        if self._config is None:
            try:
                raw = self._read(".config.json")
            except _NotFound:
                raise SourceError(
                    f"{self.location} has no .config.json: not a SEP-54 data lake"
                ) from None
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise SourceError(f"{self.location}: .config.json is not JSON: {exc}") from exc
            config = LakeConfig.from_json(data, where=self.location)
            expected = self.expected_passphrase
            if expected is not None and config.network_passphrase != expected:
                raise SourceError(
                    f"{self.location} is a lake of network {config.network_passphrase!r}, "
                    f"not {expected!r}"
                )
            self._config = config
        return self._config

    def _url(self, key: str) -> str:
        return f"{self.location.rstrip('/')}/{key}"

    def _read(self, key: str, *, decompress: bool = False) -> bytes:
        """The object's bytes (decompressed if asked); :class:`_NotFound` if it does not exist."""
        if not self.is_http:
            try:
                with (Path(self.location) / key).open("rb") as file:
                    return _decompress(file) if decompress else file.read()
            except FileNotFoundError:
                raise _NotFound(key) from None
            except OSError as exc:
                raise SourceUnavailable(f"cannot read {key} in {self.location}: {exc}") from exc
        content = self._get(key)
        return _decompress(io.BytesIO(content)) if decompress else content

    def _get(self, key: str) -> bytes:
        assert self._http is not None
        url = self._url(key)
        problem = ""
        wait: float | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff.wait(attempt, wait, self._rng))
                wait = None
            try:
                response = self._http.get(url)
            except httpx.TransportError as exc:  # connect/read errors and timeouts: retry
                problem = f"{type(exc).__name__}: {exc}"
                continue
            except httpx.HTTPError as exc:  # e.g. too many redirects: retrying will not help
                raise SourceError(f"data lake GET {url} failed: {exc}") from exc
            if response.status_code == 200:
                return response.content
            if response.status_code in (404, 410):
                raise _NotFound(key)
            problem = f"HTTP {response.status_code}"
            if response.status_code not in _RETRY_STATUS:
                raise SourceError(f"data lake GET {url} answered {problem}")
            wait = retry_after(response.headers.get("Retry-After"))
        raise SourceUnavailable(
            f"data lake GET {url} failed after {self.retries + 1} attempts ({problem})"
        )

    def object_bytes(self, seq: int) -> bytes:
        """Decompressed XDR of the object holding ledger ``seq`` (:class:`LedgerNotInLake`)."""
        key = self.config.object_key(seq)
        try:
            return self._read(key, decompress=True)
        except _NotFound:
            raise LedgerNotInLake(
                f"ledger {seq} is not in the data lake {self.location} (no object {key})",
                ledger=seq,
                key=key,
            ) from None
        except zstandard.ZstdError as exc:
            raise MalformedResponse(f"{key} in {self.location} is not valid zstd: {exc}") from exc

    def decode(self, data: bytes, seq: int) -> xdr.LedgerCloseMetaBatch:
        """Parse the object holding ledger ``seq`` and check its ledgers.

        They must be consecutive, inside the object's bounds, and agree with its
        ``start/end_sequence``; a lake's first object may start after its bounds (Galexie writes
        what it has: ledger 2 onwards in ``0-63``).
        """
        key = self.config.object_key(seq)
        try:
            batch = xdr.LedgerCloseMetaBatch.from_xdr_bytes(data)
        except Exception as exc:  # the XDR library raises ValueError, struct.error, ...
            raise MalformedResponse(f"{key}: not a LedgerCloseMetaBatch: {exc}") from exc
        low, high = self.config.batch_bounds(seq)
        first, last = batch.start_sequence.uint32, batch.end_sequence.uint32
        seqs = [ledger_sequence(lcm) for lcm in batch.ledger_close_metas]
        if not low <= first <= last <= high or seqs != list(range(first, last + 1)):
            raise MalformedResponse(
                f"{key} (ledgers {low}-{high}) says it holds {first}-{last} and holds "
                f"{len(seqs)} ledgers {seqs[:1]}..{seqs[-1:]}"
            )
        return batch

    def check_holds(
        self, batch: xdr.LedgerCloseMetaBatch, start_ledger: int, end_ledger: int
    ) -> None:
        """Raise :class:`LedgerNotInLake` if ``batch``'s object should hold a requested ledger
        (from 2, the first ledger with meta) but does not (a lake that starts or ends inside it)."""
        first, last = batch.start_sequence.uint32, batch.end_sequence.uint32
        low, high = self.config.batch_bounds(first)
        wanted_low = max(start_ledger, low, _FIRST_LEDGER)
        wanted_high = min(end_ledger, high)
        for missing in (wanted_low, last + 1):
            if wanted_low <= missing <= wanted_high and not first <= missing <= last:
                key = self.config.object_key(missing)
                raise LedgerNotInLake(
                    f"ledger {missing} is not in the data lake {self.location} "
                    f"({key} holds {first}-{last})",
                    ledger=missing,
                    key=key,
                )

    def batch(self, seq: int) -> xdr.LedgerCloseMetaBatch:
        """The decoded batch holding ledger ``seq``."""
        return self.decode(self.object_bytes(seq), seq)

    def raw_batches(
        self, start_ledger: int, end_ledger: int
    ) -> Generator[tuple[int, bytes], None, None]:
        """``(batch start, decompressed XDR)`` of each object covering the range, in order.

        Fetched by a pool of ``concurrency`` threads, at most that many in flight; stops fetching
        as soon as the consumer stops. An error surfaces when its object's turn comes.
        """
        start_ledger = max(start_ledger, _FIRST_LEDGER)
        if start_ledger > end_ledger:
            return
        size = self.config.ledgers_per_batch
        first, _ = self.config.batch_bounds(start_ledger)
        starts = iter(range(first, end_ledger + 1, size))
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="datalake")
        pending: deque[tuple[int, Future[bytes]]] = deque()
        try:
            for start in starts:
                pending.append((start, pool.submit(self.object_bytes, start)))
                if len(pending) >= self.concurrency:
                    break
            while pending:
                start, future = pending.popleft()
                data = future.result()
                following = next(starts, None)
                if following is not None:
                    pending.append((following, pool.submit(self.object_bytes, following)))
                yield start, data
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def ledger_close_metas(
        self, start_ledger: int, end_ledger: int
    ) -> Iterator[xdr.LedgerCloseMeta]:
        """Every ``LedgerCloseMeta`` with ``start_ledger <= seq <= end_ledger``, in order."""
        with closing(self.raw_batches(start_ledger, end_ledger)) as raw:
            for start, data in raw:
                batch = self.decode(data, start)
                self.check_holds(batch, start_ledger, end_ledger)
                for lcm in batch.ledger_close_metas:
                    if start_ledger <= ledger_sequence(lcm) <= end_ledger:
                        yield lcm


class DataLakeSource:
    """:class:`~stellarstream.chain.source.EventSource` over a :class:`DataLake`.

    One :class:`Batch` per lake object, in ledger order; ``covered_to`` is the object's last ledger
    (clipped to ``end_ledger``), ``cursor`` is always None (resume with ``start_ledger``) and
    ``latest_ledger`` the last ledger of the object (the newest the lake is known to hold).
    ``end_ledger`` is required: a lake has no "latest" without listing it. An empty
    ``contract_ids`` means every contract. Events of failed transactions are skipped.
    """

    name = "datalake"

    def __init__(self, lake: DataLake) -> None:
        self.lake = lake

    def batches(
        self,
        contract_ids: list[str],
        start_ledger: int,
        end_ledger: int | None = None,
        cursor: str | None = None,
    ) -> Iterator[Batch]:
        """Yield the events of ``contract_ids`` in ``start_ledger..end_ledger`` (inclusive)."""
        if end_ledger is None:
            raise ValidationError(
                "a data lake needs an explicit end_ledger (it has no latest ledger without "
                "listing the bucket)",
                field="end_ledger",
            )
        if cursor is not None:
            raise ValidationError("a data lake source takes no cursor", field="cursor")
        if start_ledger < 0:
            raise ValidationError("start_ledger must be >= 0", field="start_ledger")
        wanted = (
            frozenset(require_address(c, "contract_ids", kinds="C") for c in contract_ids)
            if contract_ids
            else None
        )
        return self._batches(wanted, start_ledger, end_ledger)

    def _batches(
        self, wanted: frozenset[str] | None, start_ledger: int, end_ledger: int
    ) -> Iterator[Batch]:
        with closing(self.lake.raw_batches(start_ledger, end_ledger)) as raw:
            for start, data in raw:
                decoded = self.lake.decode(data, start)
                self.lake.check_holds(decoded, start_ledger, end_ledger)
                events: list[RawEvent] = []
                for lcm in decoded.ledger_close_metas:
                    if start_ledger <= ledger_sequence(lcm) <= end_ledger:
                        events.extend(events_from_ledger_close_meta(lcm, wanted))
                last = decoded.end_sequence.uint32
                yield Batch(
                    events=events,
                    covered_to=min(last, end_ledger),  # check_holds: none requested is missing
                    cursor=None,
                    latest_ledger=last,
                    source=self.name,
                )
