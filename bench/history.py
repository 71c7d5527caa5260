"""A large, realistic, deterministic StellarStream history for the sync benchmark.

Every StellarStream event sits in a transaction whose token-transfer event (the token's SAC
``transfer``) precedes it, as on chain: the contract event is ``event_index`` 1 (2 after a
cancel's two transfers). Per stream: ``create_v2`` (5% with an invoice-slug memo, followed by
``split_exec``), 1-3 ``claim``s, often a ``top_up`` (or ``benefic`` / ``meta_wdrw`` / ``refill``),
and for a third of the streams a final ``cancel`` or ``archived``. Four streams start per
ledger; big amounts (> 2**63) on every 7th stream. That is :func:`generate`, the "deep" shape.

:func:`generate_wide` is the "wide" shape: many more streams at once, few events each. 50,000
streams by default, 40 starting per ledger, each ``create_v2`` then 3 or 4 events in all: one or
two ``claim``s and, for 60% of them, a final ``cancel`` (else a last ``claim``), each within
3,000 ledgers of the stream's start: ~185,000 events over ~4,300 ledgers, so that a batch
touches thousands of distinct streams and nearly every event folds onto a stored row.

Encoding 400,000 events with stellar_sdk takes about a minute, so each event kind is encoded once
by the test suite's builders (``tests.support.contract_events``) with sentinel arguments; an
event is that template with the sentinels' fixed-width XDR (u64, i128, a 32-byte account key, a
22-byte symbol) replaced by its own values. :func:`verify` re-encodes samples with the builders
(byte-identical), and the benchmark decodes every event and compares it with
:attr:`History.expected`.
"""

from __future__ import annotations

import base64
import random
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stellar_sdk import StrKey, scval
from tests.support import contract_events as ce
from tests.support.stellar_rpc import Chain, ChainEvent

from stellarstream.chain import events as ev
from stellarstream.chain.types import RawEvent

CONTRACT = ce.V2_CONTRACT
TOKEN = ce.TOKEN
ASSET = "USDC:" + ce.account(250)
FIRST_LEDGER = 1_000
CREATES_PER_LEDGER = 4
EPOCH_UNIX = int(ce.EPOCH.timestamp())

Encoded = tuple[tuple[str, ...], str]

# --- templates -------------------------------------------------------------------------------

_U64 = [0xF1E2D3C4B5A69700 + i for i in range(8)]
_I128 = [(0x0A1B2C3D4E5F6000 + i) << 64 | (0x1F2E3D4C5B6A7900 + i) for i in range(4)]
_ACCOUNTS = [StrKey.encode_ed25519_public_key(bytes([0xE7] * 31 + [i])) for i in range(4)]
_MEMO = "Zq" * 10 + "Zx"  # 22 characters, like an invoice slug


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _i128(value: int) -> bytes:
    return struct.pack(">qQ", value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF)


def _account(address: str) -> bytes:
    return bytes(StrKey.decode_ed25519_public_key(address))


_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "u64": _u64,
    "i128": _i128,
    "account": _account,
    "memo": lambda memo: str(memo).encode("ascii"),
}


@dataclass(frozen=True)
class Template:
    """One event kind encoded with sentinels; :meth:`fill` swaps in real values."""

    topics: tuple[bytes, ...]
    value: bytes
    slots: tuple[tuple[bytes, str] | None, ...]  # per argument; None: a fixed argument

    def fill(self, args: tuple[Any, ...]) -> Encoded:
        swaps = [
            (slot[0], _ENCODERS[slot[1]](arg))
            for slot, arg in zip(self.slots, args, strict=True)
            if slot is not None
        ]
        topics = tuple(base64.b64encode(_swap(t, swaps)).decode() for t in self.topics)
        return topics, base64.b64encode(_swap(self.value, swaps)).decode()


def _swap(data: bytes, swaps: list[tuple[bytes, bytes]]) -> bytes:
    for pattern, replacement in swaps:
        data = data.replace(pattern, replacement)
    return data


def _template(builder: Callable[..., ce.Encoded], *args: Any) -> Template:
    """Encode ``builder(*args)``; every argument is a sentinel except the fixed token."""
    topics, value = builder(*args)
    raw_topics = tuple(base64.b64decode(t) for t in topics)
    raw_value = base64.b64decode(value)
    slots: list[tuple[bytes, str] | None] = []
    for arg in args:
        if arg == TOKEN:
            slots.append(None)
            continue
        if arg in _U64:
            slot = (_u64(arg), "u64")
        elif arg in _I128:
            slot = (_i128(arg), "i128")
        elif arg in _ACCOUNTS:
            slot = (_account(arg), "account")
        elif arg == _MEMO:
            slot = (_MEMO.encode(), "memo")
        else:
            raise ValueError(f"not a sentinel: {arg!r}")
        if not any(slot[0] in part for part in (*raw_topics, raw_value)):
            raise AssertionError(f"sentinel {arg!r} not found in {builder.__name__}")
        slots.append(slot)
    return Template(raw_topics, raw_value, tuple(slots))


U, N, A = _U64, _I128, _ACCOUNTS  # sentinels: u64, i128 (numbers), accounts

# kind -> (builder, its sentinel arguments, the domain event the arguments decode to)
_KINDS: dict[str, tuple[Callable[..., ce.Encoded], tuple[Any, ...], Callable[..., Any]]] = {
    "create_v2": (
        ce.create_v2,
        (U[0], A[0], A[1], TOKEN, N[0], U[1], U[2], U[3], U[4]),
        lambda *a: ev.StreamCreated(*a, None, True),
    ),
    "create_v2_memo": (
        ce.create_v2,
        (U[0], A[0], A[1], TOKEN, N[0], U[1], U[2], U[3], U[4], _MEMO),
        lambda *a: ev.StreamCreated(*a, True),
    ),
    "split_exec": (ce.split_exec, (U[0], A[0], A[1], N[0], _MEMO, U[1]), ev.SplitExecuted),
    "claim": (ce.claim, (U[0], A[0], N[0], N[1], U[1]), ev.Withdrawn),
    "top_up": (ce.top_up, (U[0], A[0], N[0], N[1], U[1], U[2]), ev.ToppedUp),
    "benefic": (ce.benefic, (U[0], A[0], A[1], U[1]), ev.BeneficiaryTransferred),
    "meta_wdrw": (ce.meta_wdrw, (U[0], A[0], N[0], N[1], U[1]), ev.MetaWithdrawn),
    "refill": (ce.refill, (U[0], A[0], N[0], U[1], U[2], U[3]), ev.Refilled),
    "cancel": (ce.cancel, (U[0], A[0], N[0], N[1], U[1]), ev.Canceled),
    "archived": (ce.archived, (U[0], N[0], N[1], A[0], U[1]), ev.Archived),
}


def _transfer(from_: str, to: str, amount: int) -> ce.Encoded:
    """A SAC ``transfer`` event (CAP-67): [transfer, from, to, asset], i128 amount."""
    topics = [
        scval.to_symbol("transfer"),
        scval.to_address(from_),
        scval.to_address(to),
        scval.to_string(ASSET),
    ]
    return ce.encode(topics, scval.to_int128(amount))


class _Transfers:
    """Transfer events: address topics cached per address, the amount through a template."""

    def __init__(self) -> None:
        topics, value = _transfer(CONTRACT, CONTRACT, _I128[0])
        self._symbol, self._asset = topics[0], topics[3]
        self._value = base64.b64decode(value)
        self._addresses: dict[str, str] = {}

    def fill(self, from_: str, to: str, amount: int) -> Encoded:
        topics = (self._symbol, self._address(from_), self._address(to), self._asset)
        value = self._value.replace(_i128(_I128[0]), _i128(amount))
        return topics, base64.b64encode(value).decode()

    def _address(self, address: str) -> str:
        cached = self._addresses.get(address)
        if cached is None:
            cached = self._addresses[address] = scval.to_address(address).to_xdr()
        return cached


# --- the history -----------------------------------------------------------------------------


@dataclass
class History:
    """The chain (StellarStream's and the token's events) and what decoding must give."""

    chain: Chain
    expected: list[ev.DomainEvent]  # the StellarStream events, decoded, in chain order
    first_ledger: int
    last_ledger: int
    streams: int
    samples: list[tuple[str, tuple[Any, ...], Encoded]] = field(default_factory=list)

    def raw_events(self) -> list[RawEvent]:
        """The StellarStream events as a correct RPC client parses them, in chain order."""
        return self.chain.raw_events([CONTRACT], self.first_ledger, self.last_ledger)

    @property
    def events(self) -> int:
        return len(self.expected)


@dataclass
class _Tx:
    ledger: int
    order: int  # inside a ledger: by stream, then step
    events: list[tuple[str, Encoded]]  # (contract id, encoded)
    decoded: list[ev.DomainEvent]


class _Builder:
    def __init__(self) -> None:
        self.templates = {kind: _template(b, *args) for kind, (b, args, _) in _KINDS.items()}
        self.transfers = _Transfers()
        self.txs: list[_Tx] = []
        self.samples: list[tuple[str, tuple[Any, ...], Encoded]] = []
        self.count = 0

    def tx(
        self,
        ledger: int,
        order: int,
        transfers: list[tuple[str, str, int]],
        *calls: tuple[str, tuple[Any, ...]],
    ) -> None:
        events = [(TOKEN, self.transfers.fill(*t)) for t in transfers]
        decoded = []
        for kind, args in calls:
            encoded = self.templates[kind].fill(args)
            events.append((CONTRACT, encoded))
            decoded.append(_KINDS[kind][2](*args))
            if self.count % 997 == 0 or kind not in {s[0] for s in self.samples[:10]}:
                self.samples.append((kind, args, encoded))
            self.count += 1
        self.txs.append(_Tx(ledger, order, events, decoded))


def generate(n_events: int, seed: int = 2026) -> History:
    """At least ``n_events`` StellarStream events (whole streams), deterministic for ``seed``."""
    b = _Builder()
    accounts = [ce.account(1 + i) for i in range(150)]
    senders, receivers = accounts[:50], accounts[50:147]
    rng = random.Random(seed)
    sid = 0
    while b.count < n_events:
        created = FIRST_LEDGER + sid // CREATES_PER_LEDGER
        sender, receiver = senders[sid % 50], receivers[sid % 97]
        amount = 10**12 + sid * 1_000 if sid % 7 else 2**64 + sid
        now = _now(created)
        start, end = now + 60, now + 60 + 86_400 * (1 + sid % 30)
        create = (sid, sender, receiver, TOKEN, amount, start, start, end, now)
        funding = [(sender, CONTRACT, amount)]
        if rng.random() < 0.05:
            memo = "".join(rng.choice(_ALPHABET) for _ in range(22))
            split = (sid, sender, receiver, amount, memo, now)
            b.tx(
                created,
                sid * 8,
                funding,
                ("create_v2_memo", (*create, memo)),
                ("split_exec", split),
            )
        else:
            b.tx(created, sid * 8, funding, ("create_v2", create))
        ledger, step, withdrawn, total, beneficiary = created, 0, 0, amount, receiver

        def later(sid: int = sid) -> tuple[int, int, int]:
            nonlocal ledger, step
            ledger, step = ledger + 1 + rng.randrange(600), step + 1
            return ledger, sid * 8 + step, _now(ledger)

        for _ in range(1 + rng.randrange(3)):
            at, order, t = later()
            gross = total // 10
            withdrawn += gross
            claim = (sid, beneficiary, gross, withdrawn, t)
            b.tx(at, order, [(CONTRACT, beneficiary, gross)], ("claim", claim))
        at, order, t = later()
        roll = rng.random()
        if roll < 0.30:
            end += 86_400
            top_up = (sid, sender, amount, total + amount, end, t)
            b.tx(at, order, [(sender, CONTRACT, amount)], ("top_up", top_up))
            total += amount
        elif roll < 0.35:
            new = receivers[(sid + 7) % 97]
            b.tx(at, order, [], ("benefic", (sid, beneficiary, new, t)))
            beneficiary = new
        elif roll < 0.39:
            fee, net = 1_000, total // 20 - 1_000
            withdrawn += net + fee
            b.tx(
                at,
                order,
                [(CONTRACT, beneficiary, net)],
                ("meta_wdrw", (sid, beneficiary, net, fee, t)),
            )
        elif roll < 0.42:
            refill = (sid, sender, amount, end, end + 86_400, t)
            b.tx(at, order, [(sender, CONTRACT, amount)], ("refill", refill))
            end, total, withdrawn = end + 86_400, amount, 0
        at, order, t = later()
        roll = rng.random()
        if roll < 0.20:
            to_receiver = (total - withdrawn) // 3
            to_sender = total - withdrawn - to_receiver
            pays = [(CONTRACT, beneficiary, to_receiver), (CONTRACT, sender, to_sender)]
            b.tx(at, order, pays, ("cancel", (sid, sender, to_receiver, to_sender, t)))
        elif roll < 0.35:
            b.tx(at, order, [], ("archived", (sid, total, withdrawn, sender, t)))
        sid += 1
    return _assemble(b, sid)


WIDE_CREATES_PER_LEDGER = 40


def generate_wide(n_streams: int = 50_000, seed: int = 2026) -> History:
    """The wide shape: ``n_streams`` streams of 3-4 events each, deterministic for ``seed``."""
    b = _Builder()
    accounts = [ce.account(1 + i) for i in range(150)]
    senders, receivers = accounts[:50], accounts[50:147]
    rng = random.Random(seed)
    for sid in range(n_streams):
        created = FIRST_LEDGER + sid // WIDE_CREATES_PER_LEDGER
        sender, receiver = senders[sid % 50], receivers[sid % 97]
        amount = 10**12 + sid * 1_000 if sid % 7 else 2**64 + sid
        now = _now(created)
        start, end = now + 60, now + 60 + 86_400 * (1 + sid % 30)
        create = (sid, sender, receiver, TOKEN, amount, start, start, end, now)
        b.tx(created, sid * 8, [(sender, CONTRACT, amount)], ("create_v2", create))
        events = 3 if rng.random() < 0.30 else 4  # in all, the creation included
        cancel = rng.random() < 0.60
        ledger, withdrawn = created, 0
        for step in range(1, events):
            ledger += 1 + rng.randrange(1_000)
            t = _now(ledger)
            if step == events - 1 and cancel:
                to_receiver = (amount - withdrawn) // 3
                to_sender = amount - withdrawn - to_receiver
                pays = [(CONTRACT, receiver, to_receiver), (CONTRACT, sender, to_sender)]
                call = ("cancel", (sid, sender, to_receiver, to_sender, t))
                b.tx(ledger, sid * 8 + step, pays, call)
            else:
                gross = amount // 10
                withdrawn += gross
                claim = (sid, receiver, gross, withdrawn, t)
                b.tx(ledger, sid * 8 + step, [(CONTRACT, receiver, gross)], ("claim", claim))
    return _assemble(b, n_streams)


def _assemble(b: _Builder, streams: int) -> History:
    """Put the transactions in chain order: ledger, then apply order (tx_index from 1)."""
    b.txs.sort(key=lambda tx: (tx.ledger, tx.order))
    last = b.txs[-1].ledger
    chain = Chain(latest_ledger=last + 10, oldest_ledger=1)
    expected: list[ev.DomainEvent] = []
    tx_index, previous = 0, -1
    for number, tx in enumerate(b.txs, start=1):
        tx_index = tx_index + 1 if tx.ledger == previous else 1
        previous = tx.ledger
        tx_hash = f"{number:064x}"
        for event_index, (contract_id, (topics, value)) in enumerate(tx.events):
            chain.add_event(
                ChainEvent(
                    contract_id=contract_id,
                    ledger=tx.ledger,
                    tx_hash=tx_hash,
                    tx_index=tx_index,
                    op_index=0,
                    event_index=event_index,
                    topic=topics,
                    value=value,
                )
            )
        expected.extend(tx.decoded)
    return History(chain, expected, FIRST_LEDGER, last, streams, b.samples)


_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _now(ledger: int) -> int:
    """Ledger close time in Unix seconds, as the fake chain closes ledgers (every 5 s)."""
    return EPOCH_UNIX + 5 * ledger


def verify(history: History) -> int:
    """Re-encode sampled events with the test builders: the bytes must be identical."""
    transfers = _Transfers()
    for kind, args, encoded in history.samples:
        topics, value = _KINDS[kind][0](*args)
        if (tuple(topics), value) != encoded:
            raise AssertionError(f"template {kind!r} differs from its builder for {args}")
    for from_, to, amount in ((ce.account(3), CONTRACT, 2**64 + 5), (CONTRACT, ce.account(9), 7)):
        topics, value = _transfer(from_, to, amount)
        if (tuple(topics), value) != transfers.fill(from_, to, amount):
            raise AssertionError("transfer template differs from stellar_sdk's encoding")
    return len(history.samples) + 2
