"""``scripts/uv`` (the README's first commands) works with a Python marked externally managed
(PEP 668, as Debian's and Ubuntu's own ``python3``): it installs uv into ``.venv-bootstrap/``,
never into that Python.

The uv it installs here is a stand-in wheel from a local folder (``PIP_NO_INDEX``), so the test
runs offline and proves what is installed where; the real command gets uv from PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _stdlib_of(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def externally_managed_copy(where: Path, *, without: tuple[str, ...] = ()) -> Path:
    """A Python whose stdlib folder holds an ``EXTERNALLY-MANAGED`` file: this interpreter's
    binary copied under ``where``, its stdlib entries (but ``without``) linked beside it."""
    base = Path(os.path.realpath(sys._base_executable))  # type: ignore[attr-defined]
    stdlib = Path(sysconfig.get_path("stdlib"))
    prefix = where / "python"
    (prefix / "bin").mkdir(parents=True)
    lib = prefix / stdlib.relative_to(sys.base_prefix)
    lib.mkdir(parents=True)
    for entry in stdlib.iterdir():
        if entry.name not in without:
            (lib / entry.name).symlink_to(entry)
    for shared in Path(sys.base_prefix, "lib").glob("libpython*"):
        (prefix / "lib" / shared.name).symlink_to(shared)
    (lib / "EXTERNALLY-MANAGED").write_text(
        "[externally-managed]\nError=This Python is managed by the system (test copy).\n"
    )
    python = prefix / "bin" / "python3"
    shutil.copy2(base, python)
    assert _stdlib_of(python) == lib, "the copy should use the marked stdlib"
    return python


def stand_in_uv_wheel(folder: Path) -> None:
    """A wheel named ``uv`` whose ``uv`` script prints its arguments."""
    folder.mkdir()
    name = "uv-99.0.0"
    with zipfile.ZipFile(folder / f"{name}-py3-none-any.whl", "w") as wheel:
        wheel.writestr("uv/__init__.py", "")
        script = zipfile.ZipInfo(f"{name}.data/scripts/uv")
        script.external_attr = 0o100755 << 16  # a regular, executable file
        wheel.writestr(script, '#!/bin/sh\necho "stand-in uv: $*"\n')
        wheel.writestr(
            f"{name}.dist-info/METADATA", "Metadata-Version: 2.1\nName: uv\nVersion: 99.0.0\n"
        )
        wheel.writestr(
            f"{name}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{name}.dist-info/RECORD", "")


@pytest.fixture(params=["marked-copy", "marked-copy-without-ensurepip", "debian-system-python"])
def managed_python(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "marked-copy":
        return externally_managed_copy(tmp_path)
    if request.param == "marked-copy-without-ensurepip":
        # As Debian's python3 without python3-venv: `python3 -m venv` cannot add pip.
        return externally_managed_copy(tmp_path, without=("ensurepip",))
    if not (SYSTEM_PYTHON.exists() and (_stdlib_of(SYSTEM_PYTHON) / "EXTERNALLY-MANAGED").exists()):
        pytest.skip("no externally managed /usr/bin/python3 here (the marked copy covers it)")
    return SYSTEM_PYTHON


def test_scripts_uv_installs_uv_privately_with_an_externally_managed_python(
    managed_python: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    stand_in_uv_wheel(wheels)
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "uv", checkout / "scripts" / "uv")
    env = {
        "PATH": "/usr/bin:/bin",  # no uv on it (asserted below)
        "HOME": str(tmp_path),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_NO_CACHE_DIR": "1",
    }
    assert shutil.which("uv", path=env["PATH"]) is None

    # What the README used to say is refused by this Python (PEP 668).
    refused = subprocess.run(
        [str(managed_python), "-m", "pip", "install", "-q", "uv"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "externally-managed-environment" in refused.stdout + refused.stderr

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(managed_python), "scripts/uv", "run", "stellarstream", "up"],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    first = run()
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout == "stand-in uv: run stellarstream up\n"
    assert "installing it into .venv-bootstrap/" in first.stderr
    private = checkout / ".venv-bootstrap"
    if (_stdlib_of(managed_python) / "ensurepip").exists():
        assert (private / "bin" / "uv").exists()  # a venv, pip inside it
    else:
        assert (private / "target" / "bin" / "uv").exists()  # no venv pip: pip --target
    # Nothing went into the managed Python itself (the stand-in is version 99.0.0).
    versions = "import importlib.metadata as m; print([d.version for d in m.distributions()])"
    site = subprocess.run(
        [str(managed_python), "-c", versions],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "99.0.0" not in site.stdout

    # The second run reuses it: no install, same answer.
    second = run()
    assert second.returncode == 0, second.stderr
    assert second.stdout == "stand-in uv: run stellarstream up\n"
    assert second.stderr == ""


def test_scripts_uv_prefers_the_uv_on_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").write_text('#!/bin/sh\necho "path uv: $*"\n')
    (bin_dir / "uv").chmod(0o755)
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "uv", checkout / "scripts" / "uv")
    result = subprocess.run(
        [sys.executable, "scripts/uv", "--version"],
        cwd=checkout,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "path uv: --version\n"
    assert not (checkout / ".venv-bootstrap").exists()
