"""Tokens by name: symbol, name and decimals read from the token contract through the test RPC
(read-only simulations), cached in the database, overridden by settings; an RPC that is down or
a contract that is not a token leaves the short address and a log line, never a failed page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from stellar_sdk import Asset, Network
from structlog.testing import capture_logs
from tests.support import contract_events as ce
from tests.support.clock import FakeClock
from tests.support.invoice_flow import create_link
from tests.support.payer_flow import make_settings
from tests.support.seed import ingest_events
from tests.support.server import serve
from tests.support.soroban_rpc import FakeSorobanRpc, running_soroban_rpc
from tests.support.stellar_rpc import Chain

from stellarstream.api.app import create_app
from stellarstream.config import Settings
from stellarstream.db.engine import make_engine, make_sessionmaker
from stellarstream.db.models import TokenMetadata
from stellarstream.tokens.directory import RETRY_SECONDS, TokenDirectory

USDC = ce.contract(210)
ISSUER = ce.account(211)
NOT_A_TOKEN = ce.contract(212)
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # discard: nothing answers


@pytest.fixture
def node() -> Iterator[tuple[str, FakeSorobanRpc]]:
    with running_soroban_rpc(Chain(), contract_id=ce.V2_CONTRACT) as served:
        _, rpc = served
        rpc.tokens[ce.TOKEN] = ("EURC", "Euro Coin", 6)
        rpc.tokens[USDC] = ("USDC", f"USDC:{ISSUER}", 7)
        yield served


class Clocks:
    """The wall clock (``checked_at``) and the monotonic one (retry pauses), both moved by hand."""

    def __init__(self) -> None:
        self.wall = FakeClock()
        self.seconds = 1_000.0

    def monotonic(self) -> float:
        return self.seconds


def directory(settings: Settings, clocks: Clocks, **options: Any) -> TokenDirectory:
    sessions = make_sessionmaker(make_engine(settings.resolved_database_url))
    return TokenDirectory(settings, sessions, clocks.wall, monotonic=clocks.monotonic, **options)


def simulations(rpc: FakeSorobanRpc) -> list[str]:
    return [method for method, _ in rpc.calls if method == "simulateTransaction"]


def test_read_from_the_contract_once_then_from_the_database(
    tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]
) -> None:
    url, rpc = node
    settings = make_settings(tmp_path, database_url, url)
    clocks = Clocks()
    first = directory(settings, clocks).lookup([ce.TOKEN])[ce.TOKEN]
    assert (first.symbol, first.name, first.decimals, first.label) == (
        "EURC",
        "Euro Coin",
        6,
        "EURC",
    )
    assert len(simulations(rpc)) == 3  # symbol, name, decimals
    # Another worker (a new directory) finds it in the database: no RPC call.
    other = directory(settings, clocks)
    assert other.known(ce.TOKEN).symbol is None  # memory is empty until it loads
    assert other.lookup([ce.TOKEN])[ce.TOKEN].symbol == "EURC"
    assert len(simulations(rpc)) == 3
    # A week later it is read again.
    clocks.wall.advance(timedelta(days=7, seconds=1).total_seconds())
    assert other.lookup([ce.TOKEN])[ce.TOKEN].decimals == 6
    assert len(simulations(rpc)) == 6
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        [row] = session.scalars(select(TokenMetadata)).all()
    engine.dispose()
    assert (row.contract_id, row.is_token, row.symbol, row.decimals) == (ce.TOKEN, True, "EURC", 6)


def test_settings_override_what_the_chain_says(
    tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]
) -> None:
    url, _ = node
    settings = make_settings(
        tmp_path,
        database_url,
        url,
        token_decimals=f"{ce.TOKEN}:2",
        token_symbols=f"{ce.TOKEN}:EURX",
    )
    info = directory(settings, Clocks()).lookup([ce.TOKEN])[ce.TOKEN]
    assert (info.symbol, info.decimals, info.name) == ("EURX", 2, "Euro Coin")
    native = Asset.native().contract_id(Network.TESTNET_NETWORK_PASSPHRASE)
    xlm = directory(settings, Clocks()).known(native)
    assert (xlm.symbol, xlm.decimals) == ("XLM", 7)


def test_bad_override_is_a_clear_settings_error(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ValueError, match="is not CONTRACT:SYMBOL"):
        make_settings(tmp_path, database_url, "none", token_symbols=f"{ce.TOKEN}:")


def test_rpc_down_leaves_the_short_address_and_one_log_line(
    tmp_path: Path, database_url: str
) -> None:
    settings = make_settings(tmp_path, database_url, CLOSED_PORT_URL)
    clocks = Clocks()
    tokens = directory(settings, clocks)
    with capture_logs() as logs:
        info = tokens.lookup([ce.TOKEN])[ce.TOKEN]
        again = tokens.lookup([ce.TOKEN])[ce.TOKEN]  # within the retry pause: not asked
    assert (info.symbol, info.decimals, info.label) == (None, 7, f"{ce.TOKEN[:4]}…{ce.TOKEN[-4:]}")
    assert again == info
    warnings = [e for e in logs if e["event"] == "token_metadata_unavailable"]
    assert len(warnings) == 1 and warnings[0]["token"] == ce.TOKEN
    assert tokens.stored_tokens() == []  # nothing stored: asked again later
    clocks.seconds += RETRY_SECONDS
    with capture_logs() as logs:
        tokens.lookup([ce.TOKEN])
    assert [e["event"] for e in logs] == ["token_metadata_unavailable"]


def test_a_contract_that_is_not_a_token_is_remembered_as_such(
    tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]
) -> None:
    url, rpc = node
    settings = make_settings(tmp_path, database_url, url)
    clocks = Clocks()
    tokens = directory(settings, clocks)
    with capture_logs() as logs:
        info = tokens.lookup([NOT_A_TOKEN])[NOT_A_TOKEN]
    assert info.symbol is None and info.label.startswith(NOT_A_TOKEN[:4])
    assert [e["event"] for e in logs] == ["token_metadata_not_a_token"]
    asked = len(simulations(rpc))
    tokens.lookup([NOT_A_TOKEN])
    assert len(simulations(rpc)) == asked  # stored as not a token
    clocks.wall.advance(timedelta(days=1, seconds=1).total_seconds())
    tokens.lookup([NOT_A_TOKEN])
    assert len(simulations(rpc)) == asked + 1  # asked again a day later (symbol fails first)


def test_a_classic_asset_shows_its_code_and_issuer_home_domain(
    tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]
) -> None:
    url, _ = node
    settings = make_settings(tmp_path, database_url, url)
    asked: list[str] = []

    def home_domain_of(issuer: str) -> str | None:
        asked.append(issuer)
        return "centre.io"

    info = directory(settings, Clocks(), home_domain_of=home_domain_of).lookup([USDC])[USDC]
    assert (info.label, info.home_domain) == ("USDC", "centre.io")
    assert asked == [ISSUER]
    plain = directory(settings, Clocks(), home_domain_of=home_domain_of).lookup([ce.TOKEN])
    assert plain[ce.TOKEN].home_domain is None and asked == [ISSUER]  # not a classic asset


def test_the_api_the_csv_and_the_payer_page_name_the_token(
    tmp_path: Path, database_url: str, node: tuple[str, FakeSorobanRpc]
) -> None:
    url, _ = node
    settings = make_settings(tmp_path, database_url, url)
    stream = ce.raw_event(
        *ce.create_v2(0, ce.account(1), ce.account(2), ce.TOKEN, 15_000_000, 10, 10, 100, 5),
        contract_id=ce.V2_CONTRACT,
        ledger=10,
        tx_hash=ce.tx_hash_for(1),
    )
    ingest_events(database_url, [stream], [ce.V2_CONTRACT])
    link = create_link(database_url, FakeClock(), ce.account(1), amount=150_000_000, duration=86400)
    app = create_app(settings, clock=FakeClock())
    with serve(app) as api, httpx.Client(base_url=api, timeout=10) as http:
        # The API's background pass reads the token streams use, soon after start-up.
        deadline = time.monotonic() + 10
        while app.state.context.tokens.known(ce.TOKEN).symbol is None:
            assert time.monotonic() < deadline, "the token was never read"
            time.sleep(0.05)
        info = {
            "address": ce.TOKEN,
            "symbol": "EURC",
            "name": "Euro Coin",
            "decimals": 6,
            "homeDomain": None,
        }
        assert http.get(f"/api/v1/streams/{ce.V2_CONTRACT}-0").json()["tokenInfo"] == info
        listed = http.get("/api/v1/streams", params={"sender": ce.account(1)}).json()
        assert [s["tokenInfo"] for s in listed["data"]] == [info]
        assert http.get(f"/api/v1/invoice-links/{link.slug}").json()["tokenInfo"] == info
        csv = http.get("/api/v1/streams/export.csv", params={"address": ce.account(1)}).text
        header, row = csv.splitlines()[:2]
        assert header.endswith(",amount_base_units,amount_token_units,token_symbol")
        assert row.endswith(",15000000,15.000000,EURC")  # base units of 6 decimals
        page = http.get(f"/invoice/{link.slug}").text
        assert '<h1 id="amount">150 EURC</h1>' in page
        assert '<dd id="rate">150 EURC per day</dd>' in page
        assert 'id="token-name">Euro Coin<' in page
