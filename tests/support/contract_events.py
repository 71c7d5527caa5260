"""Build spec-shaped StellarStream contract events as base64 SCVal XDR (with stellar_sdk).

Every builder returns :data:`Encoded`, ``(topic_xdr, value_xdr)``, exactly what a source puts in
a :class:`RawEvent`; wrap it with :func:`raw_event`. Shapes follow
``spec/stellarstream-contract-events.md``: V2 stream events are ``[U64 id, Symbol action]`` with a
NebulaEvent payload (``dust``/``split``: a plain struct), contract-wide V2 and V1 events put the
Symbol first. ``now`` is the ledger timestamp (u64 seconds).

Reused by unit and integration tests, the local fake RPC server and the benchmarks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from stellar_sdk import Keypair, StrKey, scval
from stellar_sdk import xdr as x

from stellarstream import jsontext
from stellarstream.chain.types import RawEvent

Encoded = tuple[list[str], str]
"""``(topic_xdr, value_xdr)``: base64 SCVal XDR for each topic and for the value."""

#: Ledger-close time of ledger 0 in :func:`raw_event`'s default; ledgers close every 5 s.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# --- deterministic identities ---


def account(n: int) -> str:
    """A deterministic G... account address (seed ``bytes([n]) * 32``)."""
    return str(Keypair.from_raw_ed25519_seed(bytes([n]) * 32).public_key)


def contract(n: int) -> str:
    """A deterministic C... contract address."""
    return str(StrKey.encode_contract(bytes([n]) * 32))


def tx_hash_for(n: int) -> str:
    """A deterministic 64-hex transaction hash."""
    return f"{n:064x}"


V2_CONTRACT = contract(200)
V1_CONTRACT = contract(201)
TOKEN = contract(202)


# --- generic encoding ---


def encode(topics: Sequence[x.SCVal], value: x.SCVal) -> Encoded:
    """Base64-encode already-built SCVals."""
    return [t.to_xdr() for t in topics], value.to_xdr()


def nebula_value(action: str, data: Sequence[x.SCVal], now: int, *, version: int = 2) -> x.SCVal:
    """A ``NebulaEvent`` map ``{action, data, timestamp, version}`` (keys sorted by stellar_sdk)."""
    return scval.to_struct(
        {
            "action": scval.to_symbol(action),
            "data": scval.to_vec(list(data)),
            "timestamp": scval.to_uint64(now),
            "version": scval.to_uint32(version),
        }
    )


def stream_topics(stream_id: int, action: str) -> list[x.SCVal]:
    """V2 stream topics ``[U64 stream_id, Symbol action]``."""
    return [scval.to_uint64(stream_id), scval.to_symbol(action)]


def v2_stream_event(stream_id: int, action: str, items: Sequence[x.SCVal], now: int) -> Encoded:
    """A V2 stream NebulaEvent; ``items`` are data[1:] (data[0] is the id, the last is ``now``)."""
    data = [scval.to_uint64(stream_id), *items, scval.to_uint64(now)]
    return encode(stream_topics(stream_id, action), nebula_value(action, data, now))


def struct(fields: Mapping[str, x.SCVal]) -> x.SCVal:
    """A ``#[contracttype]`` struct: a map with Symbol keys sorted by field name."""
    return scval.to_struct(dict(fields))


def _a(address: str) -> x.SCVal:
    return scval.to_address(address)


def _i(amount: int) -> x.SCVal:
    return scval.to_int128(amount)


def _u(value: int) -> x.SCVal:
    return scval.to_uint64(value)


# --- V2 stream events ---


def create_v2(
    stream_id: int,
    sender: str,
    receiver: str,
    token: str,
    amount: int,
    start: int,
    cliff: int,
    end: int,
    now: int,
    memo: str | None = None,
    *,
    with_memo_slot: bool = True,
) -> Encoded:
    """``create_v2``. ``with_memo_slot=False`` omits item 9 (batch / approval / bridge creation);
    otherwise item 9 is ``Symbol(memo)`` or Void."""
    data = [
        _u(stream_id),
        _a(sender),
        _a(receiver),
        _a(token),
        _i(amount),
        _u(start),
        _u(cliff),
        _u(end),
        _u(now),
    ]
    if with_memo_slot:
        data.append(scval.to_symbol(memo) if memo is not None else scval.to_void())
    elif memo is not None:
        raise ValueError("a memo needs the memo slot")
    return encode(stream_topics(stream_id, "create_v2"), nebula_value("create_v2", data, now))


def claim(stream_id: int, beneficiary: str, amount: int, withdrawn_total: int, now: int) -> Encoded:
    """``claim``: gross ``amount`` withdrawn, new cumulative ``withdrawn_total``."""
    return v2_stream_event(
        stream_id, "claim", [_a(beneficiary), _i(amount), _i(withdrawn_total)], now
    )


def meta_wdrw(
    stream_id: int, beneficiary: str, to_receiver: int, relayer_fee: int, now: int
) -> Encoded:
    """``meta_wdrw``: a relayed withdrawal (gross = to_receiver + relayer_fee)."""
    items = [_a(beneficiary), _i(to_receiver), _i(relayer_fee)]
    return v2_stream_event(stream_id, "meta_wdrw", items, now)


def cancel(stream_id: int, caller: str, to_receiver: int, to_sender: int, now: int) -> Encoded:
    """``cancel``."""
    return v2_stream_event(stream_id, "cancel", [_a(caller), _i(to_receiver), _i(to_sender)], now)


def archived(stream_id: int, total: int, withdrawn: int, caller: str, now: int) -> Encoded:
    """``archived`` (close_and_archive)."""
    return v2_stream_event(stream_id, "archived", [_i(total), _i(withdrawn), _a(caller)], now)


def benefic(stream_id: int, previous: str, new: str, now: int) -> Encoded:
    """``benefic`` (transfer_beneficiary)."""
    return v2_stream_event(stream_id, "benefic", [_a(previous), _a(new)], now)


def top_up(
    stream_id: int, sender: str, extra: int, new_total: int, new_end: int, now: int
) -> Encoded:
    """``top_up``."""
    items = [_a(sender), _i(extra), _i(new_total), _u(new_end)]
    return v2_stream_event(stream_id, "top_up", items, now)


def refill(
    stream_id: int, sender: str, amount: int, new_start: int, new_end: int, now: int
) -> Encoded:
    """``refill`` (refill_stream)."""
    items = [_a(sender), _i(amount), _u(new_start), _u(new_end)]
    return v2_stream_event(stream_id, "refill", items, now)


def migrated(v2_id: int, v1_id: int, caller: str, amount: int, now: int) -> Encoded:
    """``migrated`` (V1 -> V2); topic and data[0] carry the V2 id."""
    return v2_stream_event(v2_id, "migrated", [_u(v1_id), _a(caller), _i(amount)], now)


def bridge_in(
    stream_id: int, from_address: str, receiver: str, gross: int, duration: int, now: int
) -> Encoded:
    """``bridge_in`` (after the bridge's ``create_v2``)."""
    items = [_a(from_address), _a(receiver), _i(gross), _u(duration)]
    return v2_stream_event(stream_id, "bridge_in", items, now)


def split_exec(
    stream_id: int, sender: str, receiver: str, amount: int, memo: str, now: int
) -> Encoded:
    """``split_exec`` (create_stream with a memo)."""
    items = [_a(sender), _a(receiver), _i(amount), scval.to_symbol(memo)]
    return v2_stream_event(stream_id, "split_exec", items, now)


def rate_accept(
    stream_id: int, receiver: str, new_rate: int, new_end: int, remaining: int, now: int
) -> Encoded:
    """``rate_accept``."""
    items = [_a(receiver), _i(new_rate), _u(new_end), _i(remaining)]
    return v2_stream_event(stream_id, "rate_accept", items, now)


def dust(
    stream_id: int,
    token: str,
    to_withdraw: int,
    dust_amount: int,
    split_address: str,
    split_amount: int,
    split_bps: int,
    now: int,
) -> Encoded:
    """``dust``: a plain struct payload (not a NebulaEvent)."""
    value = struct(
        {
            "dust_amount": _i(dust_amount),
            "split_address": _a(split_address),
            "split_amount": _i(split_amount),
            "split_bps": scval.to_uint32(split_bps),
            "stream_id": _u(stream_id),
            "timestamp": _u(now),
            "to_withdraw": _i(to_withdraw),
            "token": _a(token),
        }
    )
    return encode(stream_topics(stream_id, "dust"), value)


def split(
    stream_id: int, beneficiary: str, split_address: str | None, split_bps: int, now: int
) -> Encoded:
    """``split`` (split_stream): a plain struct payload; ``split_address`` None is Void."""
    value = struct(
        {
            "beneficiary": _a(beneficiary),
            "split_address": _a(split_address) if split_address is not None else scval.to_void(),
            "split_bps": scval.to_uint32(split_bps),
            "stream_id": _u(stream_id),
            "timestamp": _u(now),
        }
    )
    return encode(stream_topics(stream_id, "split"), value)


# --- V2 contract-wide events ---


def contract_event(action: str, address: str, data: Sequence[x.SCVal], now: int) -> Encoded:
    """Any contract-wide V2 event: topics ``[Symbol action, Address]``, NebulaEvent payload with
    ``data`` as given (e.g. ``fee_out``, ``adm_xfer``, ``emergency``)."""
    topics = [scval.to_symbol(action), _a(address)]
    return encode(topics, nebula_value(action, data, now))


def v2_pause(admin: str, now: int) -> Encoded:
    """V2 ``[pause, admin]``: the whole contract is paused."""
    return contract_event("pause", admin, [_a(admin), _u(now)], now)


def v2_unpause(admin: str, now: int) -> Encoded:
    """V2 ``[unpause, admin]``."""
    return contract_event("unpause", admin, [_a(admin), _u(now)], now)


def btch_crt(sender: str, count: int, total_net: int, now: int) -> Encoded:
    """V2 ``[btch_crt, sender]``: after the batch's per-stream ``create_v2`` events."""
    data = [_a(sender), scval.to_uint32(count), _i(total_net), _u(now)]
    return contract_event("btch_crt", sender, data, now)


# --- V1 (legacy) events ---


def v1_create(
    stream_id: int,
    sender: str,
    receiver: str,
    token: str,
    total_amount: int,
    start_time: int,
    end_time: int,
    now: int,
) -> Encoded:
    """V1 ``[create, sender]`` with a StreamCreatedEvent struct."""
    value = struct(
        {
            "stream_id": _u(stream_id),
            "sender": _a(sender),
            "receiver": _a(receiver),
            "token": _a(token),
            "total_amount": _i(total_amount),
            "start_time": _u(start_time),
            "end_time": _u(end_time),
            "timestamp": _u(now),
        }
    )
    return encode([scval.to_symbol("create"), _a(sender)], value)


def v1_proposal(
    proposal_id: int,
    sender: str,
    receiver: str,
    token: str,
    total_amount: int,
    start_time: int,
    end_time: int,
    now: int,
) -> Encoded:
    """V1 ``[create, sender]`` (same topic!) with a ProposalCreatedEvent: ``proposal_id``."""
    value = struct(
        {
            "proposal_id": _u(proposal_id),
            "sender": _a(sender),
            "receiver": _a(receiver),
            "token": _a(token),
            "total_amount": _i(total_amount),
            "start_time": _u(start_time),
            "end_time": _u(end_time),
            "timestamp": _u(now),
        }
    )
    return encode([scval.to_symbol("create"), _a(sender)], value)


def v1_topup(
    stream_id: int, sender: str, amount: int, new_total: int, new_end_time: int, now: int
) -> Encoded:
    """V1 ``[topup, U64 id]``."""
    value = struct(
        {
            "stream_id": _u(stream_id),
            "sender": _a(sender),
            "amount": _i(amount),
            "new_total": _i(new_total),
            "new_end_time": _u(new_end_time),
            "timestamp": _u(now),
        }
    )
    return encode([scval.to_symbol("topup"), _u(stream_id)], value)


def v1_pause(stream_id: int, pauser: str, now: int) -> Encoded:
    """V1 ``[pause, U64 id]``: one stream paused."""
    value = struct({"stream_id": _u(stream_id), "pauser": _a(pauser), "timestamp": _u(now)})
    return encode([scval.to_symbol("pause"), _u(stream_id)], value)


def v1_resume(stream_id: int, resumer: str, paused_duration: int, now: int) -> Encoded:
    """V1 ``[resume, U64 id]``."""
    value = struct(
        {
            "stream_id": _u(stream_id),
            "resumer": _a(resumer),
            "paused_duration": _u(paused_duration),
            "timestamp": _u(now),
        }
    )
    return encode([scval.to_symbol("resume"), _u(stream_id)], value)


# --- raw events ---


def raw_event(
    topics: Sequence[str],
    value: str,
    *,
    contract_id: str,
    ledger: int,
    tx_hash: str,
    tx_index: int = 1,
    op_index: int = 0,
    event_index: int = 0,
    closed_at: datetime | None = None,
    in_successful_call: bool = True,
) -> RawEvent:
    """Wrap encoded topics and value in a :class:`RawEvent`.

    ``closed_at`` defaults to ``EPOCH + 5 s * ledger``, so it is deterministic and monotonic.
    """
    return RawEvent(
        contract_id=contract_id,
        ledger=ledger,
        ledger_closed_at=closed_at or EPOCH + timedelta(seconds=5 * ledger),
        tx_hash=tx_hash,
        tx_index=tx_index,
        op_index=op_index,
        event_index=event_index,
        topic_xdr=tuple(topics),
        value_xdr=value,
        in_successful_call=in_successful_call,
    )


def xdr_json(b64: str) -> Any:
    """A base64 SCVal in XDR-JSON (SEP-51), as stellar_sdk writes it."""
    return x.SCVal.from_xdr(b64).to_json_dict()


def as_json(raw: RawEvent) -> RawEvent | None:
    """``raw`` as an RPC node answers with ``xdrFormat: "json"`` (XDR-JSON by stellar_sdk), or
    None when its XDR has no XDR-JSON form (invalid XDR: a JSON node could not send it)."""
    try:
        topics = tuple(jsontext.dumps(xdr_json(t)) for t in raw.topic_xdr)
        value = jsontext.dumps(xdr_json(raw.value_xdr))
    except Exception:
        return None
    return dataclasses.replace(raw, topic_xdr=(), value_xdr="", topic_json=topics, value_json=value)
