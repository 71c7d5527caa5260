"""The README's usage example runs as written; the ``Nebula`` façade; the package builds and
passes ``twine check``."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from stellar_sdk import Keypair
from tests.support import contract_events as ce
from tests.support.soroban_rpc import FakeSorobanRpc
from tests.support.stellar_rpc import Chain

from conftest import CONTRACT, NOW, SleepRecorder, ingest_chain, one_stream, seed
from nebula_sdk import (
    CancelStreamParams,
    InvoiceLinkStatus,
    Nebula,
    NotFoundError,
    NotInitializedError,
    PreparedTransaction,
    TopUpParams,
    WithdrawParams,
)

SDK = Path(__file__).resolve().parents[1]
README = (SDK / "README.md").read_text()


@pytest.fixture(autouse=True)
def fresh_facade() -> Iterator[None]:
    Nebula.close()
    yield
    Nebula.close()


def test_the_usage_example_runs(
    api_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    match = re.search(
        r"<!-- usage:start -->\n```python\n(.*?)```\n<!-- usage:end -->", README, re.S
    )
    assert match, "README lost its usage example"
    seed(database_url, [one_stream(0), one_stream(1)])
    monkeypatch.setenv("NEBULA_BASE_URL", api_url)
    exec(compile(match.group(1), "README.md", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert re.search(r"share: http://pay\.example\.test/invoice/[0-9A-Za-z]{22}\n", out)
    assert "streams: 2\n" in out
    assert f"stream: {CONTRACT}-1 ACTIVE" in out
    assert "30-day yield estimate: " in out


def test_calling_before_initialize_is_a_clear_error() -> None:
    with pytest.raises(NotInitializedError, match=r"Nebula\.initialize\(base_url\)"):
        Nebula.get_stats()
    with pytest.raises(NotInitializedError):
        Nebula.set_auth_token("x")
    with pytest.raises(TypeError):
        Nebula()


def test_facade_covers_the_seed_surface(
    api_url: str,
    database_url: str,
    node: tuple[str, FakeSorobanRpc],
    chain: Chain,
    keypair: Keypair,
    sleeps: SleepRecorder,
) -> None:
    rpc_url, rpc = node
    client = Nebula.initialize(api_url + "/api/v1", rpc_url=rpc_url, contract_id=CONTRACT)
    client._sleep = sleeps
    receiver = Keypair.from_raw_ed25519_seed(bytes([2]) * 32)
    close = int(chain.close_time(1_000).timestamp())
    created = Nebula.create_stream(
        receiver=receiver.public_key,
        token=ce.TOKEN,
        total_amount=1_000,
        start_time=close - 50,
        end_time=close + 50,
        signer=keypair,
    )
    assert not isinstance(created, PreparedTransaction)
    withdrawn = Nebula.withdraw_from_stream(WithdrawParams(stream_id=0), signer=receiver)
    assert not isinstance(withdrawn, PreparedTransaction) and withdrawn.amount > 0
    Nebula.top_up_stream(TopUpParams(stream_id=0, extra_amount=10), signer=keypair)
    unsigned = Nebula.cancel_stream(CancelStreamParams(stream_id=0, caller=keypair.public_key))
    assert isinstance(unsigned, PreparedTransaction)
    Nebula.cancel_stream(CancelStreamParams(stream_id=created.stream_id), signer=keypair)
    assert [e for e in rpc.submitted] and len(rpc.submitted) == 4
    ingest_chain(database_url, chain)
    seed(database_url, [one_stream(5, ledger=2_000)])

    assert Nebula.get_stream(created.stream_id).status == "CANCELED"
    assert {s.stream_id for s in Nebula.get_streams(receiver.public_key, limit=1)} == {0, 5}
    assert [e.type for e in Nebula.get_stream_events(created.stream_id)] == [
        "create_v2",
        "claim",
        "top_up",
        "cancel",
    ]
    assert len(Nebula.get_stream_history(created.stream_id).events) == 4
    assert Nebula.get_yield_data(f"{CONTRACT}-5").as_of == NOW
    assert Nebula.calculate_yield(f"{CONTRACT}-5", 10).days == 10
    assert Nebula.get_stats().total == 2
    assert Nebula.get_sync_status().contracts[0].contract == CONTRACT
    assert [h.stream.stream_id for h in Nebula.search_streams(f"{CONTRACT}-5")] == [5]

    token = Nebula.login(keypair)
    Nebula.set_auth_token(None)
    with pytest.raises(Exception, match="bearer token"):
        Nebula.list_invoice_links()
    Nebula.set_auth_token(token)
    link = Nebula.create_invoice_link(
        receiver=keypair.public_key, amount=3, token_address=ce.TOKEN, duration=60
    )
    assert Nebula.get_invoice_link(link.slug).id == link.id
    assert [x.id for x in Nebula.list_invoice_links(status="DRAFT")] == [link.id]
    paid = Nebula.pay_invoice_link(link, source=keypair.public_key)
    assert isinstance(paid, PreparedTransaction)
    canceled = Nebula.update_invoice_link_status(link.id, InvoiceLinkStatus.CANCELED)
    assert canceled.status is InvoiceLinkStatus.CANCELED
    Nebula.delete_invoice_link(link.id)
    with pytest.raises(NotFoundError):
        Nebula.get_invoice_link(link.slug)


def _builder() -> list[str]:
    uv = shutil.which("uv")
    if uv:
        return [uv, "build", "--quiet", str(SDK), "--out-dir"]
    return [sys.executable, "-m", "build", str(SDK), "--outdir"]


@pytest.mark.timeout(300)
def test_the_package_builds_and_passes_twine_check(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    built = subprocess.run(
        [*_builder(), str(out)], capture_output=True, text=True, timeout=280, check=False
    )
    assert built.returncode == 0, built.stdout + built.stderr
    dists = sorted(p for p in out.iterdir() if p.suffix in (".whl", ".gz"))  # uv adds .gitignore
    names = [p.name for p in dists]
    assert names == [
        "stellarstream_nebula_sdk-0.1.0-py3-none-any.whl",
        "stellarstream_nebula_sdk-0.1.0.tar.gz",
    ]
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dists)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2
    with zipfile.ZipFile(out / names[0]) as wheel:
        files = set(wheel.namelist())
    assert "nebula_sdk/py.typed" in files and "nebula_sdk/lib/contract.py" in files
