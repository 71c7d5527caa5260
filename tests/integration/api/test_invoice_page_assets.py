"""The invoice page loads its bundle same-origin with a Subresource Integrity hash that matches
the served file, under a CSP without unsafe-inline/unsafe-eval; WalletConnect's bundle and
sources appear only when a project id is set."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair
from tests.support.clock import FakeClock
from tests.support.invoice_flow import CONTRACT, create_link
from tests.support.server import serve

from stellarstream.api.app import create_app
from stellarstream.config import load_settings

ISSUER = Keypair.from_raw_ed25519_seed(bytes([71]) * 32).public_key
SCRIPT = re.compile(r'<script src="(?P<src>[^"]+)" integrity="(?P<sri>[^"]+)" defer></script>')


def serve_page(tmp_path: Path, database_url: str, **settings: str) -> Iterator[str]:
    app = create_app(
        load_settings(
            _env_file=None,
            var_dir=tmp_path / "var",
            database_url=database_url,
            contract_ids=CONTRACT,
            **settings,
        ),
        clock=FakeClock(),
    )
    with serve(app) as url:
        yield url


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[str]:
    yield from serve_page(tmp_path, database_url)


@pytest.fixture
def wc_site(tmp_path: Path, database_url: str) -> Iterator[str]:
    yield from serve_page(tmp_path, database_url, walletconnect_project_id="0123abcd")


def script_of(page: httpx.Response) -> tuple[str, str]:
    match = SCRIPT.search(page.text)
    assert match is not None, "no bundle script tag"
    return match["src"], match["sri"]


def test_the_bundle_is_served_with_a_matching_sri_hash_under_a_strict_csp(
    site: str, database_url: str
) -> None:
    link = create_link(database_url, FakeClock(), ISSUER)
    page = httpx.get(f"{site}/invoice/{link.slug}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    src, sri = script_of(page)
    assert src.startswith("/static/pay.js?v=")
    served = httpx.get(site + src)
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
    assert sri == f"sha384-{digest}"
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # nothing inline
    assert 'id="wallet-pay"' in page.text and "data-walletconnect-project-id" not in page.text


def test_walletconnect_adds_its_bundle_and_only_its_sources(
    wc_site: str, database_url: str
) -> None:
    link = create_link(database_url, FakeClock(), ISSUER)
    page = httpx.get(f"{wc_site}/invoice/{link.slug}")
    src, sri = script_of(page)
    assert src.startswith("/static/pay-walletconnect.js?v=")
    served = httpx.get(wc_site + src)
    assert sri == "sha384-" + base64.b64encode(hashlib.sha384(served.content).digest()).decode()
    csp = page.headers["content-security-policy"]
    assert "wss://relay.walletconnect.com" in csp and "https://verify.walletconnect.com" in csp
    assert "script-src 'self'" in csp and "unsafe" not in csp
    assert 'data-walletconnect-project-id="0123abcd"' in page.text
