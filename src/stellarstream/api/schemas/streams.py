"""Stream read models. Amounts are decimal strings; times are Unix seconds (chain time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from stellarstream.api.schemas.common import AmountOut, ApiOut, TokenInfoOut
from stellarstream.streams.view import StreamStatus


class StreamOut(ApiOut):
    id: str = Field(description="Public id: '<contract id>-<on-chain stream id>'")
    contract: str
    stream_id: int
    version: int
    sender: str
    receiver: str
    beneficiary: str
    token: str
    token_info: TokenInfoOut = Field(description="The token's symbol, name and decimals")
    total_amount: AmountOut
    withdrawn_amount: AmountOut
    start_time: int
    cliff_time: int
    end_time: int
    status: StreamStatus
    streamed_amount: AmountOut = Field(description="Unlocked so far, computed at asOf")
    withdrawable_amount: AmountOut
    refundable_amount: AmountOut
    canceled_at: int | None
    cancel_to_receiver: AmountOut | None
    cancel_to_sender: AmountOut | None
    archived_at: int | None
    yield_enabled: bool
    memo: str | None
    invoice_slug: str | None
    created_ledger: int
    created_tx: str
    created_at: int
    updated_ledger: int
    as_of: int = Field(description="The time (Unix seconds) the computed amounts and status use")


class StreamList(ApiOut):
    data: list[StreamOut]
    next_cursor: str | None


class StreamEventOut(ApiOut):
    type: str
    ledger: int
    ledger_closed_at: datetime
    tx_hash: str
    tx_index: int
    op_index: int
    event_index: int
    decoded: dict[str, Any]


class StreamEventList(ApiOut):
    data: list[StreamEventOut]
    next_cursor: str | None


class StreamHistory(ApiOut):
    stream: StreamOut
    events: list[StreamEventOut]


class YieldOut(ApiOut):
    stream: str
    yield_enabled: bool
    estimate: bool = Field(default=True, description="Every figure is an estimate")
    vault: str | None
    apy_bps: int
    rate_source: str
    principal_locked: AmountOut
    accrued_estimate: AmountOut
    recipient: str | None
    as_of: int


class YieldProjectionOut(YieldOut):
    days: int
    projected_yield_estimate: AmountOut = Field(description="Over the next `days` days")
    projected_total_estimate: AmountOut = Field(description="Accrued since start by then")


class TokenStatsOut(ApiOut):
    token: str
    streams: int
    value_locked: AmountOut = Field(description="Deposited - withdrawn - refunded, live streams")
    total_volume: AmountOut


class StatsOut(ApiOut):
    total: int
    active: int
    completed: int
    canceled: int
    paused: int
    archived: int
    unique_senders: int
    unique_receivers: int
    tokens: list[TokenStatsOut]
    indexer_latest_ledger: int | None
    network_latest_ledger: int | None
    lag_ledgers: int | None
    as_of: int = Field(
        description="When the counts and amounts were computed (Unix seconds): at most the"
        " server's STATS_MAX_AGE_SECONDS ago; the ledgers and lag are read per request"
    )


class SearchHit(ApiOut):
    match: str = Field(description="id, tx, address, token or address_prefix (rank order)")
    stream: StreamOut


class SearchResults(ApiOut):
    data: list[SearchHit]
    next_cursor: str | None


class ContractSyncOut(ApiOut):
    contract: str
    last_ingested_ledger: int | None
    network_latest_ledger: int | None
    lag_ledgers: int | None
    lag_seconds: int | None = Field(description="lag_ledgers x ~5 s average ledger close")
    updated_at: datetime | None
    gaps: list[list[int]] = Field(
        default_factory=list,
        description="Ledger ranges [from, to] missing between the lowest and highest stored",
    )


class SyncStatusOut(ApiOut):
    contracts: list[ContractSyncOut]
