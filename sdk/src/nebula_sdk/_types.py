"""Type aliases and the ``NOT_GIVEN`` sentinel ("unset", as distinct from ``None``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, TypeAlias, TypeVar

import httpx
from stellar_sdk import Keypair

__all__ = [
    "NOT_GIVEN",
    "AsyncSigner",
    "Headers",
    "NotGiven",
    "Query",
    "Signer",
    "SignerCallback",
    "Timeout",
]

_T = TypeVar("_T")


class NotGiven:
    """The type of :data:`NOT_GIVEN`: an argument that was not passed at all.

    ``None`` often means something (``memo=None`` is "no memo"); ``NOT_GIVEN`` means "use the
    default"."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()

Timeout: TypeAlias = float | httpx.Timeout
Headers: TypeAlias = Mapping[str, str]
Query: TypeAlias = Mapping[str, object]

SignerCallback: TypeAlias = Callable[[str, str], str]
"""A wallet: ``sign(transaction_xdr, network_passphrase) -> signed_transaction_xdr``."""
AsyncSignerCallback: TypeAlias = Callable[[str, str], Awaitable[str]]
Signer: TypeAlias = Keypair | SignerCallback
"""What signs a contract call: a :class:`~stellar_sdk.Keypair` (its secret stays in this process)
or a wallet callback."""
AsyncSigner: TypeAlias = Keypair | SignerCallback | AsyncSignerCallback
