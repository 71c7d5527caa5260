"""The committed page bundles are exactly what a fresh build of ``web/`` from its lock file
makes (``npm ci`` then esbuild). Without npm the test is skipped; with ``CI`` set it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(900)
def test_a_fresh_build_from_the_lock_file_matches_the_committed_bundles() -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("npm and node are needed to check the web bundles (apt-get install npm)")
        pytest.skip("npm/node not installed: the web bundle check is skipped")
    result = subprocess.run(
        [str(REPO / "scripts" / "build-web"), "--check"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bundles match a fresh build" in result.stdout
