"""``NebulaClient`` and ``AsyncNebulaClient``: the StellarStream API and contract calls."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import httpx

from ._base_client import AsyncAPIClient, SyncAPIClient
from ._constants import (
    DEFAULT_BASE_FEE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NETWORK_PASSPHRASES,
    NETWORK_RPC_URLS,
    POLL_ATTEMPTS,
    POLL_INTERVAL,
)
from ._exceptions import NebulaError
from ._types import Timeout
from ._utils import check_address
from .lib.contract import AsyncContractRunner, ContractRunner
from .lib.rpc import AsyncSorobanRpc, SorobanRpc
from .resources.auth import AsyncAuth, Auth
from .resources.invoice_links import AsyncInvoiceLinks, InvoiceLinks
from .resources.stats import (
    AsyncStatsResource,
    AsyncSyncStatusResource,
    StatsResource,
    SyncStatusResource,
)
from .resources.streams import AsyncStreams, Streams

__all__ = ["AsyncNebulaClient", "NebulaClient"]


class _ChainConfig:
    """Network settings for contract calls, resolved once (shared by both clients)."""

    def __init__(
        self,
        *,
        network: str,
        network_passphrase: str | None,
        rpc_url: str | None,
        contract_id: str | None,
    ) -> None:
        if network_passphrase is None:
            if network not in NETWORK_PASSPHRASES:
                raise ValueError(
                    f"network {network!r} is not one of {sorted(NETWORK_PASSPHRASES)}: "
                    "pass network_passphrase for a custom network"
                )
            network_passphrase = NETWORK_PASSPHRASES[network]
        self.network = network
        self.network_passphrase = network_passphrase
        self.rpc_url = rpc_url or NETWORK_RPC_URLS.get(network)
        self.contract_id = (
            None if contract_id is None else check_address(contract_id, "contract_id", "C")
        )

    def require_rpc_url(self) -> str:
        if not self.rpc_url:
            raise NebulaError(
                f"contract calls need a Stellar RPC endpoint: pass rpc_url= (network "
                f"{self.network!r} has no public default)"
            )
        return self.rpc_url

    def require_contract_id(self) -> str:
        if self.contract_id is None:
            raise NebulaError("contract calls need the StellarStream contract: pass contract_id=")
        return self.contract_id


class NebulaClient(SyncAPIClient):
    """The StellarStream API and the StellarStream contract, blocking.

    Usage::

        from nebula_sdk import NebulaClient
        from stellar_sdk import Keypair

        with NebulaClient("https://api.example.com", rpc_url="https://soroban-testnet.stellar.org",
                          contract_id="C...") as client:
            client.auth.login(Keypair.from_secret(secret))
            for stream in client.streams.list(sender=client_account):
                print(stream.id, stream.status, stream.withdrawable_amount)

    Parameters:
        base_url: the API's origin (``https://host``; a trailing ``/api/v1`` is accepted).
        token: a bearer token (or sign in with ``client.auth.login(keypair)``).
        rpc_url: Stellar RPC endpoint for contract calls (public default on testnet/futurenet).
        network: ``testnet``, ``mainnet`` or ``futurenet``; or pass ``network_passphrase``.
        contract_id: the StellarStream V2 contract (``C...``) for ``streams.create`` and calls
            by on-chain id.
        timeout: seconds (or an ``httpx.Timeout``) per HTTP request.
        max_retries: retries of failed requests (see ``_base_client``); 0 disables them.
        http_client: your own ``httpx.Client`` (proxies, transports); not closed by us.
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        token: str | None = None,
        rpc_url: str | None = None,
        network: str = "testnet",
        network_passphrase: str | None = None,
        contract_id: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        base_fee: int = DEFAULT_BASE_FEE,
        poll_interval: float = POLL_INTERVAL,
        poll_attempts: int = POLL_ATTEMPTS,
    ) -> None:
        super().__init__(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
        )
        self._chain = _ChainConfig(
            network=network,
            network_passphrase=network_passphrase,
            rpc_url=rpc_url,
            contract_id=contract_id,
        )
        self._base_fee = base_fee
        self._poll_interval = poll_interval
        self._poll_attempts = poll_attempts
        self._options: dict[str, Any] = {
            "rpc_url": rpc_url,
            "network": network,
            "network_passphrase": network_passphrase,
            "contract_id": contract_id,
            "default_headers": default_headers,
            "base_fee": base_fee,
            "poll_interval": poll_interval,
            "poll_attempts": poll_attempts,
        }

    @property
    def network_passphrase(self) -> str:
        return self._chain.network_passphrase

    @property
    def rpc_url(self) -> str | None:
        return self._chain.rpc_url

    @property
    def contract_id(self) -> str | None:
        return self._chain.contract_id

    @cached_property
    def streams(self) -> Streams:
        return Streams(self)

    @cached_property
    def invoice_links(self) -> InvoiceLinks:
        return InvoiceLinks(self)

    @cached_property
    def auth(self) -> Auth:
        return Auth(self)

    @cached_property
    def stats(self) -> StatsResource:
        return StatsResource(self)

    @cached_property
    def sync_status(self) -> SyncStatusResource:
        return SyncStatusResource(self)

    def with_options(
        self,
        *,
        token: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> NebulaClient:
        """A copy with some options changed, sharing this client's connection pool."""
        copy = NebulaClient(
            self.base_url,
            token=self.token if token is None else token,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            http_client=self._client,
            **self._options,
        )
        copy._sleep = self._sleep
        return copy

    def _require_contract_id(self) -> str:
        return self._chain.require_contract_id()

    def _contract_runner(self) -> ContractRunner:
        rpc = SorobanRpc(
            self._chain.require_rpc_url(),
            http_client=self._client,
            timeout=self.timeout,
            max_retries=self.max_retries,
            sleep=lambda seconds: self._sleep(seconds),
        )
        return ContractRunner(
            rpc,
            network_passphrase=self._chain.network_passphrase,
            base_fee=self._base_fee,
            sleep=lambda seconds: self._sleep(seconds),
            poll_interval=self._poll_interval,
            poll_attempts=self._poll_attempts,
        )

    def __repr__(self) -> str:
        # Never show the token.
        return f"NebulaClient(base_url={str(self.base_url)!r}, network={self._chain.network!r})"


class AsyncNebulaClient(AsyncAPIClient):
    """The async twin of :class:`NebulaClient`: the same resources and methods, awaited.

    Usage::

        async with AsyncNebulaClient("https://api.example.com") as client:
            page = await client.streams.list(limit=50)
            async for stream in page:
                ...
    """

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        token: str | None = None,
        rpc_url: str | None = None,
        network: str = "testnet",
        network_passphrase: str | None = None,
        contract_id: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        base_fee: int = DEFAULT_BASE_FEE,
        poll_interval: float = POLL_INTERVAL,
        poll_attempts: int = POLL_ATTEMPTS,
    ) -> None:
        super().__init__(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            http_client=http_client,
        )
        self._chain = _ChainConfig(
            network=network,
            network_passphrase=network_passphrase,
            rpc_url=rpc_url,
            contract_id=contract_id,
        )
        self._base_fee = base_fee
        self._poll_interval = poll_interval
        self._poll_attempts = poll_attempts
        self._options: dict[str, Any] = {
            "rpc_url": rpc_url,
            "network": network,
            "network_passphrase": network_passphrase,
            "contract_id": contract_id,
            "default_headers": default_headers,
            "base_fee": base_fee,
            "poll_interval": poll_interval,
            "poll_attempts": poll_attempts,
        }

    @property
    def network_passphrase(self) -> str:
        return self._chain.network_passphrase

    @property
    def rpc_url(self) -> str | None:
        return self._chain.rpc_url

    @property
    def contract_id(self) -> str | None:
        return self._chain.contract_id

    @cached_property
    def streams(self) -> AsyncStreams:
        return AsyncStreams(self)

    @cached_property
    def invoice_links(self) -> AsyncInvoiceLinks:
        return AsyncInvoiceLinks(self)

    @cached_property
    def auth(self) -> AsyncAuth:
        return AsyncAuth(self)

    @cached_property
    def stats(self) -> AsyncStatsResource:
        return AsyncStatsResource(self)

    @cached_property
    def sync_status(self) -> AsyncSyncStatusResource:
        return AsyncSyncStatusResource(self)

    def with_options(
        self,
        *,
        token: str | None = None,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
    ) -> AsyncNebulaClient:
        copy = AsyncNebulaClient(
            self.base_url,
            token=self.token if token is None else token,
            timeout=self.timeout if timeout is None else timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            http_client=self._client,
            **self._options,
        )
        copy._sleep = self._sleep
        return copy

    def _require_contract_id(self) -> str:
        return self._chain.require_contract_id()

    def _contract_runner(self) -> AsyncContractRunner:
        async def sleep(seconds: float) -> None:
            await self._sleep(seconds)

        rpc = AsyncSorobanRpc(
            self._chain.require_rpc_url(),
            http_client=self._client,
            timeout=self.timeout,
            max_retries=self.max_retries,
            sleep=sleep,
        )
        return AsyncContractRunner(
            rpc,
            network_passphrase=self._chain.network_passphrase,
            base_fee=self._base_fee,
            sleep=sleep,
            poll_interval=self._poll_interval,
            poll_attempts=self._poll_attempts,
        )

    def __repr__(self) -> str:
        return (
            f"AsyncNebulaClient(base_url={str(self.base_url)!r}, network={self._chain.network!r})"
        )
