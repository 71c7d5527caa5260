"""Protocol statistics and the indexer's sync status."""

from __future__ import annotations

from .._constants import API_PREFIX
from .._resource import AsyncAPIResource, SyncAPIResource
from ..types.stats import Stats
from ..types.sync_status import SyncStatus

__all__ = ["AsyncStatsResource", "AsyncSyncStatusResource", "StatsResource", "SyncStatusResource"]


class StatsResource(SyncAPIResource):
    def retrieve(self) -> Stats:
        """Counts by status, value locked and volume per token, indexer freshness."""
        return self._get(f"{API_PREFIX}/stats", cast_to=Stats)


class AsyncStatsResource(AsyncAPIResource):
    async def retrieve(self) -> Stats:
        return await self._get(f"{API_PREFIX}/stats", cast_to=Stats)


class SyncStatusResource(SyncAPIResource):
    def retrieve(self) -> SyncStatus:
        """Per contract: last ingested ledger, the network's latest, and the lag."""
        return self._get(f"{API_PREFIX}/sync/status", cast_to=SyncStatus)


class AsyncSyncStatusResource(AsyncAPIResource):
    async def retrieve(self) -> SyncStatus:
        return await self._get(f"{API_PREFIX}/sync/status", cast_to=SyncStatus)
