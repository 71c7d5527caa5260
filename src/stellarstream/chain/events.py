"""Typed domain events decoded from StellarStream contract events.

One frozen dataclass per event kind of ``spec/stellarstream-contract-events.md``. Every class has
class-level ``kind`` (stable name, stored and used in JSON) and ``version`` (contract generation:
2, 1, or ``None`` for :class:`UnknownEvent`). Amounts are exact ``int`` (i128), times are u64 Unix
seconds, addresses are StrKey strings (G... / C...).

Stream ids are per contract: V1 and V2 ids are separate counters, so key streams by
``(contract_id, stream_id)``.

No ``__slots__``: events cross a pipe from the sync's worker (``ingest.backfill.prefetch``), and
a frozen dataclass with slots unpickles through a Python-level ``__setstate__``, twice as slow.
"""

# Longer than 450 lines: it is the catalogue of the spec's 25 event kinds, one short frozen
# dataclass each, read (and imported as ``ev.X``) as one list; the JSON form below is built from
# that same list. Cutting it by contract generation would split one table in two.

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

Json: TypeAlias = "bool | int | str | list[Json] | dict[str, Json] | None"


# --- V2 stream events: topics [U64 stream_id, Symbol action] ---


@dataclass(frozen=True)
class StreamCreated:
    """``create_v2``: a stream was created; ``amount`` is net of the protocol fee.

    ``has_memo_slot`` tells whether data item 9 was present (``create_stream`` emits it, batch
    creation, request approval and the token-receive bridge do not); ``memo`` is ``None`` when the
    slot is Void or absent.
    """

    kind: ClassVar[str] = "create_v2"
    version: ClassVar[int] = 2

    stream_id: int
    sender: str
    receiver: str
    token: str
    amount: int
    start_time: int
    cliff_time: int
    end_time: int
    timestamp: int
    memo: str | None
    has_memo_slot: bool


@dataclass(frozen=True)
class Withdrawn:
    """``claim``: ``amount`` (gross) withdrawn; ``withdrawn_total`` is the new cumulative total."""

    kind: ClassVar[str] = "claim"
    version: ClassVar[int] = 2

    stream_id: int
    beneficiary: str
    amount: int
    withdrawn_total: int
    timestamp: int


@dataclass(frozen=True)
class MetaWithdrawn:
    """``meta_wdrw``: a relayed withdrawal; the relayer kept ``relayer_fee``."""

    kind: ClassVar[str] = "meta_wdrw"
    version: ClassVar[int] = 2

    stream_id: int
    beneficiary: str
    to_receiver: int
    relayer_fee: int
    timestamp: int

    @property
    def gross(self) -> int:
        """Total withdrawn from the stream."""
        return self.to_receiver + self.relayer_fee


@dataclass(frozen=True)
class Canceled:
    """``cancel``: ``to_receiver`` is earned + penalty, ``to_sender`` the rest."""

    kind: ClassVar[str] = "cancel"
    version: ClassVar[int] = 2

    stream_id: int
    caller: str
    to_receiver: int
    to_sender: int
    timestamp: int


@dataclass(frozen=True)
class Archived:
    """``archived``: the stream was closed and deleted on-chain."""

    kind: ClassVar[str] = "archived"
    version: ClassVar[int] = 2

    stream_id: int
    total: int
    withdrawn: int
    caller: str
    timestamp: int


@dataclass(frozen=True)
class BeneficiaryTransferred:
    """``benefic``: the receiver changed from ``previous`` to ``new``."""

    kind: ClassVar[str] = "benefic"
    version: ClassVar[int] = 2

    stream_id: int
    previous: str
    new: str
    timestamp: int


@dataclass(frozen=True)
class ToppedUp:
    """``top_up``: total grows by ``extra`` to ``new_total``; end moves to ``new_end``."""

    kind: ClassVar[str] = "top_up"
    version: ClassVar[int] = 2

    stream_id: int
    sender: str
    extra: int
    new_total: int
    new_end: int
    timestamp: int


@dataclass(frozen=True)
class Refilled:
    """``refill``: a new period ``[new_start, new_end]``; withdrawn resets to 0."""

    kind: ClassVar[str] = "refill"
    version: ClassVar[int] = 2

    stream_id: int
    sender: str
    amount: int
    new_start: int
    new_end: int
    timestamp: int


@dataclass(frozen=True)
class Migrated:
    """``migrated``: V1 stream ``v1_id`` became V2 stream ``stream_id``."""

    kind: ClassVar[str] = "migrated"
    version: ClassVar[int] = 2

    stream_id: int
    v1_id: int
    caller: str
    amount: int
    timestamp: int

    @property
    def v2_id(self) -> int:
        return self.stream_id


@dataclass(frozen=True)
class BridgedIn:
    """``bridge_in``: follows the bridge's ``create_v2``; ``gross`` before the protocol fee."""

    kind: ClassVar[str] = "bridge_in"
    version: ClassVar[int] = 2

    stream_id: int
    from_address: str
    receiver: str
    gross: int
    duration: int
    timestamp: int


@dataclass(frozen=True)
class SplitExecuted:
    """``split_exec``: emitted by ``create_stream`` when a memo is set."""

    kind: ClassVar[str] = "split_exec"
    version: ClassVar[int] = 2

    stream_id: int
    sender: str
    receiver: str
    amount: int
    memo: str
    timestamp: int


@dataclass(frozen=True)
class RateAccepted:
    """``rate_accept``: the receiver accepted a new rate."""

    kind: ClassVar[str] = "rate_accept"
    version: ClassVar[int] = 2

    stream_id: int
    receiver: str
    new_rate: int
    new_end: int
    remaining: int
    timestamp: int


@dataclass(frozen=True)
class Dust:
    """``dust`` (plain struct payload): a withdrawal split left a remainder; precedes ``claim``."""

    kind: ClassVar[str] = "dust"
    version: ClassVar[int] = 2

    stream_id: int
    token: str
    to_withdraw: int
    dust_amount: int
    split_address: str
    split_amount: int
    split_bps: int
    timestamp: int


@dataclass(frozen=True)
class SplitConfigured:
    """``split`` (plain struct payload): ``split_stream`` set or cleared the split."""

    kind: ClassVar[str] = "split"
    version: ClassVar[int] = 2

    stream_id: int
    beneficiary: str
    split_address: str | None
    split_bps: int
    timestamp: int


# --- V2 contract-wide events: topics [Symbol action, ...] ---


@dataclass(frozen=True)
class ContractPaused:
    """``[pause, admin]``: the whole V2 contract is paused."""

    kind: ClassVar[str] = "pause"
    version: ClassVar[int] = 2

    admin: str
    timestamp: int


@dataclass(frozen=True)
class ContractUnpaused:
    """``[unpause, admin]``: the V2 contract runs again."""

    kind: ClassVar[str] = "unpause"
    version: ClassVar[int] = 2

    admin: str
    timestamp: int


@dataclass(frozen=True)
class BatchCreated:
    """``[btch_crt, sender]``: follows the batch's per-stream ``create_v2`` events."""

    kind: ClassVar[str] = "btch_crt"
    version: ClassVar[int] = 2

    sender: str
    count: int
    total_net: int
    timestamp: int


@dataclass(frozen=True)
class ContractEvent:
    """Any other well-formed V2 contract-wide NebulaEvent (``fee_out``, ``adm_xfer``, ...).

    Topics ``[Symbol action, ...]`` with a version-2 NebulaEvent whose ``action`` matches. Stored,
    not projected; ``topics`` and ``data`` are in the generic JSON form.
    """

    kind: ClassVar[str] = "v2_contract"
    version: ClassVar[int] = 2

    action: str
    topics: tuple[Json, ...]
    data: tuple[Json, ...]
    timestamp: int


# --- V1 (legacy) events: topics [Symbol, ...], struct map payloads ---


@dataclass(frozen=True)
class V1StreamCreated:
    """V1 ``[create, sender]`` with a StreamCreatedEvent payload."""

    kind: ClassVar[str] = "v1_create"
    version: ClassVar[int] = 1

    stream_id: int
    sender: str
    receiver: str
    token: str
    total_amount: int
    start_time: int
    end_time: int
    timestamp: int


@dataclass(frozen=True)
class V1ProposalCreated:
    """V1 ``[create, sender]`` with a ProposalCreatedEvent payload: not a stream, store only.

    ``fields`` holds the whole payload in the generic JSON form.
    """

    kind: ClassVar[str] = "v1_proposal"
    version: ClassVar[int] = 1

    proposal_id: int
    sender: str
    fields: dict[str, Json]


@dataclass(frozen=True)
class V1ToppedUp:
    """V1 ``[topup, id]``."""

    kind: ClassVar[str] = "v1_topup"
    version: ClassVar[int] = 1

    stream_id: int
    sender: str
    amount: int
    new_total: int
    new_end_time: int
    timestamp: int


@dataclass(frozen=True)
class V1Paused:
    """V1 ``[pause, id]``: one stream paused (unlike V2's contract-wide pause)."""

    kind: ClassVar[str] = "v1_pause"
    version: ClassVar[int] = 1

    stream_id: int
    pauser: str
    timestamp: int


@dataclass(frozen=True)
class V1Resumed:
    """V1 ``[resume, id]``."""

    kind: ClassVar[str] = "v1_resume"
    version: ClassVar[int] = 1

    stream_id: int
    resumer: str
    paused_duration: int
    timestamp: int


@dataclass(frozen=True)
class UnknownEvent:
    """Not a StellarStream event we project, or a known topic with a malformed payload.

    ``reason`` says which; ``topics`` and ``value`` are the generic JSON form (an entry is
    ``None`` when its XDR could not be decoded at all).
    """

    kind: ClassVar[str] = "unknown"
    version: ClassVar[int | None] = None

    reason: str
    topics: tuple[Json, ...]
    value: Json


V2StreamEvent: TypeAlias = (
    StreamCreated
    | Withdrawn
    | MetaWithdrawn
    | Canceled
    | Archived
    | BeneficiaryTransferred
    | ToppedUp
    | Refilled
    | Migrated
    | BridgedIn
    | SplitExecuted
    | RateAccepted
    | Dust
    | SplitConfigured
)
V1StreamEvent: TypeAlias = V1StreamCreated | V1ToppedUp | V1Paused | V1Resumed
StreamEvent: TypeAlias = V2StreamEvent | V1StreamEvent
DomainEvent: TypeAlias = (
    StreamEvent
    | ContractPaused
    | ContractUnpaused
    | BatchCreated
    | ContractEvent
    | V1ProposalCreated
    | UnknownEvent
)

STREAM_EVENT_TYPES: tuple[type[StreamEvent], ...] = (
    StreamCreated,
    Withdrawn,
    MetaWithdrawn,
    Canceled,
    Archived,
    BeneficiaryTransferred,
    ToppedUp,
    Refilled,
    Migrated,
    BridgedIn,
    SplitExecuted,
    RateAccepted,
    Dust,
    SplitConfigured,
    V1StreamCreated,
    V1ToppedUp,
    V1Paused,
    V1Resumed,
)
EVENT_TYPES: tuple[type[DomainEvent], ...] = (
    *STREAM_EVENT_TYPES,
    ContractPaused,
    ContractUnpaused,
    BatchCreated,
    ContractEvent,
    V1ProposalCreated,
    UnknownEvent,
)

# u32 fields stay JSON numbers; every other int (u64, i128) becomes a decimal string.
_U32_FIELDS = frozenset({"split_bps", "count"})
_DERIVED: dict[type[Any], tuple[str, ...]] = {MetaWithdrawn: ("gross",)}


def is_stream_event(event: DomainEvent) -> bool:
    """True for events that belong to one stream (V1 or V2) and so have ``stream_id``."""
    return isinstance(event, STREAM_EVENT_TYPES)


def stream_id_of(event: DomainEvent) -> int | None:
    """The stream an event belongs to, or ``None`` for contract-wide and unknown events."""
    return event.stream_id if isinstance(event, STREAM_EVENT_TYPES) else None


def to_json(event: DomainEvent) -> dict[str, Json]:
    """JSON-safe dict with ``kind`` and ``version``; u64 and i128 values as decimal strings."""
    out: dict[str, Json] = {"kind": event.kind, "version": event.version}
    # Names per class, looked up once, and the per-value rule inlined: this runs for every
    # stored event, and dataclasses.fields() plus a call per field were a visible share of a
    # sync's time.
    for name, u32 in _JSON_NAMES[type(event)]:
        value = getattr(event, name)
        # bool is an int subclass but must stay a JSON boolean.
        if isinstance(value, int) and not isinstance(value, bool) and not u32:
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


# Per class: the fields to_json writes (then the derived properties) with whether each is a u32
# (a JSON number), and how from_json reads each field back (1: an int stored as a decimal
# string, 2: a tuple stored as a list).
_JSON_NAMES: dict[type[Any], tuple[tuple[str, bool], ...]] = {
    cls: tuple(
        (name, name in _U32_FIELDS)
        for name in (*(f.name for f in dataclasses.fields(cls)), *_DERIVED.get(cls, ()))
    )
    for cls in EVENT_TYPES
}
_FROM_JSON: dict[str, tuple[type[Any], tuple[tuple[str, int], ...]]] = {
    cls.kind: (
        cls,
        tuple(
            (
                f.name,
                1 if str(f.type).startswith("int") else 2 if str(f.type).startswith("tuple") else 0,
            )
            for f in dataclasses.fields(cls)
        ),
    )
    for cls in EVENT_TYPES
}


def from_json(data: dict[str, Any]) -> DomainEvent:
    """Rebuild a domain event from :func:`to_json` output (the stored ``decoded`` column).

    Cheaper than decoding the XDR again, so projections can be rebuilt from stored events.
    """
    cls, fields = _FROM_JSON[str(data["kind"])]
    values: dict[str, Any] = {}
    for name, how in fields:
        value = data.get(name)
        if how == 1 and isinstance(value, str):
            value = int(value)
        elif how == 2 and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    event: DomainEvent = cls(**values)
    return event
