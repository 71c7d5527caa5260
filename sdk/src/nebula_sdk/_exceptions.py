"""Every error the SDK raises.

Hierarchy::

    NebulaError                        base of everything below
    ├── APIError                       the StellarStream API call failed
    │   ├── APIStatusError             the API answered with a 4xx/5xx status
    │   │   ├── ValidationError        400, 422: bad input (``field`` names it)
    │   │   ├── AuthenticationError    401: missing, expired or invalid token
    │   │   ├── PermissionDeniedError  403
    │   │   ├── NotFoundError          404
    │   │   ├── ConflictError          409: the resource's state forbids the action
    │   │   ├── RateLimitError         429 (``retry_after`` seconds, when the server said)
    │   │   └── ServerError            5xx
    │   └── APIConnectionError         no answer: refused, reset, DNS, ... (API or RPC node)
    │       └── APITimeoutError        no answer in time
    ├── RPCError                       the Stellar RPC node answered with an error
    ├── SimulationError                the call fails in simulation (``contract_error_code``)
    ├── TransactionFailedError         rejected, or failed in a ledger (result codes)
    ├── SigningError                   the signer did not sign, or another signature is needed
    ├── NotIndexedError                the API did not show a landed change within the wait
    └── NotInitializedError            ``Nebula`` used before ``Nebula.initialize``

Every error has ``message``, ``status`` (HTTP status or ``None``), ``code`` (the API's error code,
the RPC's error code or a result code) and ``request_id`` (the API's ``X-Request-Id``).
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "NebulaError",
    "NotFoundError",
    "NotIndexedError",
    "NotInitializedError",
    "PermissionDeniedError",
    "RPCError",
    "RateLimitError",
    "ServerError",
    "SigningError",
    "SimulationError",
    "TransactionFailedError",
    "ValidationError",
]


class NebulaError(Exception):
    """Base class of every error raised by the Nebula SDK."""

    message: str
    status: int | None = None
    code: str | None = None
    request_id: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.request_id is not None:
            parts.append(f"request_id={self.request_id}")
        return parts[0] if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class APIError(NebulaError):
    """A call to the StellarStream API failed (an error status or no answer at all)."""

    request: httpx.Request | None

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.request = request


class APIStatusError(APIError):
    """The API answered with a 4xx or 5xx status; ``body`` is the parsed JSON (or text)."""

    status: int
    response: httpx.Response
    body: Any
    field: str | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any = None,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(
            message,
            request=response.request,
            status=response.status_code,
            code=code,
            request_id=response.headers.get("x-request-id"),
        )
        self.response = response
        self.body = body
        self.field = field


class ValidationError(APIStatusError):
    """400 or 422: the request is invalid; ``field`` names the offending input if known."""


class AuthenticationError(APIStatusError):
    """401: no token, or an expired or invalid one. Sign in again (``client.auth.login``)."""


class PermissionDeniedError(APIStatusError):
    """403: the token's account may not do this."""


class NotFoundError(APIStatusError):
    """404: no such resource (or it belongs to another account)."""


class ConflictError(APIStatusError):
    """409: the resource's current state does not allow the action."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(APIStatusError):
    """5xx: the server failed; retried automatically before this is raised."""


class APIConnectionError(APIError):
    """No answer from the API (or the RPC node): connection refused, reset, DNS failure..."""

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """No answer in time (see the client's ``timeout``)."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class RPCError(NebulaError):
    """The Stellar RPC node answered a JSON-RPC error (``code`` is its numeric code as text)
    or an HTTP error status after retries."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, status=status, code=code)


class SimulationError(NebulaError):
    """The contract call fails in simulation, so it was not submitted.

    ``contract_error_code`` is the contract's own error number (``Error(Contract, #N)``) when the
    failure is a contract error; ``diagnostic`` is the node's full explanation.
    """

    def __init__(
        self, message: str, *, contract_error_code: int | None = None, diagnostic: str = ""
    ) -> None:
        code = None if contract_error_code is None else f"contract_error_{contract_error_code}"
        super().__init__(message, code=code)
        self.contract_error_code = contract_error_code
        self.diagnostic = diagnostic


class TransactionFailedError(NebulaError):
    """The network rejected the transaction (``sendTransaction`` ERROR) or it failed in a ledger.

    ``transaction_code`` is the transaction result code (``txFAILED``, ``txBAD_SEQ``...),
    ``operation_codes`` the operations' codes (``INVOKE_HOST_FUNCTION_TRAPPED``...).
    """

    def __init__(
        self,
        message: str,
        *,
        tx_hash: str | None,
        transaction_code: str | None,
        operation_codes: list[str] | None = None,
        ledger: int | None = None,
    ) -> None:
        super().__init__(message, code=transaction_code)
        self.tx_hash = tx_hash
        self.transaction_code = transaction_code
        self.operation_codes = operation_codes or []
        self.ledger = ledger


class SigningError(NebulaError):
    """The signer did not return a valid signed transaction, or the call needs a signature the
    given signer cannot make."""


class NotIndexedError(NebulaError):
    """``streams.wait_for`` gave up: the API did not show the stream (at the ledger asked for)
    in time. The chain has it; the indexer is behind or stopped (see ``sync_status``)."""


class NotInitializedError(NebulaError):
    """``Nebula`` was used before ``Nebula.initialize(base_url)``."""
