"""The package's public face: ``__all__`` lists exactly the public names, sorted (httpx style)."""

from __future__ import annotations

import re

import nebula_sdk


def _isort_key(name: str) -> tuple[int, str]:
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions/modules.
    if name.isupper() or re.fullmatch(r"[A-Z0-9_]+", name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_lists_every_public_name_sorted() -> None:
    public = {name for name in vars(nebula_sdk) if not name.startswith("_")} | {"__version__"}
    assert set(nebula_sdk.__all__) == public
    assert nebula_sdk.__all__ == sorted(nebula_sdk.__all__, key=_isort_key)


def test_every_exported_name_resolves_and_version_matches_the_package() -> None:
    for name in nebula_sdk.__all__:
        assert getattr(nebula_sdk, name) is not None
    assert nebula_sdk.__version__ == "0.1.0"


def test_types_reexport_every_model() -> None:
    from nebula_sdk import types

    for name in types.__all__:
        assert getattr(nebula_sdk, name) is getattr(types, name)
