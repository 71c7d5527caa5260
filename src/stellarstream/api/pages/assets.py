"""The page bundles (built from ``web/`` by esbuild, committed under ``api/static/``).

Each is served same-origin at ``/static/<name>?v=<digest>`` and loaded with a Subresource
Integrity hash, so a tampered or half-deployed file does not run. WalletConnect (Reown AppKit)
makes a bundle ten times larger, so it has its own, served only when a project id is set.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

PLAIN = "pay.js"
WITH_WALLETCONNECT = "pay-walletconnect.js"


@dataclass(frozen=True, slots=True)
class Bundle:
    url: str
    integrity: str


def sri(data: bytes) -> str:
    """The Subresource Integrity hash of ``data`` (``sha384-...``)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


@cache
def packaged(package: str, folder: str, name: str, url_prefix: str) -> Bundle:
    """URL (versioned by content) and SRI hash of a file shipped in ``package`` (read once)."""
    data = resources.files(package).joinpath(folder, name).read_bytes()
    version = hashlib.sha256(data).hexdigest()[:12]
    return Bundle(url=f"{url_prefix}/{name}?v={version}", integrity=sri(data))


def bundle(name: str) -> Bundle:
    """The URL and SRI hash of ``static/<name>`` (read once per process)."""
    return packaged("stellarstream.api", "static", name, "/static")


def page_bundle(walletconnect_project_id: str) -> Bundle:
    return bundle(WITH_WALLETCONNECT if walletconnect_project_id else PLAIN)
