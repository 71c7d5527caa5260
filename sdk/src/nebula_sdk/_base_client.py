"""The HTTP core shared by :class:`NebulaClient` and :class:`AsyncNebulaClient`.

Retries: connection errors, timeouts, 408, 429 and 5xx are retried up to ``max_retries`` times
with exponential backoff (0.5 s doubling to 8 s, minus up to 25 % jitter so that many clients do
not retry in lockstep). A ``Retry-After`` (or ``Retry-After-Ms``) of at most 60 s is honoured
instead, and ``X-Should-Retry: true|false`` from the server overrides the decision.

Only requests that are safe to repeat are retried: GET, PUT and DELETE; POST because every POST
carries an ``Idempotency-Key`` that stays the same on each retry (the server replays the first
result); PATCH only when the server certainly did not process it (connection refused, 408, 429).
"""

from __future__ import annotations

import asyncio
import email.utils
import platform
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import httpx
import pydantic

from ._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
)
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ValidationError,
)
from ._types import Timeout
from ._version import __version__

if TYPE_CHECKING:
    from .pagination import AsyncCursorPage, SyncCursorPage

__all__ = ["AsyncAPIClient", "BaseClient", "RequestOptions", "SyncAPIClient"]

_T = TypeVar("_T")
_M = TypeVar("_M", bound=pydantic.BaseModel)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NOT_PROCESSED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class RequestOptions:
    """One API call, before it is turned into an ``httpx.Request`` (once per attempt)."""

    method: str
    path: str
    params: Mapping[str, object] | None = None
    json_data: object | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None
    max_retries: int | None = None
    timeout: Timeout | None = None


def _clean_params(params: Mapping[str, object] | None) -> dict[str, str | int | float] | None:
    """Drop unset (``None``) query parameters; enums become their values."""
    if not params:
        return None
    out: dict[str, str | int | float] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, int | float | str):
            out[key] = value.value if hasattr(value, "value") else value  # StrEnum -> str
        else:
            out[key] = str(value)
    return out


def parse_retry_after(headers: httpx.Headers | None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After-Ms``, ``Retry-After`` seconds or date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - time.time())


def _normalize_base_url(base_url: str | httpx.URL) -> httpx.URL:
    text = str(base_url).rstrip("/")
    # Accept the seed's style too: "https://host/api/v1" means "https://host".
    text = text.removesuffix("/api/v1")
    return httpx.URL(text + "/")


class BaseClient:
    """Configuration, request building, retry decisions and error mapping (no I/O)."""

    base_url: httpx.URL
    token: str | None
    timeout: Timeout
    max_retries: int

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        token: str | None,
        timeout: Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = _normalize_base_url(base_url)
        self.token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self._default_headers = dict(default_headers or {})

    # --- requests ---

    @property
    def user_agent(self) -> str:
        return f"stellarstream-nebula-sdk/{__version__} python/{platform.python_version()}"

    def _headers(self, options: RequestOptions, retries_taken: int) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": self.user_agent,
            **self._default_headers,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if options.idempotency_key is not None:
            headers["Idempotency-Key"] = options.idempotency_key
        if retries_taken:
            headers["X-Nebula-Retry-Count"] = str(retries_taken)
        headers.update(options.headers)
        return headers

    def _prepare_options(self, options: RequestOptions) -> RequestOptions:
        """Fix what must not change between attempts: the POST's idempotency key."""
        if options.method.upper() == "POST" and options.idempotency_key is None:
            return replace(options, idempotency_key=f"nebula-{uuid.uuid4()}")
        return options

    def _url(self, path: str) -> httpx.URL:
        return self.base_url.join(path.lstrip("/"))

    # --- retries ---

    def _retry_allowed(
        self, options: RequestOptions, *, not_processed: bool, response: httpx.Response | None
    ) -> bool:
        if response is not None:
            should = response.headers.get("x-should-retry")
            if should == "true":
                return True
            if should == "false":
                return False
            if response.status_code not in (408, 429) and response.status_code < 500:
                return False
        method = options.method.upper()
        if method in _SAFE_METHODS:
            return True
        if method == "POST" and options.idempotency_key is not None:
            return True
        return not_processed

    def _calculate_retry_timeout(
        self, retries_taken: int, headers: httpx.Headers | None = None
    ) -> float:
        retry_after = parse_retry_after(headers)
        if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
            return retry_after
        delay = min(INITIAL_RETRY_DELAY * 2.0 ** min(retries_taken, 20), MAX_RETRY_DELAY)
        jitter = 1 - 0.25 * random.random()  # noqa: S311 (jitter, not cryptography)
        return delay * jitter

    # --- responses ---

    def _make_status_error(self, response: httpx.Response) -> APIStatusError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        code = field_name = None
        message = f"HTTP {response.status_code}"
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = error.get("code")
            message = str(error.get("message") or message)
            field_name = error.get("field")
        elif isinstance(body, str) and body.strip():
            message = f"HTTP {response.status_code}: {body.strip()[:500]}"
        status = response.status_code
        cls: type[APIStatusError]
        if status in (400, 422):
            cls = ValidationError
        elif status == 401:
            cls = AuthenticationError
        elif status == 403:
            cls = PermissionDeniedError
        elif status == 404:
            cls = NotFoundError
        elif status == 409:
            cls = ConflictError
        elif status == 429:
            cls = RateLimitError
        elif status >= 500:
            cls = ServerError
        else:
            cls = APIStatusError
        return cls(message, response=response, body=body, code=code, field=field_name)

    def _process_response(self, cast_to: type[_T], response: httpx.Response) -> _T:
        if cast_to is type(None) or response.status_code == 204:
            return cast(_T, None)
        if cast_to is httpx.Response:
            return cast(_T, response)
        if cast_to is str:
            return cast(_T, response.text)
        try:
            data = response.json()
        except ValueError as exc:
            raise APIError(
                f"the API answered {response.status_code} with a body that is not JSON",
                request=response.request,
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from exc
        try:
            if isinstance(cast_to, type) and issubclass(cast_to, pydantic.BaseModel):
                return cast(_T, cast_to.model_validate(data))
            return pydantic.TypeAdapter(cast_to).validate_python(data)
        except pydantic.ValidationError as exc:
            raise APIError(
                f"the API's response does not match {getattr(cast_to, '__name__', cast_to)}: "
                f"{exc.errors()[0]['msg'] if exc.errors() else exc}",
                request=response.request,
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            ) from exc


class SyncAPIClient(BaseClient):
    """Blocking I/O with ``httpx.Client``."""

    _client: httpx.Client
    _sleep: Callable[[float], None] = staticmethod(time.sleep)
    """How to wait between retries and polls (tests replace it to stay fast)."""

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_http_client = http_client is None
        self._client = http_client or httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        """Close the connection pool (unless you passed your own ``http_client``)."""
        if self._owns_http_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(self, cast_to: type[_T], options: RequestOptions) -> _T:
        options = self._prepare_options(options)
        max_retries = self.max_retries if options.max_retries is None else options.max_retries
        retries_taken = 0
        while True:
            request = self._client.build_request(
                options.method,
                self._url(options.path),
                params=_clean_params(options.params),
                json=options.json_data,
                content=options.content,
                headers=self._headers(options, retries_taken),
                timeout=self.timeout if options.timeout is None else options.timeout,
            )
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                not_processed = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if retries_taken < max_retries and self._retry_allowed(
                    options, not_processed=not_processed, response=None
                ):
                    self._sleep(self._calculate_retry_timeout(retries_taken))
                    retries_taken += 1
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(request=request) from exc
                raise APIConnectionError(f"Connection error: {exc}", request=request) from exc
            if response.is_error:
                not_processed = response.status_code in _NOT_PROCESSED_STATUSES
                if retries_taken < max_retries and self._retry_allowed(
                    options, not_processed=not_processed, response=response
                ):
                    response.close()
                    self._sleep(self._calculate_retry_timeout(retries_taken, response.headers))
                    retries_taken += 1
                    continue
                raise self._make_status_error(response)
            return self._process_response(cast_to, response)

    # --- verbs (also usable for routes the SDK has no method for yet) ---

    def get(
        self, path: str, *, cast_to: type[_T], params: Mapping[str, object] | None = None
    ) -> _T:
        return self.request(cast_to, RequestOptions("GET", path, params=params))

    def post(
        self,
        path: str,
        *,
        cast_to: type[_T],
        body: object | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> _T:
        options = RequestOptions(
            "POST",
            path,
            json_data=body,
            content=content,
            headers={"Content-Type": "application/json", **(headers or {})},
            idempotency_key=idempotency_key,
        )
        return self.request(cast_to, options)

    def patch(self, path: str, *, cast_to: type[_T], body: object | None = None) -> _T:
        return self.request(cast_to, RequestOptions("PATCH", path, json_data=body))

    def delete(self, path: str, *, cast_to: type[_T]) -> _T:
        return self.request(cast_to, RequestOptions("DELETE", path))

    def get_api_list(
        self,
        path: str,
        *,
        model: type[_M],
        page: type[SyncCursorPage[Any]],
        params: Mapping[str, object] | None = None,
    ) -> SyncCursorPage[_M]:
        """One page of a keyset list; the page fetches the next ones itself."""
        params = dict(params or {})
        page_type: Any = page  # parametrised at run time: SyncCursorPage[Stream]
        cast_to = cast("type[SyncCursorPage[_M]]", page_type[model])
        result = self.get(path, cast_to=cast_to, params=params)

        def fetch(cursor: str) -> SyncCursorPage[_M]:
            return self.get_api_list(
                path, model=model, page=page, params={**params, "cursor": cursor}
            )

        result._fetch_next = fetch
        return result


class AsyncAPIClient(BaseClient):
    """Non-blocking I/O with ``httpx.AsyncClient`` (asyncio or trio, through anyio)."""

    _client: httpx.AsyncClient
    _sleep: Callable[[float], Awaitable[None]] = staticmethod(asyncio.sleep)

    def __init__(
        self,
        *,
        base_url: str | httpx.URL,
        token: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            token=token,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_http_client = http_client is None
        self._client = http_client or httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    async def close(self) -> None:
        if self._owns_http_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def request(self, cast_to: type[_T], options: RequestOptions) -> _T:
        options = self._prepare_options(options)
        max_retries = self.max_retries if options.max_retries is None else options.max_retries
        retries_taken = 0
        while True:
            request = self._client.build_request(
                options.method,
                self._url(options.path),
                params=_clean_params(options.params),
                json=options.json_data,
                content=options.content,
                headers=self._headers(options, retries_taken),
                timeout=self.timeout if options.timeout is None else options.timeout,
            )
            try:
                response = await self._client.send(request)
            except httpx.TransportError as exc:
                not_processed = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if retries_taken < max_retries and self._retry_allowed(
                    options, not_processed=not_processed, response=None
                ):
                    await self._sleep(self._calculate_retry_timeout(retries_taken))
                    retries_taken += 1
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise APITimeoutError(request=request) from exc
                raise APIConnectionError(f"Connection error: {exc}", request=request) from exc
            if response.is_error:
                not_processed = response.status_code in _NOT_PROCESSED_STATUSES
                if retries_taken < max_retries and self._retry_allowed(
                    options, not_processed=not_processed, response=response
                ):
                    await response.aclose()
                    await self._sleep(
                        self._calculate_retry_timeout(retries_taken, response.headers)
                    )
                    retries_taken += 1
                    continue
                raise self._make_status_error(response)
            return self._process_response(cast_to, response)

    async def get(
        self, path: str, *, cast_to: type[_T], params: Mapping[str, object] | None = None
    ) -> _T:
        return await self.request(cast_to, RequestOptions("GET", path, params=params))

    async def post(
        self,
        path: str,
        *,
        cast_to: type[_T],
        body: object | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> _T:
        options = RequestOptions(
            "POST",
            path,
            json_data=body,
            content=content,
            headers={"Content-Type": "application/json", **(headers or {})},
            idempotency_key=idempotency_key,
        )
        return await self.request(cast_to, options)

    async def patch(self, path: str, *, cast_to: type[_T], body: object | None = None) -> _T:
        return await self.request(cast_to, RequestOptions("PATCH", path, json_data=body))

    async def delete(self, path: str, *, cast_to: type[_T]) -> _T:
        return await self.request(cast_to, RequestOptions("DELETE", path))

    async def get_api_list(
        self,
        path: str,
        *,
        model: type[_M],
        page: type[AsyncCursorPage[Any]],
        params: Mapping[str, object] | None = None,
    ) -> AsyncCursorPage[_M]:
        params = dict(params or {})
        page_type: Any = page
        cast_to = cast("type[AsyncCursorPage[_M]]", page_type[model])
        result = await self.get(path, cast_to=cast_to, params=params)

        async def fetch(cursor: str) -> AsyncCursorPage[_M]:
            return await self.get_api_list(
                path, model=model, page=page, params={**params, "cursor": cursor}
            )

        result._fetch_next = fetch
        return result
