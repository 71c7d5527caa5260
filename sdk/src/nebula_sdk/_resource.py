"""Resources are namespaces on a client (``client.streams``, ``client.invoice_links``...)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._client import AsyncNebulaClient, NebulaClient

__all__ = ["AsyncAPIResource", "SyncAPIResource"]


class SyncAPIResource:
    _client: NebulaClient

    def __init__(self, client: NebulaClient) -> None:
        self._client = client
        self._get = client.get
        self._post = client.post
        self._patch = client.patch
        self._delete = client.delete
        self._get_api_list = client.get_api_list


class AsyncAPIResource:
    _client: AsyncNebulaClient

    def __init__(self, client: AsyncNebulaClient) -> None:
        self._client = client
        self._get = client.get
        self._post = client.post
        self._patch = client.patch
        self._delete = client.delete
        self._get_api_list = client.get_api_list
