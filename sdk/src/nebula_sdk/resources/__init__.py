"""API resources: namespaces on the clients, sync and async twins side by side."""

from __future__ import annotations

from .auth import AsyncAuth, Auth
from .invoice_links import AsyncInvoiceLinks, InvoiceLinks
from .stats import AsyncStatsResource, AsyncSyncStatusResource, StatsResource, SyncStatusResource
from .streams import AsyncStreams, Streams

__all__ = [
    "AsyncAuth",
    "AsyncInvoiceLinks",
    "AsyncStatsResource",
    "AsyncStreams",
    "AsyncSyncStatusResource",
    "Auth",
    "InvoiceLinks",
    "StatsResource",
    "Streams",
    "SyncStatusResource",
]
