from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from stellar_sdk import Keypair, Network, StrKey

from stellarstream.config import load_settings
from stellarstream.secretbox import SecretBox, UnreadableSecret, new_key
from stellarstream.webhooks.worker import WorkerConfig

CONTRACT = StrKey.encode_contract(bytes([7]) * 32)


def test_missing_secrets_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_settings(_env_file=None, var_dir=tmp_path)
    for name in ("jwt_secret", "signing_secret", "secrets_key"):
        path = tmp_path / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings(_env_file=None, var_dir=tmp_path)
    assert first.jwt_key == second.jwt_key and len(first.jwt_key) == 64
    assert first.signing_keypair.public_key == second.signing_keypair.public_key
    assert first.secrets_key_value == second.secrets_key_value
    other = load_settings(_env_file=None, var_dir=tmp_path / "elsewhere")
    assert other.jwt_key != first.jwt_key


def test_explicit_secrets_win_and_nothing_is_written(tmp_path: Path) -> None:
    seed = Keypair.random().secret
    settings = load_settings(
        _env_file=None, var_dir=tmp_path, jwt_secret="x" * 40, signing_secret=seed
    )
    assert settings.jwt_key == "x" * 40
    assert settings.signing_keypair.secret == seed
    assert not (tmp_path / "jwt_secret").exists()


def test_the_secrets_key_encrypts_and_comes_from_the_environment_when_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = load_settings(_env_file=None, var_dir=tmp_path)
    box = SecretBox(generated.secrets_key_value)
    token = box.encrypt("whsec_abc")
    assert "whsec_abc" not in token and box.decrypt(token) == "whsec_abc"
    key = new_key()
    monkeypatch.setenv("STELLARSTREAM_SECRETS_KEY", key)
    configured = load_settings(_env_file=None, var_dir=tmp_path / "other")
    assert configured.secrets_key_value == key
    assert not (tmp_path / "other" / "secrets_key").exists()
    with pytest.raises(UnreadableSecret, match="another key"):
        SecretBox(key).decrypt(token)
    monkeypatch.setenv("STELLARSTREAM_SECRETS_KEY", "too-short")
    with pytest.raises(ValidationError, match="STELLARSTREAM_SECRETS_KEY must be 32 bytes"):
        load_settings(_env_file=None, var_dir=tmp_path)


def test_webhook_retries_last_three_days_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(_env_file=None, var_dir=tmp_path).webhook_retry_window_seconds == 259200
    monkeypatch.setenv("STELLARSTREAM_WEBHOOK_RETRY_WINDOW_SECONDS", "3600")
    settings = load_settings(_env_file=None, var_dir=tmp_path)
    assert WorkerConfig.from_settings(settings).retry_window == 3600


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, var_dir=tmp_path)
    assert settings.secrets_key_value not in repr(settings)
    assert settings.jwt_key not in repr(settings)
    assert settings.signing_keypair.secret not in repr(settings)


def test_env_vars_and_network_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STELLARSTREAM_NETWORK", "mainnet")
    monkeypatch.setenv("STELLARSTREAM_CONTRACT_IDS", f" {CONTRACT} ,")
    monkeypatch.setenv("STELLARSTREAM_PORT", "8080")
    settings = load_settings(_env_file=None, var_dir=tmp_path)
    assert settings.network_passphrase == Network.PUBLIC_NETWORK_PASSPHRASE
    assert settings.horizon_url == "https://horizon.stellar.org"
    assert settings.rpc_url == ""  # mainnet RPC comes from a provider
    assert settings.contract_ids == [CONTRACT]
    assert settings.port == 8080
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'stellarstream.db'}"


def test_testnet_is_the_default(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, var_dir=tmp_path)
    assert settings.network_passphrase == Network.TESTNET_NETWORK_PASSPHRASE
    assert settings.rpc_url == "https://soroban-testnet.stellar.org"
    assert (settings.host, settings.port) == ("127.0.0.1", 3000)
    assert settings.sep10_home_domain == "localhost:3000"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"network": "custom"}, "NETWORK_PASSPHRASE"),
        ({"contract_ids": "GABC"}, "contract id"),
        ({"signing_secret": "not-a-seed"}, "secret seed"),
        ({"port": 0}, "port"),
        ({"sync_worker": "maybe"}, "'auto', 'true' or 'false'"),
    ],
)
def test_bad_configuration_is_rejected_with_the_reason(
    tmp_path: Path, overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        load_settings(_env_file=None, var_dir=tmp_path, **overrides)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("given", "read"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("TRUE", "true"),
        ("1", "true"),
        ("on", "true"),
        ("false", "false"),
        ("0", "false"),
        ("no", "false"),
        (False, "false"),
    ],
)
def test_sync_worker_is_auto_unless_switched(tmp_path: Path, given: object, read: str) -> None:
    overrides = {} if given is None else {"sync_worker": given}
    assert load_settings(_env_file=None, var_dir=tmp_path, **overrides).sync_worker == read


def test_public_url_follows_host_and_port_unless_set() -> None:
    from stellarstream.config import Settings

    assert Settings(_env_file=None).public_url == "http://localhost:3000"
    assert Settings(_env_file=None, port=3095).public_url == "http://localhost:3095"
    assert Settings(_env_file=None, host="0.0.0.0", port=80).public_url == "http://localhost:80"
    assert Settings(_env_file=None, host="10.1.2.3").public_url == "http://10.1.2.3:3000"
    assert Settings(_env_file=None, host="fd00::5").public_url == "http://[fd00::5]:3000"
    bound = Settings(_env_file=None).bound_to("10.1.2.3", 3095)
    assert (bound.host, bound.port, bound.public_url) == ("10.1.2.3", 3095, "http://10.1.2.3:3095")
    assert bound.bound_to(None, 4000).public_url == "http://10.1.2.3:4000"
    explicit = Settings(_env_file=None, public_url="https://pay.example.test/", port=3095)
    assert explicit.public_url == "https://pay.example.test"
    assert explicit.bound_to("0.0.0.0", 4000).public_url == "https://pay.example.test"
