"""Fixtures of the payer-side API tests (loaded by ``tests/conftest.py`` as a plugin: a
conftest.py of its own would shadow the SDK tests' ``from conftest import``): a fake RPC that
prepares, sends and reports transactions, and the API using it on a real HTTP server (both
databases). A test module's own fixture of the same name takes precedence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.db.models import InvoiceLink
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link
from tests.support.payer_flow import ISSUER, make_settings, payer_state
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, SorobanState, running_soroban_rpc


@pytest.fixture
def state() -> SorobanState:
    return payer_state()


@pytest.fixture
def rpc(state: SorobanState) -> Iterator[tuple[str, FakeSorobanRpc]]:
    with running_soroban_rpc(state=state) as served:
        yield served


@pytest.fixture
def pay_settings(tmp_path: Path, database_url: str, rpc: tuple[str, FakeSorobanRpc]) -> Settings:
    return make_settings(tmp_path, database_url, rpc[0])


@pytest.fixture
def http(pay_settings: Settings, clock: FakeClock) -> Iterator[httpx.Client]:
    with (
        serve(create_app(pay_settings, clock=clock)) as url,
        httpx.Client(base_url=url, timeout=15) as client,
    ):
        yield client


@pytest.fixture
def link(database_url: str, clock: FakeClock) -> InvoiceLink:
    return create_link(database_url, clock, ISSUER.public_key)
