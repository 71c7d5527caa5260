"""Request and response types: one model per module, all re-exported here."""

from __future__ import annotations

from .auth_token import AuthToken
from .cancel_stream_params import CancelStreamParams
from .challenge import Challenge
from .contract_call_result import ContractCallResult
from .contract_sync import ContractSync
from .create_stream_params import CreateStreamParams
from .create_stream_result import CreateStreamResult
from .invoice_link import InvoiceLink
from .invoice_link_status import InvoiceLinkStatus
from .page import Page
from .prepared_transaction import PreparedTransaction
from .search_hit import SearchHit
from .stats import Stats
from .stream import Stream
from .stream_event import StreamEvent
from .stream_history import StreamHistory
from .stream_status import StreamStatus
from .sync_status import SyncStatus
from .token_info import TokenInfo
from .token_stats import TokenStats
from .top_up_params import TopUpParams
from .withdraw_params import WithdrawParams
from .withdraw_result import WithdrawResult
from .yield_data import YieldData
from .yield_projection import YieldProjection

__all__ = [
    "AuthToken",
    "CancelStreamParams",
    "Challenge",
    "ContractCallResult",
    "ContractSync",
    "CreateStreamParams",
    "CreateStreamResult",
    "InvoiceLink",
    "InvoiceLinkStatus",
    "Page",
    "PreparedTransaction",
    "SearchHit",
    "Stats",
    "Stream",
    "StreamEvent",
    "StreamHistory",
    "StreamStatus",
    "SyncStatus",
    "TokenInfo",
    "TokenStats",
    "TopUpParams",
    "WithdrawParams",
    "WithdrawResult",
    "YieldData",
    "YieldProjection",
]
