"""Decoding every event of the contract-events spec, and never raising on anything else."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import scval
from stellar_sdk import xdr as x
from tests.support import contract_events as ce

from stellarstream.chain.decode import decode, decode_json, decode_scvals
from stellarstream.chain.events import (
    EVENT_TYPES,
    Archived,
    BatchCreated,
    BeneficiaryTransferred,
    BridgedIn,
    Canceled,
    ContractEvent,
    ContractPaused,
    ContractUnpaused,
    DomainEvent,
    Dust,
    MetaWithdrawn,
    Migrated,
    RateAccepted,
    Refilled,
    SplitConfigured,
    SplitExecuted,
    StreamCreated,
    ToppedUp,
    UnknownEvent,
    V1Paused,
    V1ProposalCreated,
    V1Resumed,
    V1StreamCreated,
    V1ToppedUp,
    Withdrawn,
    is_stream_event,
    stream_id_of,
    to_json,
)
from stellarstream.chain.scval_json import generic_json

EVENTS_JSON = Path(__file__).parents[2] / "fixtures/stellar/rpc/examples/Events.json"

ALICE, BOB, CAROL = ce.account(1), ce.account(2), ce.account(3)
TOKEN = ce.TOKEN
BIG = 2**100 + 12345  # i128 amount far above 2**63
U64_MAX = 2**64 - 1
NOW = 1_784_671_886

PROPS = settings(max_examples=300, database=None, deadline=None)


def dec(encoded: ce.Encoded, contract_id: str = ce.V2_CONTRACT) -> DomainEvent:
    """Decode from XDR and, when the XDR has an XDR-JSON form, from that too: the same event."""
    topics, value = encoded
    raw = ce.raw_event(topics, value, contract_id=contract_id, ledger=7, tx_hash=ce.tx_hash_for(1))
    event = decode(raw)
    as_json = ce.as_json(raw)
    if as_json is not None:
        assert decode(as_json) == event
    return event


def unknown(encoded: ce.Encoded) -> UnknownEvent:
    event = dec(encoded)
    assert isinstance(event, UnknownEvent), event
    return event


def with_value(encoded: ce.Encoded, value: x.SCVal) -> ce.Encoded:
    return encoded[0], value.to_xdr()


# --- every spec event decodes to the right type with exact fields ---

SPEC_CASES: list[tuple[ce.Encoded, DomainEvent]] = [
    (
        ce.create_v2(0, ALICE, BOB, TOKEN, BIG, 100, 150, 1_100, NOW, memo="inv_AbC123"),
        StreamCreated(0, ALICE, BOB, TOKEN, BIG, 100, 150, 1_100, NOW, "inv_AbC123", True),
    ),
    (
        ce.create_v2(U64_MAX, ALICE, BOB, TOKEN, 1, 0, 0, U64_MAX, NOW),
        StreamCreated(U64_MAX, ALICE, BOB, TOKEN, 1, 0, 0, U64_MAX, NOW, None, True),
    ),
    (
        ce.create_v2(3, ALICE, BOB, TOKEN, 10, 1, 2, 3, 4, with_memo_slot=False),
        StreamCreated(3, ALICE, BOB, TOKEN, 10, 1, 2, 3, 4, None, False),
    ),
    (ce.claim(5, BOB, BIG, BIG + 1, NOW), Withdrawn(5, BOB, BIG, BIG + 1, NOW)),
    (ce.meta_wdrw(5, BOB, 90, 10, NOW), MetaWithdrawn(5, BOB, 90, 10, NOW)),
    (ce.cancel(5, ALICE, BIG, 7, NOW), Canceled(5, ALICE, BIG, 7, NOW)),
    (ce.archived(5, BIG, BIG - 1, ALICE, NOW), Archived(5, BIG, BIG - 1, ALICE, NOW)),
    (ce.benefic(5, BOB, CAROL, NOW), BeneficiaryTransferred(5, BOB, CAROL, NOW)),
    (ce.top_up(5, ALICE, 50, BIG, 2_000, NOW), ToppedUp(5, ALICE, 50, BIG, 2_000, NOW)),
    (ce.refill(5, ALICE, 60, 1_100, 2_100, NOW), Refilled(5, ALICE, 60, 1_100, 2_100, NOW)),
    (ce.migrated(9, 4, ALICE, BIG, NOW), Migrated(9, 4, ALICE, BIG, NOW)),
    (ce.bridge_in(5, TOKEN, BOB, BIG, 3_600, NOW), BridgedIn(5, TOKEN, BOB, BIG, 3_600, NOW)),
    (
        ce.split_exec(5, ALICE, BOB, 77, "memo_1", NOW),
        SplitExecuted(5, ALICE, BOB, 77, "memo_1", NOW),
    ),
    (ce.rate_accept(5, BOB, 3, 9_000, BIG, NOW), RateAccepted(5, BOB, 3, 9_000, BIG, NOW)),
    (
        ce.dust(5, TOKEN, BIG, 1, CAROL, 30, 250, NOW),
        Dust(5, TOKEN, BIG, 1, CAROL, 30, 250, NOW),
    ),
    (ce.split(5, BOB, CAROL, 2_500, NOW), SplitConfigured(5, BOB, CAROL, 2_500, NOW)),
    (ce.split(5, BOB, None, 0, NOW), SplitConfigured(5, BOB, None, 0, NOW)),
    (ce.v2_pause(ALICE, NOW), ContractPaused(ALICE, NOW)),
    (ce.v2_unpause(ALICE, NOW), ContractUnpaused(ALICE, NOW)),
    (ce.btch_crt(ALICE, 3, BIG, NOW), BatchCreated(ALICE, 3, BIG, NOW)),
    (
        ce.v1_create(2, ALICE, BOB, TOKEN, BIG, 10, 20, NOW),
        V1StreamCreated(2, ALICE, BOB, TOKEN, BIG, 10, 20, NOW),
    ),
    (ce.v1_topup(2, ALICE, 5, BIG, 40, NOW), V1ToppedUp(2, ALICE, 5, BIG, 40, NOW)),
    (ce.v1_pause(2, ALICE, NOW), V1Paused(2, ALICE, NOW)),
    (ce.v1_resume(2, ALICE, 600, NOW), V1Resumed(2, ALICE, 600, NOW)),
]


@pytest.mark.parametrize(("encoded", "expected"), SPEC_CASES, ids=lambda v: type(v).__name__)
def test_spec_event_decodes_exactly(encoded: ce.Encoded, expected: DomainEvent) -> None:
    event = dec(encoded)
    assert type(event) is type(expected)
    assert event == expected


def test_every_known_event_type_is_covered() -> None:
    covered = {type(expected) for _, expected in SPEC_CASES}
    untested_here = {UnknownEvent, ContractEvent, V1ProposalCreated}
    assert covered | untested_here == set(EVENT_TYPES)


def test_kinds_are_unique_and_versions_set() -> None:
    kinds = [cls.kind for cls in EVENT_TYPES]
    assert len(kinds) == len(set(kinds))
    assert StreamCreated.kind == "create_v2" and StreamCreated.version == 2
    assert V1StreamCreated.kind == "v1_create" and V1StreamCreated.version == 1
    assert UnknownEvent.kind == "unknown" and UnknownEvent.version is None


def test_decode_scvals_matches_decode() -> None:
    topics, value = ce.claim(1, BOB, 10, 20, NOW)
    event = decode_scvals([x.SCVal.from_xdr(t) for t in topics], x.SCVal.from_xdr(value))
    assert event == Withdrawn(1, BOB, 10, 20, NOW)


def test_meta_withdrawal_gross_and_migrated_ids() -> None:
    meta = dec(ce.meta_wdrw(1, BOB, BIG, 5, NOW))
    assert isinstance(meta, MetaWithdrawn) and meta.gross == BIG + 5
    moved = dec(ce.migrated(12, 3, ALICE, 1, NOW))
    assert isinstance(moved, Migrated) and (moved.v2_id, moved.v1_id) == (12, 3)


def test_contract_wide_nebula_event_is_kept_generically() -> None:
    encoded = ce.contract_event(
        "fee_out", CAROL, [scval.to_address(CAROL), scval.to_int128(BIG)], 9
    )
    event = dec(encoded)
    assert event == ContractEvent("fee_out", ("fee_out", CAROL), (CAROL, str(BIG)), 9)


def test_negative_i128_decodes_exactly() -> None:
    event = dec(ce.cancel(1, ALICE, -(2**127), 2**127 - 1, NOW))
    assert isinstance(event, Canceled)
    assert (event.to_receiver, event.to_sender) == (-(2**127), 2**127 - 1)


# --- ambiguous topics ---


def test_v1_create_stream_vs_proposal() -> None:
    stream = dec(ce.v1_create(4, ALICE, BOB, TOKEN, 100, 1, 2, NOW), ce.V1_CONTRACT)
    proposal = dec(ce.v1_proposal(4, ALICE, BOB, TOKEN, 100, 1, 2, NOW), ce.V1_CONTRACT)
    assert isinstance(stream, V1StreamCreated) and stream.stream_id == 4
    assert isinstance(proposal, V1ProposalCreated)
    assert (proposal.proposal_id, proposal.sender) == (4, ALICE)
    assert proposal.fields["total_amount"] == "100" and proposal.fields["receiver"] == BOB
    assert not is_stream_event(proposal) and stream_id_of(proposal) is None


def test_v2_pause_by_address_vs_v1_pause_by_id() -> None:
    v2 = dec(ce.v2_pause(ALICE, NOW))
    v1 = dec(ce.v1_pause(8, ALICE, NOW))
    assert isinstance(v2, ContractPaused) and not is_stream_event(v2)
    assert isinstance(v1, V1Paused) and stream_id_of(v1) == 8


def test_stream_accessors() -> None:
    assert stream_id_of(dec(ce.claim(U64_MAX, BOB, 1, 1, NOW))) == U64_MAX
    assert is_stream_event(dec(ce.dust(3, TOKEN, 1, 1, CAROL, 1, 1, NOW)))
    assert stream_id_of(dec(ce.btch_crt(ALICE, 1, 1, NOW))) is None


# --- memo slot ---


@pytest.mark.parametrize(
    ("memo", "slot", "expected"),
    [("abc", True, ("abc", True)), (None, True, (None, True)), (None, False, (None, False))],
)
def test_create_v2_memo_forms(memo: str | None, slot: bool, expected: tuple[Any, bool]) -> None:
    event = dec(ce.create_v2(1, ALICE, BOB, TOKEN, 5, 1, 1, 2, 1, memo, with_memo_slot=slot))
    assert isinstance(event, StreamCreated)
    assert (event.memo, event.has_memo_slot) == expected


# --- malformed input never raises ---


def nebula_for(action: str, data: list[x.SCVal], *, version: int = 2) -> x.SCVal:
    return ce.nebula_value(action, data, NOW, version=version)


def claim_data(stream_id: int = 1) -> list[x.SCVal]:
    return [
        scval.to_uint64(stream_id),
        scval.to_address(BOB),
        scval.to_int128(1),
        scval.to_int128(1),
        scval.to_uint64(NOW),
    ]


def test_wrong_arity_is_unknown() -> None:
    base = ce.claim(1, BOB, 1, 1, NOW)
    short = unknown(with_value(base, nebula_for("claim", claim_data()[:-1])))
    assert "expected 5 data items, got 4" in short.reason
    long = unknown(with_value(base, nebula_for("claim", [*claim_data(), scval.to_uint64(1)])))
    assert "got 6" in long.reason
    create = ce.create_v2(1, ALICE, BOB, TOKEN, 5, 1, 1, 2, 1)
    assert "9 or 10" in unknown(with_value(create, nebula_for("create_v2", claim_data()))).reason


def test_wrong_scval_type_is_unknown() -> None:
    data = claim_data()
    data[2] = scval.to_uint64(1)
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), nebula_for("claim", data)))
    assert event.reason == "claim: data[2] must be SCV_I128, not SCV_U64"
    assert event.topics == ("1", "claim")
    assert isinstance(event.value, dict) and event.value["version"] == 2


def test_bad_memo_type_is_unknown() -> None:
    base = ce.create_v2(1, ALICE, BOB, TOKEN, 5, 1, 1, 2, 1)
    addresses = [scval.to_address(a) for a in (ALICE, BOB, TOKEN)]
    data = [scval.to_uint64(1), *addresses, scval.to_int128(5)]
    data += [scval.to_uint64(t) for t in (1, 1, 2, 1)] + [scval.to_uint32(7)]
    event = unknown(with_value(base, nebula_for("create_v2", data)))
    assert event.reason == "create_v2: data[9] (memo) must be SCV_SYMBOL, not SCV_U32, nor Void"


def test_action_topic_mismatch_is_unknown() -> None:
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), nebula_for("cancel", claim_data())))
    assert "differs from the topic" in event.reason


def test_data_id_topic_mismatch_is_unknown() -> None:
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), nebula_for("claim", claim_data(2))))
    assert "stream id 1" in event.reason


@pytest.mark.parametrize("version", [1, 3])
def test_nebula_version_not_2_is_unknown(version: int) -> None:
    value = nebula_for("claim", claim_data(), version=version)
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), value))
    assert "version" in event.reason and "not 2" in event.reason


def test_payload_not_a_map_is_unknown() -> None:
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), scval.to_int128(5)))
    assert "not a Map" in event.reason and event.value == "5"


def test_nebula_missing_key_is_unknown() -> None:
    value = ce.struct({"action": scval.to_symbol("claim"), "version": scval.to_uint32(2)})
    event = unknown(with_value(ce.claim(1, BOB, 1, 1, NOW), value))
    assert "lacks data, timestamp" in event.reason


def test_struct_missing_key_and_id_mismatch_are_unknown() -> None:
    topics, _ = ce.v1_pause(8, ALICE, NOW)
    missing = ce.struct({"stream_id": scval.to_uint64(8), "timestamp": scval.to_uint64(1)})
    assert "lacks 'pauser'" in unknown((topics, missing.to_xdr())).reason
    other_id = ce.v1_pause(9, ALICE, NOW)[1]
    assert "differs from the topic id" in unknown((topics, other_id)).reason
    dust_topics, _ = ce.dust(1, TOKEN, 1, 1, CAROL, 1, 1, NOW)
    assert (
        "stream_id 2 != topic 1"
        in unknown((dust_topics, ce.dust(2, TOKEN, 1, 1, CAROL, 1, 1, NOW)[1])).reason
    )


def test_v1_create_sender_mismatch_is_unknown() -> None:
    topics, _ = ce.v1_create(1, ALICE, BOB, TOKEN, 1, 1, 2, NOW)
    _, value = ce.v1_create(1, BOB, BOB, TOKEN, 1, 1, 2, NOW)
    assert "sender" in unknown((topics, value)).reason


def test_contract_wide_admin_mismatch_is_unknown() -> None:
    topics, _ = ce.v2_pause(ALICE, NOW)
    _, value = ce.v2_pause(BOB, NOW)
    assert unknown((topics, value)).reason == "pause: data[0] differs from the topic address"


def test_unknown_stream_action_and_topic_shapes() -> None:
    topics = [scval.to_uint64(1), scval.to_symbol("explode")]
    value = nebula_for("explode", claim_data())
    assert "unknown V2 stream action 'explode'" in unknown(ce.encode(topics, value)).reason
    assert "no topics" in unknown(([], value.to_xdr())).reason
    three = [scval.to_uint64(1), scval.to_symbol("claim"), scval.to_uint64(1)]
    assert "[U64 stream_id, Symbol action]" in unknown(ce.encode(three, value)).reason
    first_bytes = [scval.to_bytes(b"\x01"), scval.to_symbol("claim")]
    event = unknown(ce.encode(first_bytes, value))
    assert "first topic is SCV_BYTES" in event.reason and event.topics[0] == {"bytes": "01"}


def test_v1_topic_with_wrong_second_type_is_unknown() -> None:
    topics = [scval.to_symbol("topup").to_xdr(), scval.to_symbol("x").to_xdr()]
    _, value = ce.v1_topup(1, ALICE, 1, 1, 1, NOW)
    assert "unrecognised event with topic 'topup'" in unknown((topics, value)).reason


@pytest.mark.parametrize(
    ("topics", "value", "where"),
    [
        (["!!! not base64"], "AAAAAQ==", "topic 0"),
        (["AAAABQ=="], "AAAAAQ==", "topic 0"),  # truncated U64
        (["AAAADwAAAAVjbGFpbQAAAA=="], "not-xdr", "value"),
        (["AAAADwAAAAVjbGFpbQAAAA=="], "", "value"),
        (["AAAADwAAAAVjbGFpbQAAAA=="], "AAAAAQAAAAA=", "value"),  # trailing bytes
    ],
)
def test_bad_xdr_is_unknown(topics: list[str], value: str, where: str) -> None:
    event = unknown((topics, value))
    assert event.reason.startswith(f"{where} is not valid SCVal XDR")


def test_decode_scvals_tolerates_inconsistent_scvals() -> None:
    broken = x.SCVal(x.SCValType.SCV_U64)  # discriminant says U64, arm is missing
    event = decode_scvals([broken, scval.to_symbol("claim")], scval.to_void())
    assert isinstance(event, UnknownEvent) and event.topics == (None, "claim")


# --- real recorded events (native SAC transfer / fee) ---


def recorded_events() -> list[dict[str, Any]]:
    examples = json.loads(EVENTS_JSON.read_text())
    return [
        event
        for example in examples.values()
        if isinstance(example.get("value"), dict)
        for event in example["value"].get("events", [])
    ]


def test_recorded_sac_events_become_generic_unknowns() -> None:
    events = recorded_events()
    assert len(events) >= 4
    for item in events:
        raw = ce.raw_event(
            item["topic"],
            item["value"],
            contract_id=item["contractId"],
            ledger=item["ledger"],
            tx_hash=item["txHash"],
            tx_index=item["transactionIndex"],
            op_index=item["operationIndex"],
        )
        event = decode(raw)
        assert isinstance(event, UnknownEvent)
        assert event.topics[0] in ("transfer", "fee")
        assert "unrecognised event" in event.reason
        assert isinstance(event.value, str) and int(event.value) > 0
        json.dumps(to_json(event))
    first = events[0]
    event = decode(
        ce.raw_event(first["topic"], first["value"], contract_id="C", ledger=1, tx_hash="h")
    )
    assert isinstance(event, UnknownEvent)
    assert event.topics == (
        "transfer",
        "GCHHLGOJVLRAPYBB6TR4NS4VRF5VW5RKZXQCVQUGMLGLXPTKJFCINQVE",
        "CCXP6YNFJZIDQD6N37DPCEKXJGLL56ZSAT5D5RPZG4NONL7IRAGWKFD2",
        "native",
    )
    assert event.value == "3000000000"  # 300 XLM in stroops


# --- JSON ---


def test_to_json_is_json_safe_with_decimal_strings() -> None:
    event = dec(ce.create_v2(U64_MAX, ALICE, BOB, TOKEN, BIG, 1, 2, 3, 4, "m"))
    data = to_json(event)
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "create_v2" and data["version"] == 2
    assert data["stream_id"] == str(U64_MAX) and data["amount"] == str(BIG)
    assert data["memo"] == "m" and data["has_memo_slot"] is True
    dust_json = to_json(dec(ce.dust(1, TOKEN, 1, 1, CAROL, 1, 250, NOW)))
    assert dust_json["split_bps"] == 250
    assert to_json(dec(ce.meta_wdrw(1, BOB, 2, 3, NOW)))["gross"] == "5"


@pytest.mark.parametrize(("encoded", "expected"), SPEC_CASES, ids=lambda v: type(v).__name__)
def test_to_json_every_event(encoded: ce.Encoded, expected: DomainEvent) -> None:
    data = to_json(dec(encoded))
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == expected.kind
    assert not any(isinstance(v, int) and abs(v) > 2**32 for v in data.values())


def test_generic_json_forms() -> None:
    val = scval.to_map(
        {
            scval.to_symbol("b"): scval.to_bytes(b"\xff"),
            scval.to_symbol("s"): scval.to_string("hé"),
            scval.to_symbol("t"): scval.to_bool(True),
            scval.to_symbol("v"): scval.to_vec([scval.to_void(), scval.to_int32(-1)]),
        }
    )
    assert generic_json(val) == {"b": {"bytes": "ff"}, "s": "hé", "t": True, "v": [None, -1]}
    int_keys = scval.to_map({scval.to_uint32(1): scval.to_uint256(2**200)})
    assert generic_json(int_keys) == [[1, str(2**200)]]


# --- fuzz ---


@PROPS
@given(st.binary(max_size=512))
def test_random_value_bytes_never_raise(data: bytes) -> None:
    topics, _ = ce.claim(1, BOB, 1, 1, NOW)
    event = dec((topics, base64.b64encode(data).decode()))
    assert isinstance(event, EVENT_TYPES)


_VALID = ce.create_v2(1, ALICE, BOB, TOKEN, BIG, 1, 2, 3, 4, "memo")


@PROPS
@given(st.integers(0, len(base64.b64decode(_VALID[1])) - 1), st.integers(0, 255))
def test_mutated_valid_value_never_raises(position: int, byte: int) -> None:
    raw = bytearray(base64.b64decode(_VALID[1]))
    raw[position] = byte
    event = dec((_VALID[0], base64.b64encode(bytes(raw)).decode()))
    assert isinstance(event, EVENT_TYPES)
    json.dumps(to_json(event))


_LEAVES = st.one_of(
    st.integers(0, 2**32 - 1).map(scval.to_uint32),
    st.integers(-(2**31), 2**31 - 1).map(scval.to_int32),
    st.integers(0, 2**64 - 1).map(scval.to_uint64),
    st.integers(-(2**63), 2**63 - 1).map(scval.to_int64),
    st.integers(-(2**127), 2**127 - 1).map(scval.to_int128),
    st.integers(0, 2**128 - 1).map(scval.to_uint128),
    st.integers(-(2**255), 2**255 - 1).map(scval.to_int256),
    st.booleans().map(scval.to_bool),
    st.just(scval.to_void()),
    st.from_regex(r"[a-zA-Z0-9_]{0,32}", fullmatch=True).map(scval.to_symbol),
    st.text(max_size=8).map(scval.to_string),
    st.binary(max_size=8).map(scval.to_bytes),
    st.sampled_from([ALICE, BOB, TOKEN, ce.V2_CONTRACT]).map(scval.to_address),
)
_SCVALS = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(scval.to_vec),
        st.lists(st.tuples(inner, inner), max_size=3).map(
            lambda pairs: x.SCVal(
                x.SCValType.SCV_MAP, map=x.SCMap([x.SCMapEntry(k, v) for k, v in pairs])
            )
        ),
    ),
    max_leaves=12,
)


@PROPS
@given(_SCVALS, st.sampled_from(["claim", "create_v2", "pause", "fee_out"]))
def test_any_value_decodes_alike_from_xdr_and_json(value: x.SCVal, action: str) -> None:
    # Routing reads XDR-JSON; its readable forms must equal generic_json of the SCVal, and an
    # event decoded from XDR must equal the one decoded from the same value in XDR-JSON.
    assert decode_json([], value.to_json_dict()) == decode_scvals([], value)
    event = decode_scvals([], value)
    assert isinstance(event, UnknownEvent) and event.value == generic_json(value)
    topics = (
        [scval.to_uint64(1), scval.to_symbol(action)]
        if action != "fee_out"
        else [scval.to_symbol(action)]
    )
    dec((tuple(t.to_xdr() for t in topics), value.to_xdr()))
    nebula = scval.to_map(
        {
            scval.to_symbol("action"): scval.to_symbol(action),
            scval.to_symbol("data"): scval.to_vec([scval.to_uint64(1), value]),
            scval.to_symbol("timestamp"): scval.to_uint64(NOW),
            scval.to_symbol("version"): scval.to_uint32(2),
        }
    )
    dec((tuple(t.to_xdr() for t in topics), nebula.to_xdr()))
