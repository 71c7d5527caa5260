"""A small Stellar RPC (JSON-RPC 2.0) client over httpx, sync and async, with retries.

We speak JSON-RPC ourselves rather than through ``stellar_sdk.SorobanServer`` so that both clients
share one HTTP stack, one timeout and one retry policy (and async needs no aiohttp). (The backend's
``stellarstream.chain.soroban.ContractRpc`` is the server's own client, with its errors; both build
and assemble transactions through :mod:`nebula_sdk.lib.invocations`.)
Every method used here is safe to repeat: reads, simulation, and ``sendTransaction`` of the same
signed envelope (the node answers DUPLICATE).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from stellar_sdk import Keypair
from stellar_sdk import xdr as stellar_xdr

from .._base_client import parse_retry_after
from .._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY
from .._exceptions import APIConnectionError, APITimeoutError, NebulaError, RPCError
from .._types import Timeout

__all__ = ["AsyncSorobanRpc", "LatestLedger", "SorobanRpc"]

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class LatestLedger:
    sequence: int
    close_time: int
    """Unix seconds."""


def _payload(method: str, params: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": next(_ids), "method": method}
    if params is not None:
        body["params"] = params
    return body


def _result(response: httpx.Response, method: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise RPCError(f"{method}: the RPC node answered something that is not JSON") from exc
    if not isinstance(body, dict):
        raise RPCError(f"{method}: the RPC node answered a non-object")
    error = body.get("error")
    if error is not None:
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise RPCError(f"{method}: {message}", code=None if code is None else str(code))
    result = body.get("result")
    if not isinstance(result, dict):
        raise RPCError(f"{method}: the RPC node's answer has no result object")
    return result


def _backoff(retries_taken: int, headers: httpx.Headers | None) -> float:
    retry_after = parse_retry_after(headers)
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    return float(min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY))


def _retryable(response: httpx.Response) -> bool:
    return response.status_code in (408, 429) or response.status_code >= 500


def _account_key(account: str) -> str:
    key = stellar_xdr.LedgerKey(
        stellar_xdr.LedgerEntryType.ACCOUNT,
        account=stellar_xdr.LedgerKeyAccount(
            account_id=Keypair.from_public_key(account).xdr_account_id()
        ),
    )
    return str(key.to_xdr())


def _sequence_from(result: dict[str, Any], account: str) -> int:
    entries = result.get("entries") or []
    if not entries:
        raise NebulaError(
            f"account {account} does not exist on this network: fund it before calling the contract"
        )
    data = stellar_xdr.LedgerEntryData.from_xdr(entries[0]["xdr"])
    if data.account is None:
        raise RPCError(f"getLedgerEntries: the entry for {account} is not an account")
    return int(data.account.seq_num.sequence_number.int64)


def _latest_from(result: dict[str, Any]) -> LatestLedger:
    return LatestLedger(sequence=int(result["sequence"]), close_time=int(result["closeTime"]))


class SorobanRpc:
    """Blocking JSON-RPC calls; ``sleep`` is the owner client's (tests make it instant)."""

    def __init__(
        self,
        url: str,
        *,
        http_client: httpx.Client,
        timeout: Timeout,
        max_retries: int,
        sleep: Callable[[float], None],
    ) -> None:
        self.url = url
        self._http = http_client
        self._timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        retries = 0
        while True:
            try:
                response = self._http.post(
                    self.url, json=_payload(method, params), timeout=self._timeout
                )
            except httpx.TransportError as exc:
                if retries < self._max_retries:
                    self._sleep(_backoff(retries, None))
                    retries += 1
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(f"Stellar RPC {method} timed out") from exc
                raise APIConnectionError(f"Stellar RPC at {self.url} unreachable: {exc}") from exc
            if response.is_error:
                if _retryable(response) and retries < self._max_retries:
                    self._sleep(_backoff(retries, response.headers))
                    retries += 1
                    continue
                raise RPCError(
                    f"{method}: HTTP {response.status_code} from the RPC node",
                    status=response.status_code,
                )
            return _result(response, method)

    def latest_ledger(self) -> LatestLedger:
        return _latest_from(self.call("getLatestLedger"))

    def account_sequence(self, account: str) -> int:
        result = self.call("getLedgerEntries", {"keys": [_account_key(account)]})
        return _sequence_from(result, account)

    def simulate(self, transaction_xdr: str) -> dict[str, Any]:
        return self.call("simulateTransaction", {"transaction": transaction_xdr})

    def send(self, transaction_xdr: str) -> dict[str, Any]:
        return self.call("sendTransaction", {"transaction": transaction_xdr})

    def get_transaction(self, tx_hash: str) -> dict[str, Any]:
        return self.call("getTransaction", {"hash": tx_hash})


class AsyncSorobanRpc:
    """The async twin of :class:`SorobanRpc`."""

    def __init__(
        self,
        url: str,
        *,
        http_client: httpx.AsyncClient,
        timeout: Timeout,
        max_retries: int,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.url = url
        self._http = http_client
        self._timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        retries = 0
        while True:
            try:
                response = await self._http.post(
                    self.url, json=_payload(method, params), timeout=self._timeout
                )
            except httpx.TransportError as exc:
                if retries < self._max_retries:
                    await self._sleep(_backoff(retries, None))
                    retries += 1
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(f"Stellar RPC {method} timed out") from exc
                raise APIConnectionError(f"Stellar RPC at {self.url} unreachable: {exc}") from exc
            if response.is_error:
                if _retryable(response) and retries < self._max_retries:
                    await self._sleep(_backoff(retries, response.headers))
                    retries += 1
                    continue
                raise RPCError(
                    f"{method}: HTTP {response.status_code} from the RPC node",
                    status=response.status_code,
                )
            return _result(response, method)

    async def latest_ledger(self) -> LatestLedger:
        return _latest_from(await self.call("getLatestLedger"))

    async def account_sequence(self, account: str) -> int:
        result = await self.call("getLedgerEntries", {"keys": [_account_key(account)]})
        return _sequence_from(result, account)

    async def simulate(self, transaction_xdr: str) -> dict[str, Any]:
        return await self.call("simulateTransaction", {"transaction": transaction_xdr})

    async def send(self, transaction_xdr: str) -> dict[str, Any]:
        return await self.call("sendTransaction", {"transaction": transaction_xdr})

    async def get_transaction(self, tx_hash: str) -> dict[str, Any]:
        return await self.call("getTransaction", {"hash": tx_hash})
