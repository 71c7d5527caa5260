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


@cache
def bundle(name: str) -> Bundle:
    """The URL and SRI hash of ``static/<name>`` (read once per process)."""
    data = resources.files("stellarstream.api").joinpath("static", name).read_bytes()
    digest = hashlib.sha384(data).digest()
    version = hashlib.sha256(data).hexdigest()[:12]
    return Bundle(
        url=f"/static/{name}?v={version}",
        integrity="sha384-" + base64.b64encode(digest).decode(),
    )


def page_bundle(walletconnect_project_id: str) -> Bundle:
    return bundle(WITH_WALLETCONNECT if walletconnect_project_id else PLAIN)
