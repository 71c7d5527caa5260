"""Contract events out of LedgerCloseMeta / TransactionMeta: recorded stellar-core ledgers, real
RPC responses, and synthetic ledgers built from recorded ones."""

from __future__ import annotations

import base64
import functools
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from stellar_sdk import StrKey, scval
from stellar_sdk import xdr as x
from tests.support import contract_events as ce
from tests.support.datalake import (
    FIXTURES_DIR,
    EventSpec,
    envelope_hash,
    envelopes,
    lcm_body,
    lcm_files,
    load_summary,
    recorded_lcms,
    synthetic_ledger,
)

from stellarstream.chain.meta import (
    events_from_ledger_close_meta,
    events_from_transaction_meta,
    ledger_close_time,
    ledger_sequence,
)
from stellarstream.chain.types import RawEvent

STEMS = [path.stem for path in lcm_files()]
RPC_EXAMPLES = FIXTURES_DIR / "rpc" / "examples"


@functools.cache
def _decoded(stem: str) -> tuple[x.LedgerCloseMeta, ...]:
    return tuple(recorded_lcms(stem))


@functools.cache
def _all_events(stem: str) -> tuple[RawEvent, ...]:
    return tuple(
        e
        for lcm in _decoded(stem)
        for e in events_from_ledger_close_meta(lcm, None, include_failed=True)
    )


def _expected(stem: str) -> Any:
    return load_summary()["files"][stem]


def _summary_ids(stem: str) -> Counter[str]:
    """Per contract counts; the summary prefixes the native SAC's id with "native-SAC:"."""
    ids: dict[str, int] = _expected(stem)["contract_ids"]
    return Counter({key.split(":")[-1]: count for key, count in ids.items()})


def rpc_event_id(ledger: int, tx_index: int, op_index: int, index_in_op: int) -> str:
    """Stellar RPC (v23+) event id: TOID and the event's position in its operation's list."""
    toid = ledger << 32 | tx_index << 12 | op_index
    return f"{toid:019d}-{index_in_op:010d}"


# --- the 18 recorded streams ---


def test_all_recorded_files_are_covered() -> None:
    assert len(STEMS) == 18
    assert set(STEMS) == set(load_summary()["files"])
    assert sum(len(_all_events(stem)) for stem in STEMS) == 77


@pytest.mark.parametrize("stem", STEMS)
def test_counts_match_the_summary(stem: str) -> None:
    expected = _expected(stem)
    lcms = _decoded(stem)
    seqs = [ledger_sequence(lcm) for lcm in lcms]
    assert len(lcms) == expected["records"]
    assert (seqs[0], seqs[-1]) == (expected["ledger_first"], expected["ledger_last"])
    assert sorted({lcm.v for lcm in lcms}) == expected["lcm_versions"]
    processings = [t for lcm in lcms for t in lcm_body(lcm).tx_processing]
    assert len(processings) == expected["txs"]
    failed = [
        t
        for t in processings
        if t.result.result.result.code
        not in (x.TransactionResultCode.txSUCCESS, x.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS)
    ]
    assert len(failed) == expected["txs_failed"]
    # The summary counts every op contract event, failed transactions included.
    events = _all_events(stem)
    assert len(events) == expected["op_contract_events"]
    assert sorted({e.ledger for e in events}) == expected["ledgers_with_op_events"]
    assert Counter(e.contract_id for e in events) == _summary_ids(stem)
    # No failed transaction of these streams carries op events, so the default agrees.
    default = [e for lcm in lcms for e in events_from_ledger_close_meta(lcm, None)]
    assert default == list(events)
    assert all(e.in_successful_call for e in events)


@pytest.mark.parametrize("stem", STEMS)
def test_keys_are_unique_and_tx_index_is_apply_order(stem: str) -> None:
    lcms = {ledger_sequence(lcm): lcm for lcm in _decoded(stem)}
    events = _all_events(stem)
    keys = [(e.tx_hash, e.event_index) for e in events]
    assert len(set(keys)) == len(keys)
    assert [e.order_key for e in events] == sorted(e.order_key for e in events)
    for event in events:
        lcm = lcms[event.ledger]
        processing = lcm_body(lcm).tx_processing
        assert 1 <= event.tx_index <= len(processing)
        assert processing[event.tx_index - 1].result.transaction_hash.hash.hex() == event.tx_hash
        # The hash is the real transaction hash: that of an envelope in the ledger's tx set.
        assert event.tx_hash in {envelope_hash(env) for env in envelopes(lcm)}
        assert event.ledger_closed_at == ledger_close_time(lcm)
        assert event.ledger_closed_at.tzinfo is UTC
        assert StrKey.is_valid_contract(event.contract_id)


@pytest.mark.parametrize("stem", [s for s in STEMS if _summary_ids(s)])
def test_filter_by_contract_id_keeps_exactly_that_contract(stem: str) -> None:
    events = _all_events(stem)
    for contract_id, count in _summary_ids(stem).items():
        got = [
            e
            for lcm in _decoded(stem)
            for e in events_from_ledger_close_meta(
                lcm, frozenset({contract_id}), include_failed=True
            )
        ]
        assert got == [e for e in events if e.contract_id == contract_id]
        assert len(got) == count
    assert not [
        e
        for lcm in _decoded(stem)
        for e in events_from_ledger_close_meta(lcm, frozenset({ce.V2_CONTRACT}))
    ]
    assert not [
        e for lcm in _decoded(stem) for e in events_from_ledger_close_meta(lcm, frozenset())
    ]


def test_event_index_counts_every_event_of_the_transaction() -> None:
    # Module_cache (meta v3) has transactions with up to 6 events: the index runs 0..n-1.
    by_tx: dict[str, list[int]] = {}
    for event in _all_events("318b008d239ea9d8"):
        by_tx.setdefault(event.tx_hash, []).append(event.event_index)
    assert max(len(v) for v in by_tx.values()) == 6
    assert all(v == list(range(len(v))) for v in by_tx.values())


def test_transaction_meta_v2_has_no_contract_events() -> None:
    # version_test holds TransactionMeta v2 (pre-Soroban) next to v4.
    metas = [
        t.tx_apply_processing
        for lcm in _decoded("6de1fadf0f1a6789")
        for t in lcm_body(lcm).tx_processing
    ]
    assert {m.v for m in metas} == {2, 4}
    for meta in metas:
        assert (
            events_from_transaction_meta(
                meta,
                ledger=1,
                closed_at=datetime(2026, 1, 1, tzinfo=UTC),
                tx_hash="00" * 32,
                tx_index=1,
                contract_ids=None,
                successful=True,
            )
            == []
        )


def test_get_ledgers_example_v1_with_failed_transactions_has_no_events() -> None:
    result = json.loads((RPC_EXAMPLES / "Ledgers.json").read_text())
    metas = [
        x.LedgerCloseMeta.from_xdr(ledger["metadataXdr"])
        for example in result.values()
        if isinstance(example["value"], dict)
        for ledger in example["value"].get("ledgers", [])
    ]
    assert metas and {m.v for m in metas} == {1}
    assert sum(len(lcm_body(m).tx_processing) for m in metas) == 4
    assert [
        e for m in metas for e in events_from_ledger_close_meta(m, None, include_failed=True)
    ] == []


# --- agreement with Stellar RPC's own extraction ---


def test_transaction_meta_matches_rpc_get_transactions() -> None:
    """RPC's getTransactions returns, per transaction, its meta and the contract events RPC
    extracted (``events.contractEventsXdr``, a list per operation): ours must be the same events,
    with ``event_index`` equal to RPC's index in the operation (one operation per transaction)."""
    examples = json.loads((RPC_EXAMPLES / "Transactions.json").read_text())
    txs = [
        *examples["GetTransactionsResult"]["value"]["transactions"],
        examples["SuccessTransactionResult"]["value"],
        examples["FailedTransactionResult"]["value"],
    ]
    total = 0
    for tx in txs:
        successful = tx["status"] == "SUCCESS"
        ours = events_from_transaction_meta(
            x.TransactionMeta.from_xdr(tx["resultMetaXdr"]),
            ledger=tx["ledger"],
            closed_at=datetime.fromtimestamp(int(tx["createdAt"]), tz=UTC),
            tx_hash=tx["txHash"],
            tx_index=tx["applicationOrder"],
            contract_ids=None,
            successful=successful,
            include_failed=True,
        )
        rpc = [
            (op_index, index, x.ContractEvent.from_xdr(raw))
            for op_index, op_events in enumerate(tx["events"].get("contractEventsXdr", []))
            for index, raw in enumerate(op_events)
        ]
        assert len(ours) == len(rpc)
        for event, (op_index, index, expected) in zip(ours, rpc, strict=True):
            assert (event.op_index, event.event_index) == (op_index, index)
            assert event.tx_hash == tx["txHash"]
            assert event.in_successful_call is successful
            assert event.contract_id == StrKey.encode_contract(
                expected.contract_id.contract_id.hash
            )
            assert event.topic_xdr == tuple(t.to_xdr() for t in expected.body.v0.topics)
            assert event.value_xdr == expected.body.v0.data.to_xdr()
            assert base64.b64decode(event.value_xdr)
        total += len(ours)
    assert total == 5  # 4 in the getTransactions page, 1 in the single getTransaction


# --- synthetic ledgers (recorded ledger, StellarStream events) ---


def _tx_events(
    meta: x.TransactionMeta,
    *,
    tx_index: int,
    successful: bool = True,
    contract_ids: frozenset[str] | None = None,
    include_failed: bool = False,
) -> list[RawEvent]:
    return events_from_transaction_meta(
        meta,
        ledger=34,
        closed_at=datetime(2026, 1, 1, tzinfo=UTC),
        tx_hash="ab" * 32,
        tx_index=tx_index,
        contract_ids=contract_ids,
        successful=successful,
        include_failed=include_failed,
    )


NOW = 1_800_000_000


def _stream_events() -> list[EventSpec]:
    return [
        EventSpec(
            ce.V2_CONTRACT,
            ce.create_v2(
                7, ce.account(1), ce.account(2), ce.TOKEN, 10**20, NOW, NOW, NOW + 100, NOW
            ),
        ),
        EventSpec(ce.TOKEN, ce.encode([scval.to_symbol("transfer")], scval.to_int128(5))),
        EventSpec(ce.V2_CONTRACT, ce.claim(7, ce.account(2), 10, 10, NOW)),
    ]


def _roundtrip(lcm: x.LedgerCloseMeta) -> x.LedgerCloseMeta:
    return x.LedgerCloseMeta.from_xdr_bytes(lcm.to_xdr_bytes())


@pytest.mark.parametrize("meta_version", [3, 4])
def test_synthetic_ledger_events_and_rpc_ids(meta_version: int) -> None:
    lcm = _roundtrip(
        synthetic_ledger(
            {2: [_stream_events()], 5: [[_stream_events()[2]]]}, meta_version=meta_version
        )
    )
    assert lcm.v == (1 if meta_version == 3 else 2)
    body = lcm_body(lcm)
    assert {t.tx_apply_processing.v for t in body.tx_processing} == {meta_version}
    ledger = ledger_sequence(lcm)
    events = [
        e
        for e in events_from_ledger_close_meta(lcm, frozenset({ce.V2_CONTRACT}))
        if e.tx_index in (2, 5)
    ]
    assert [(e.tx_index, e.op_index, e.event_index) for e in events] == [
        (2, 0, 0),
        (2, 0, 2),
        (5, 0, 0),
    ]
    hashes = {envelope_hash(env) for env in envelopes(lcm)}
    for event in events:
        processing = body.tx_processing[event.tx_index - 1]
        assert event.tx_hash == processing.result.transaction_hash.hash.hex()
        assert event.tx_hash in hashes  # a real transaction hash: what RPC reports as txHash
        # RPC numbers each operation's event list from 0 (its id: TOID + that index); with one
        # operation per transaction that is our index, so both name the event the same way.
        meta = processing.tx_apply_processing
        op_events = (
            meta.v3.soroban_meta.events if meta_version == 3 else meta.v4.operations[0].events
        )
        index_in_op = [e.body.v0.data.to_xdr() for e in op_events].index(event.value_xdr)
        assert index_in_op == event.event_index
        assert rpc_event_id(ledger, event.tx_index, event.op_index, index_in_op).endswith(
            f"-{event.event_index:010d}"
        )
    create, _, claim = _stream_events()
    assert (events[0].topic_xdr, events[0].value_xdr) == (
        tuple(create.encoded[0]),
        create.encoded[1],
    )
    assert (events[1].topic_xdr, events[1].value_xdr) == (tuple(claim.encoded[0]), claim.encoded[1])


def test_meta_v3_and_v4_give_identical_events() -> None:
    plan = {2: [_stream_events()], 3: [_stream_events()[:1]], 7: [_stream_events()[1:]]}
    v3 = events_from_ledger_close_meta(_roundtrip(synthetic_ledger(plan, meta_version=3)), None)
    v4 = events_from_ledger_close_meta(_roundtrip(synthetic_ledger(plan, meta_version=4)), None)
    assert len(v4) >= 6
    assert [(e.tx_hash, e.event_index, e.op_index) for e in v3] == [
        (e.tx_hash, e.event_index, e.op_index) for e in v4
    ]
    assert v3 == v4


def test_event_index_runs_across_operations_and_ignores_filters_and_types() -> None:
    system = EventSpec(
        ce.TOKEN, ce.encode([scval.to_symbol("sys")], scval.to_void()), x.ContractEventType.SYSTEM
    )
    first, other, second = _stream_events()
    lcm = _roundtrip(synthetic_ledger({3: [[first, system], [other, second]]}))
    meta = lcm_body(lcm).tx_processing[2].tx_apply_processing
    assert len(meta.v4.operations) == 2
    every = _tx_events(meta, tx_index=3)
    assert [(e.op_index, e.event_index, e.contract_id) for e in every] == [
        (0, 0, ce.V2_CONTRACT),
        (1, 2, ce.TOKEN),
        (1, 3, ce.V2_CONTRACT),
    ]
    ours = _tx_events(meta, tx_index=3, contract_ids=frozenset({ce.V2_CONTRACT}))
    assert ours == [every[0], every[2]]


def test_failed_transaction_events_are_skipped_unless_asked() -> None:
    # Transaction 4 of the base ledger failed; v4 meta may still carry events for it.
    lcm = _roundtrip(synthetic_ledger({4: [_stream_events()]}))
    code = lcm_body(lcm).tx_processing[3].result.result.result.code
    assert code == x.TransactionResultCode.txFAILED
    assert not [e for e in events_from_ledger_close_meta(lcm, None) if e.tx_index == 4]
    failed = [
        e for e in events_from_ledger_close_meta(lcm, None, include_failed=True) if e.tx_index == 4
    ]
    assert [e.event_index for e in failed] == [0, 1, 2]
    assert not any(e.in_successful_call for e in failed)
    meta = lcm_body(lcm).tx_processing[3].tx_apply_processing
    assert _tx_events(meta, tx_index=4, successful=False) == []
    kept = _tx_events(meta, tx_index=4, successful=False, include_failed=True)
    assert [(e.event_index, e.in_successful_call) for e in kept] == [
        (0, False),
        (1, False),
        (2, False),
    ]


def test_fee_bump_transaction_is_successful_and_keyed_by_its_outer_hash() -> None:
    create = _stream_events()[0]
    lcm = _roundtrip(synthetic_ledger({1: [[create]]}))
    processing = lcm_body(lcm).tx_processing[0]
    code = processing.result.result.result.code
    assert code == x.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS
    [event] = [e for e in events_from_ledger_close_meta(lcm, None) if e.tx_index == 1]
    assert event.in_successful_call
    fee_bumps = {
        envelope_hash(env): env
        for env in envelopes(lcm)
        if env.type == x.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP
    }
    assert event.tx_hash in fee_bumps  # the outer (fee bump) hash, as RPC's txHash
