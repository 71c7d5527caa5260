import { API_PREFIX } from "../core.js";
import type { NebulaClient } from "../client.js";
import { StatsSpec, SyncStatusSpec, type Stats, type SyncStatus } from "../types.js";

export class StatsResource {
  constructor(private readonly client: NebulaClient) {}

  /** Protocol-wide counts, value locked and volume per token, indexer freshness. */
  async retrieve(): Promise<Stats> {
    return this.client.request<Stats>({ method: "GET", path: `${API_PREFIX}/stats` }, StatsSpec);
  }
}

export class SyncStatusResource {
  constructor(private readonly client: NebulaClient) {}

  /** How far the indexer has ingested each contract. */
  async retrieve(): Promise<SyncStatus> {
    return this.client.request<SyncStatus>({ method: "GET", path: `${API_PREFIX}/sync/status` }, SyncStatusSpec);
  }
}
