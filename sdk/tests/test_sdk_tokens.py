"""The API's ``tokenInfo`` reaches SDK users as ``TokenInfo``, with exact unit formatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from stellar_sdk import Keypair
from tests.support import contract_events as ce
from tests.support.payer_flow import make_settings

from conftest import CONTRACT, one_stream, seed
from nebula_sdk import NebulaClient, TokenInfo
from stellarstream.config import Settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:  # the token named by the operator
    extra = {"token_symbols": f"{ce.TOKEN}:EURX", "token_decimals": f"{ce.TOKEN}:2"}
    return make_settings(tmp_path, database_url, "none", **extra)


def test_streams_and_links_carry_the_token_info(
    client: NebulaClient, database_url: str, keypair: Keypair
) -> None:
    seed(database_url, [one_stream(0, amount=1_234_567)])
    stream = client.streams.retrieve(f"{CONTRACT}-0")
    assert stream.token_info == TokenInfo(
        address=ce.TOKEN, symbol="EURX", name=None, decimals=2, home_domain=None
    )
    assert stream.token_info.units(stream.amount) == "12345.67"
    assert stream.token_info.label == "EURX"
    client.auth.login(keypair)
    link = client.invoice_links.create(
        receiver=keypair.public_key, amount=250, token_address=ce.TOKEN, duration=60
    )
    assert link.token_info is not None and link.token_info.units(link.amount) == "2.5"


def test_units_are_exact_for_any_i128() -> None:
    token = TokenInfo(address=ce.TOKEN, decimals=7)
    assert token.units(2**127 - 1) == "17014118346046923173168730371588.4105727"
    assert token.units(-15) == "-0.0000015" and token.units(10**7) == "1"
    assert token.label == f"{ce.TOKEN[:4]}…{ce.TOKEN[-4:]}"
    assert TokenInfo(address=ce.TOKEN, decimals=0).units(42) == "42"
