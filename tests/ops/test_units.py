"""The systemd units pass ``systemd-analyze verify``; the logrotate file really rotates."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.ops import REPO

UNITS = sorted((REPO / "deploy/systemd").glob("*.service"))
INSTALL_DIR = "/opt/stellarstream"


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        # Not a CI failure: the tool comes with systemd / logrotate packages, which not every
        # machine that runs the tests has (the units are also checked wherever it exists).
        pytest.skip(f"{tool} is not installed (apt-get install systemd / logrotate provides it)")
    return path


def test_the_three_units_exist_with_restart_memory_backstop_and_boot_target() -> None:
    assert [u.name for u in UNITS] == [
        "stellarstream-api.service",
        "stellarstream-indexer.service",
        "stellarstream-monitor.service",
    ]
    for unit in UNITS:
        text = unit.read_text()
        assert "Restart=always" in text and "WantedBy=multi-user.target" in text, unit
        assert re.search(r"^MemoryMax=\d+[MG]$", text, re.MULTILINE), unit
        assert "KillSignal=SIGTERM" in text, unit
    indexer = (REPO / "deploy/systemd/stellarstream-indexer.service").read_text()
    assert "Type=notify" in indexer and re.search(r"^WatchdogSec=", indexer, re.MULTILINE)
    api = (REPO / "deploy/systemd/stellarstream-api.service").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in api and "KillMode=mixed" in api


def test_systemd_analyze_verify_passes(tmp_path: Path) -> None:
    tool = require("systemd-analyze")
    # The units name /opt/stellarstream; verify checks that ExecStart exists, so point them at
    # this checkout (as an install elsewhere would edit them).
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALL_DIR, str(REPO)))
    result = subprocess.run(
        [tool, "verify", *sorted(str(p) for p in tmp_path.glob("*.service"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys and bad values are only warnings (exit 0): there must be none at all.
    output = result.stdout + result.stderr
    problems = [line for line in output.splitlines() if "stellarstream" in line]
    assert result.returncode == 0 and problems == [], output


def test_logrotate_rotates_to_compressed_date_named_files(tmp_path: Path) -> None:
    tool = require("logrotate")
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "api-out.log").write_text('{"event": "http_request"}\n' * 20_000)  # ~540 kB
    (logs / "indexer-out.log").write_text("")  # empty: notifempty leaves it alone
    config = (REPO / "deploy/logrotate/stellarstream").read_text()
    config = config.replace("/var/log/stellarstream", str(logs))
    # su/create name the service user, which this machine need not have.
    config = re.sub(r"^\s*(su|create) .*$", "", config, flags=re.MULTILINE)
    config = config.replace("maxsize 100M", "maxsize 100k")  # tiny, for the test
    conf = tmp_path / "stellarstream.conf"
    conf.write_text(config)
    state = tmp_path / "state"
    result = subprocess.run(
        [tool, "--state", str(state), "--verbose", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    rotated = sorted(p.name for p in logs.iterdir() if p.name.startswith("api-out.log-"))
    assert len(rotated) == 1, (rotated, result.stderr)
    assert re.fullmatch(r"api-out\.log-\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.gz", rotated[0])
    assert gzip.decompress((logs / rotated[0]).read_bytes()).count(b"\n") == 20_000
    assert (logs / "api-out.log").stat().st_size == 0  # copytruncate: same file, emptied
    assert not any(p.name.startswith("indexer-out.log-") for p in logs.iterdir())
