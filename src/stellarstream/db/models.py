"""SQLAlchemy models: the whole schema, created only through Alembic migrations.

Tables: ``invoice_links`` and ``idempotency_keys`` (invoice links), ``contract_events`` (every
contract event once, the "sync store"), ``streams`` (the projection, rebuildable from events) and
``sync_state`` (the checkpoint per contract and source); ``payment_requests`` (transactions
prepared for payers); ``webhook_endpoints``,
``webhook_deliveries`` (the outbox), ``webhook_attempts`` (every attempt of each delivery) and
``webhook_sweeps`` (webhooks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stellarstream.db.types import Amount, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ADDRESS = String(69)  # G/C are 56 chars, M (muxed) 69

PAUSE_EVENT_TYPES = ("pause", "unpause")  # V2's contract-wide pause state
_PAUSE_PREDICATE = "event_type IN (" + ", ".join(f"'{t}'" for t in PAUSE_EVENT_TYPES) + ")"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class InvoiceLink(Base):
    """A shareable request to be paid by a stream."""

    __tablename__ = "invoice_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    sender: Mapped[str] = mapped_column(ADDRESS)
    receiver: Mapped[str] = mapped_column(ADDRESS)
    amount: Mapped[int] = mapped_column(Amount)
    token_address: Mapped[str] = mapped_column(ADDRESS)
    duration: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(String(500))
    pdf_url: Mapped[str | None] = mapped_column(String(2048))
    xdr_params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stream_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(64))
    completed_by: Mapped[str | None] = mapped_column(String(8))  # "chain" | "issuer"
    # The last payment the chain rejected (the link is payable again):
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    failed_tx_hash: Mapped[str | None] = mapped_column(String(64))
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_invoice_links_sender_created", "sender", "created_at", "id"),)


class PaymentRequest(Base):
    """A ``create_stream`` the server prepared for a payer of a link: what a signed envelope
    submitted for that link must be, to the byte (its hash covers every field)."""

    __tablename__ = "payment_requests"

    tx_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    invoice_link_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("invoice_links.id", ondelete="CASCADE")
    )
    payer: Mapped[str] = mapped_column(ADDRESS)
    envelope_xdr: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_payment_requests_link_created", "invoice_link_id", "created_at"),)


class UsedChallenge(Base):
    """A SEP-10 challenge already exchanged for a token: each is good for one token. Kept until
    the challenge's own time bounds end (after that it is refused as expired anyway)."""

    __tablename__ = "sep10_used_challenges"

    tx_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # of the challenge
    account: Mapped[str] = mapped_column(ADDRESS)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """A replayable response for a client-chosen ``Idempotency-Key`` (per account)."""

    __tablename__ = "idempotency_keys"

    account: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response_body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ContractEventRow(Base):
    """The stored row of one contract event, kept once whatever source delivered it."""

    __tablename__ = "contract_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    contract_id: Mapped[str] = mapped_column(String(56))
    ledger: Mapped[int] = mapped_column(BigInteger)
    ledger_closed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tx_hash: Mapped[str] = mapped_column(String(64))
    tx_index: Mapped[int] = mapped_column(Integer)
    op_index: Mapped[int] = mapped_column(Integer)
    event_index: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(32))
    stream_id: Mapped[int | None] = mapped_column(BigInteger)
    # The form the source delivered: base64 XDR, or XDR-JSON {"topic": [...], "value": ...}
    topic_xdr: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    value_xdr: Mapped[str | None] = mapped_column(Text)
    raw_json: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    decoded: Mapped[Any] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("tx_hash", "event_index", name="uq_contract_events_tx_event"),
        Index(
            "ix_contract_events_stream_order",
            "contract_id",
            "stream_id",
            "ledger",
            "tx_index",
            "op_index",
            "event_index",
        ),
        Index("ix_contract_events_order", "ledger", "tx_index", "op_index", "event_index"),
        # The latest pause/unpause of a contract is one probe (streams.service.paused_contracts),
        # however many other contract-wide events (btch_crt) the contract has.
        Index(
            "ix_contract_events_pause",
            "contract_id",
            "ledger",
            "tx_index",
            "op_index",
            "event_index",
            postgresql_where=text(_PAUSE_PREDICATE),
            sqlite_where=text(_PAUSE_PREDICATE),
        ),
    )


class Stream(Base):
    """Projected state of one on-chain stream: a pure function of its events."""

    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    contract_id: Mapped[str] = mapped_column(String(56))
    stream_id: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(SmallInteger)
    sender: Mapped[str] = mapped_column(ADDRESS)
    receiver: Mapped[str] = mapped_column(ADDRESS)
    beneficiary: Mapped[str] = mapped_column(ADDRESS)
    token: Mapped[str] = mapped_column(ADDRESS)
    total_amount: Mapped[int] = mapped_column(Amount)
    withdrawn_amount: Mapped[int] = mapped_column(Amount)
    start_time: Mapped[int] = mapped_column(BigInteger)
    cliff_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int] = mapped_column(BigInteger)
    curve_type: Mapped[int] = mapped_column(SmallInteger, default=0)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[int | None] = mapped_column(BigInteger)
    cancel_to_receiver: Mapped[int | None] = mapped_column(Amount)
    cancel_to_sender: Mapped[int | None] = mapped_column(Amount)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    archived_at: Mapped[int | None] = mapped_column(BigInteger)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_at: Mapped[int | None] = mapped_column(BigInteger)
    memo: Mapped[str | None] = mapped_column(String(32), index=True)
    yield_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    vault_address: Mapped[str | None] = mapped_column(ADDRESS)
    created_ledger: Mapped[int] = mapped_column(BigInteger)
    created_tx: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_ledger: Mapped[int] = mapped_column(BigInteger)

    # Keyset pages: every list filter has an index ending in its sort key and the id.
    __table_args__ = (
        UniqueConstraint("contract_id", "stream_id", name="uq_streams_contract_stream"),
        Index("ix_streams_created", "created_ledger", "id"),
        Index("ix_streams_end", "end_time", "id"),
        Index("ix_streams_amount", "total_amount", "id"),
        Index("ix_streams_sender_created", "sender", "created_ledger", "id"),
        Index("ix_streams_receiver_created", "receiver", "created_ledger", "id"),
        Index("ix_streams_token_created", "token", "created_ledger", "id"),
    )


class StreamTotal(Base):
    """Counts and sums of ``streams`` rows, kept in the transaction that changes them.

    One row per (contract, token, version, state, end day): ``state`` is ``archived``,
    ``canceled``, ``paused`` (the stream's own pause) or ``live``; ``end_day`` (UTC day of
    ``end_time``) splits live streams so that ``/stats`` tells ACTIVE from COMPLETED at any
    instant by reading these rows and only the streams ending today (``streams.totals``).
    """

    __tablename__ = "stream_totals"

    contract_id: Mapped[str] = mapped_column(String(56), primary_key=True)
    token: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    version: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(8), primary_key=True)
    end_day: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 0 unless live
    streams: Mapped[int] = mapped_column(BigInteger)
    total_amount: Mapped[int] = mapped_column(Amount)
    withdrawn_amount: Mapped[int] = mapped_column(Amount)


class StreamParty(Base):
    """How many streams each address sends or receives (``/stats`` unique senders/receivers)."""

    __tablename__ = "stream_parties"

    role: Mapped[str] = mapped_column(String(8), primary_key=True)  # sender | receiver
    address: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    streams: Mapped[int] = mapped_column(BigInteger)


class SyncState(Base):
    """Checkpoint: the last ledger below which everything is stored, per contract and source."""

    __tablename__ = "sync_state"

    contract_id: Mapped[str] = mapped_column(String(56), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    ledger: Mapped[int] = mapped_column(BigInteger)
    cursor: Mapped[str | None] = mapped_column(String(64))
    latest_ledger: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncRange(Base):
    """Ledger ranges a historical sync has fully stored, per contract and source (merged)."""

    __tablename__ = "sync_ranges"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    contract_id: Mapped[str] = mapped_column(String(56))
    source: Mapped[str] = mapped_column(String(16))
    from_ledger: Mapped[int] = mapped_column(BigInteger)
    to_ledger: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sync_ranges_contract_from", "contract_id", "from_ledger"),)


class WebhookEndpoint(Base):
    """An issuer's HTTPS endpoint for invoice and stream notifications."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(ADDRESS, index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # The signing secret (whsec_...), encrypted (stellarstream.secretbox): never stored in clear.
    secret_encrypted: Mapped[str] = mapped_column(String(512))
    # After a rotation, the previous secret keeps signing (a second signature) until then.
    previous_secret_encrypted: Mapped[str | None] = mapped_column(String(512))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_types: Mapped[list[str] | None] = mapped_column(JSON)  # None: every event type
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """The outbox: one event for one endpoint, written in the transaction of the change.

    A worker claims due rows (``locked_until`` lease; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL),
    POSTs ``body``, and records the attempt; ``event_id`` is the receiver's idempotency key.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    endpoint_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent
    status: Mapped[str] = mapped_column(String(16))  # PENDING, DELIVERED, FAILED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A retry or replay asked for by the owner starts a new schedule: its retry window runs from
    # ``requeued_at`` and its backoff counts the attempts after ``attempts_at_requeue``.
    requeued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts_at_requeue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )


class WebhookAttempt(Base):
    """One attempt to deliver a delivery: when, how long, and what the receiver answered."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
    )
    attempt: Mapped[int] = mapped_column(Integer)  # the delivery's attempt number (1-based)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no HTTP answer
    response: Mapped[str | None] = mapped_column(String(1000))  # start of the body, or the error

    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)


class WebhookSweep(Base):
    """How far a periodic webhook sweep has looked (``invoice-expiry``: expiries up to then)."""

    __tablename__ = "webhook_sweeps"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    swept_to: Mapped[datetime] = mapped_column(UTCDateTime)


class TokenMetadata(Base):
    """What a token contract says of itself (SEP-41 ``symbol``, ``name``, ``decimals``), read by
    simulation and kept here so that pages and the API name tokens without asking the RPC.

    ``is_token`` is False when the contract answered but is not a token (the row then only
    records when it was checked). ``checked_at`` dates the last read; a failed read (RPC down)
    leaves no row, or the old one as it was.
    """

    __tablename__ = "token_metadata"

    contract_id: Mapped[str] = mapped_column(ADDRESS, primary_key=True)
    is_token: Mapped[bool] = mapped_column(Boolean)
    symbol: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(256))
    decimals: Mapped[int | None] = mapped_column(Integer)
    home_domain: Mapped[str | None] = mapped_column(String(255))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
