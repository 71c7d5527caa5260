"""Recorded LedgerCloseMeta fixtures, a local SEP-54 lake writer, and synthetic ledgers.

- :func:`read_lcm_stream` reads stellar-core's recorded LCM streams in ``tests/fixtures/stellar``.
- :func:`write_lake` writes LCMs as a Galexie-shaped lake (``.config.json`` + zstd objects).
- :func:`synthetic_ledger` takes a *recorded* ledger (real transactions, real hashes: each
  ``result.transaction_hash`` is the hash of an envelope in the ledger's tx set) and replaces the
  contract events of chosen transactions with StellarStream events, as TransactionMeta v4 (LCM v2)
  or converted to v3 (LCM v1). Building a whole valid LedgerCloseMeta by hand is fiddly; editing
  only the event lists of a real one keeps everything else (hashes, apply order) genuine.
"""

from __future__ import annotations

import functools
import json
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import zstandard
from stellar_sdk import FeeBumpTransactionEnvelope, StrKey, TransactionEnvelope
from stellar_sdk import xdr as x

from stellarstream.chain.datalake import LakeConfig

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "stellar"
LCM_DIR = FIXTURES_DIR / "lcm" / "InvokeHostFunctionTests"
SUMMARY_PATH = FIXTURES_DIR / "lcm" / "expected_summary.json"
#: The network passphrase of stellar-core's unit tests (the recorded streams' network).
FIXTURE_PASSPHRASE = "(V) (;,,;) (V)"

#: The recorded ledger :func:`synthetic_ledger` edits: ledger 34 of ``parallel_txs-basic_test``,
#: 11 transactions: #1 a fee bump, #4 failed (no operations in its meta), the rest one operation.
BASE_FILE = "6fe7ad5169387958"
BASE_LEDGER = 34


def lcm_files() -> list[Path]:
    """The 18 recorded ``.xdr`` streams, sorted by name."""
    return sorted(LCM_DIR.glob("*.xdr"))


def read_lcm_stream(path: Path | str) -> list[x.LedgerCloseMeta]:
    """Decode a stream of XDR records: 4-byte big-endian mark (high bit set) + one LCM each."""
    data = Path(path).read_bytes()
    out: list[x.LedgerCloseMeta] = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise ValueError(f"{path}: truncated record mark at byte {pos}")
        (mark,) = struct.unpack_from(">I", data, pos)
        if not mark & 0x80000000:
            raise ValueError(f"{path}: record mark at byte {pos} lacks the last-fragment bit")
        size = mark & 0x7FFFFFFF
        pos += 4
        if pos + size > len(data):
            raise ValueError(f"{path}: record at byte {pos - 4} runs past the end")
        out.append(x.LedgerCloseMeta.from_xdr_bytes(data[pos : pos + size]))
        pos += size
    return out


@functools.cache
def _stream_bytes(stem: str) -> tuple[bytes, ...]:
    return tuple(lcm.to_xdr_bytes() for lcm in read_lcm_stream(LCM_DIR / f"{stem}.xdr"))


def recorded_lcms(stem: str) -> list[x.LedgerCloseMeta]:
    """Fresh (mutable) copies of a recorded stream's LCMs; the parsing is cached per file."""
    return [x.LedgerCloseMeta.from_xdr_bytes(raw) for raw in _stream_bytes(stem)]


@functools.cache
def load_summary() -> Mapping[str, Any]:
    """``expected_summary.json``: ``{"files": {stem: {...counts...}}, ...}``."""
    data: Mapping[str, Any] = json.loads(SUMMARY_PATH.read_text())
    return data


def lcm_body(lcm: x.LedgerCloseMeta) -> Any:
    """The v0/v1/v2 arm of an LCM."""
    return {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}[lcm.v]


def sequence_of(lcm: x.LedgerCloseMeta) -> int:
    return int(lcm_body(lcm).ledger_header.header.ledger_seq.uint32)


# --- lake writer ---

ContentSize = Literal["always", "never", "alternate"]


def write_lake(
    directory: Path | str,
    ledger_close_metas: Iterable[x.LedgerCloseMeta],
    *,
    ledgers_per_batch: int = 1,
    batches_per_partition: int = 64000,
    passphrase: str = FIXTURE_PASSPHRASE,
    content_size: ContentSize = "alternate",
) -> list[str]:
    """Write a SEP-54 lake under ``directory``; return the object keys written, in order.

    Consecutive LCMs that fall in one batch form one ``LedgerCloseMetaBatch`` whose
    ``start/end_sequence`` are its first and last ledger (as Galexie does for a lake's first,
    partial batch). ``content_size``: whether zstd frames record their size ("alternate": every
    other object has none, so readers must decompress by streaming).
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    config = LakeConfig(passphrase, ledgers_per_batch, batches_per_partition, "zstd")
    (root / ".config.json").write_text(
        json.dumps(
            {
                "networkPassphrase": passphrase,
                "version": "1.0",
                "compression": "zstd",
                "ledgersPerBatch": ledgers_per_batch,
                "batchesPerPartition": batches_per_partition,
            }
        )
    )
    groups: dict[int, list[x.LedgerCloseMeta]] = {}
    for lcm in ledger_close_metas:
        groups.setdefault(config.batch_bounds(sequence_of(lcm))[0], []).append(lcm)
    keys: list[str] = []
    for number, (start, lcms) in enumerate(sorted(groups.items())):
        seqs = [sequence_of(lcm) for lcm in lcms]
        if seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            raise ValueError(f"ledgers of batch {start} are not consecutive: {seqs}")
        batch = x.LedgerCloseMetaBatch(x.Uint32(seqs[0]), x.Uint32(seqs[-1]), list(lcms))
        with_size = content_size == "always" or (content_size == "alternate" and number % 2 == 0)
        compressor = zstandard.ZstdCompressor(write_content_size=with_size)
        key = config.object_key(start)
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(compressor.compress(batch.to_xdr_bytes()))
        keys.append(key)
    return keys


def frame_has_content_size(path: Path) -> bool:
    """Whether a zstd object's frame header records the decompressed size."""
    params = zstandard.get_frame_parameters(path.read_bytes())
    return bool(params.content_size != zstandard.CONTENTSIZE_UNKNOWN)


# --- envelope hashes ---


def envelopes(lcm: x.LedgerCloseMeta) -> Iterator[x.TransactionEnvelope]:
    """Every transaction envelope of the ledger's tx set (hash order, not apply order)."""
    body = lcm_body(lcm)
    if lcm.v == 0:
        yield from body.tx_set.txs
        return
    for phase in body.tx_set.v1_tx_set.phases:
        if phase.v == 0:
            for component in phase.v0_components:
                yield from component.txs_maybe_discounted_fee.txs
        else:
            for stage in phase.parallel_txs_component.execution_stages:
                for cluster in stage.parallel_tx_execution_stage:
                    yield from cluster.dependent_tx_cluster


def envelope_hash(envelope: x.TransactionEnvelope, passphrase: str = FIXTURE_PASSPHRASE) -> str:
    """The transaction hash as Stellar (and RPC's ``txHash``) defines it: hash of the envelope."""
    if envelope.type == x.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        return str(FeeBumpTransactionEnvelope.from_xdr_object(envelope, passphrase).hash_hex())
    return str(TransactionEnvelope.from_xdr_object(envelope, passphrase).hash_hex())


# --- synthetic ledgers ---


@dataclass(frozen=True)
class EventSpec:
    """One event to put in a synthetic ledger: ``encoded`` is ``(topic_xdr, value_xdr)``."""

    contract_id: str
    encoded: tuple[list[str], str]
    type: x.ContractEventType = x.ContractEventType.CONTRACT


def contract_event(spec: EventSpec) -> x.ContractEvent:
    """The XDR ``ContractEvent`` for ``spec``."""
    topics, value = spec.encoded
    return x.ContractEvent(
        ext=x.ExtensionPoint(0),
        contract_id=x.ContractID(x.Hash(StrKey.decode_contract(spec.contract_id))),
        type=spec.type,
        body=x.ContractEventBody(
            0,
            x.ContractEventV0(
                topics=[x.SCVal.from_xdr(t) for t in topics], data=x.SCVal.from_xdr(value)
            ),
        ),
    )


def base_ledger() -> x.LedgerCloseMeta:
    """A fresh copy of the recorded ledger :func:`synthetic_ledger` edits (LCM v2, meta v4)."""
    lcms = recorded_lcms(BASE_FILE)
    return next(lcm for lcm in lcms if sequence_of(lcm) == BASE_LEDGER)


def _v4_to_v3(meta: x.TransactionMeta) -> x.TransactionMeta:
    v4 = meta.v4
    assert v4 is not None
    if len(v4.operations) > 1:
        raise ValueError("TransactionMeta v3 holds the events of one operation only")
    events = [e for op in v4.operations for e in op.events]
    soroban = x.SorobanTransactionMeta(
        ext=x.SorobanTransactionMetaExt(0),
        events=events,
        return_value=x.SCVal(x.SCValType.SCV_VOID),
        diagnostic_events=list(v4.diagnostic_events),
    )
    return x.TransactionMeta(
        3,
        v3=x.TransactionMetaV3(
            ext=x.ExtensionPoint(0),
            tx_changes_before=v4.tx_changes_before,
            operations=[x.OperationMeta(op.changes) for op in v4.operations],
            tx_changes_after=v4.tx_changes_after,
            soroban_meta=soroban if v4.operations else None,
        ),
    )


def _to_v1(lcm: x.LedgerCloseMeta) -> x.LedgerCloseMeta:
    v2 = lcm.v2
    assert v2 is not None
    return x.LedgerCloseMeta(
        1,
        v1=x.LedgerCloseMetaV1(
            ext=v2.ext,
            ledger_header=v2.ledger_header,
            tx_set=v2.tx_set,
            tx_processing=[
                x.TransactionResultMeta(t.result, t.fee_processing, t.tx_apply_processing)
                for t in v2.tx_processing
            ],
            upgrades_processing=v2.upgrades_processing,
            scp_info=v2.scp_info,
            total_byte_size_of_live_soroban_state=v2.total_byte_size_of_live_soroban_state,
            evicted_keys=v2.evicted_keys,
            unused=[],
        ),
    )


def synthetic_ledger(
    events: Mapping[int, Sequence[Sequence[EventSpec]]],
    *,
    meta_version: Literal[3, 4] = 4,
    sequence: int | None = None,
) -> x.LedgerCloseMeta:
    """The base ledger with the op events of chosen transactions replaced.

    ``events[tx_index]`` (1-based apply order) lists, per operation, the events to put in it
    (replacing that transaction's operations' events; missing operations are added, which only
    v4 can hold). ``meta_version=3`` converts every transaction's meta to v3 and the ledger to
    LCM v1 (protocol 20-22 shape); 4 keeps LCM v2 / meta v4. ``sequence`` renumbers the ledger.
    """
    lcm = base_ledger()
    body = lcm.v2
    assert body is not None
    for tx_index, per_op in events.items():
        meta = body.tx_processing[tx_index - 1].tx_apply_processing
        assert meta.v4 is not None
        ops = meta.v4.operations
        while len(ops) < len(per_op):
            ops.append(x.OperationMetaV2(x.ExtensionPoint(0), x.LedgerEntryChanges([]), events=[]))
        for op_index, op in enumerate(ops):
            op.events = (
                [contract_event(s) for s in per_op[op_index]] if op_index < len(per_op) else []
            )
    if sequence is not None:
        body.ledger_header.header.ledger_seq = x.Uint32(sequence)
    if meta_version == 3:
        for processing in body.tx_processing:
            processing.tx_apply_processing = _v4_to_v3(processing.tx_apply_processing)
        return _to_v1(lcm)
    return lcm
