"""Defaults shared by the sync and async clients (retry policy, timeouts, networks)."""

from __future__ import annotations

import httpx

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_FEE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "NETWORK_PASSPHRASES",
    "NETWORK_RPC_URLS",
    "POLL_ATTEMPTS",
    "POLL_INTERVAL",
    "START_BUFFER_SECONDS",
]

API_PREFIX = "/api/v1"

DEFAULT_TIMEOUT = httpx.Timeout(timeout=30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
"""Seconds before the first retry; doubles each time up to :data:`MAX_RETRY_DELAY`."""
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 60.0
"""A server's ``Retry-After`` is honoured up to this many seconds; beyond it we back off."""

NETWORK_PASSPHRASES = {
    "testnet": "Test SDF Network ; September 2015",
    "mainnet": "Public Global Stellar Network ; September 2015",
    "futurenet": "Test SDF Future Network ; October 2022",
}
NETWORK_RPC_URLS = {
    "testnet": "https://soroban-testnet.stellar.org",
    "futurenet": "https://rpc-futurenet.stellar.org",
}
"""Public RPC endpoints; mainnet has none: pass your provider's ``rpc_url``."""

DEFAULT_BASE_FEE = 100
"""Inclusion fee in stroops; simulation adds the resource fee on top."""
POLL_INTERVAL = 1.0
"""Seconds between ``getTransaction`` polls (ledgers close about every 5 s)."""
POLL_ATTEMPTS = 60
START_BUFFER_SECONDS = 30
"""``create_stream(duration=...)`` starts this long after the latest ledger's close time, so the
stream does not start in the past by the time the transaction lands a few ledgers later."""
