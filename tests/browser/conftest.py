"""Headless Chromium (Debian's ``chromium``) driven by Playwright for Python.

Without chromium or the ``playwright`` package the browser tests are skipped, saying what is
missing; with ``CI`` set they fail instead (CI must install them: ``apt-get install chromium
zbar-tools`` and the ``playwright`` Python package; never ``playwright install``). Each page
collects console errors and uncaught exceptions, and a test fails if any appear. Screenshots go
to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    found = os.environ.get("STELLARSTREAM_TEST_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    reasons = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the 'playwright' Python package is not installed")
    if chromium_path() is None:
        reasons.append("no chromium executable (Debian: apt-get install chromium)")
    if shutil.which("zbarimg") is None:
        reasons.append("no zbarimg to decode QR codes (Debian: apt-get install zbar-tools)")
    return "; ".join(reasons) or None


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Not per session: Playwright's sync API keeps an asyncio
    loop running on the main thread while it is open, and other tests call ``asyncio.run``."""
    reason = missing()
    if reason is not None:
        if in_ci():
            pytest.fail(f"browser tests cannot run: {reason} (CI must install them)")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Console:
    """Console errors and page exceptions seen by one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, console: Console, site: str) -> Iterator[Any]:
    """A phone-sized page (390x844 CSS px, 3x pixels, touch); fails the test on console errors.

    Needs the test module's ``site`` fixture (the server's URL): requesting it here makes the
    page close before the server stops, so a poll in flight never hits a closed port.
    """
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            console.errors.append(f"console: {message.text} @ {message.location}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: console.errors.append(f"pageerror: {error}"))
    page.on("dialog", lambda dialog: console.errors.append(f"dialog: {dialog.message}"))
    page.set_default_timeout(15_000)
    yield page
    context.close()
    assert console.unexpected() == [], "the page logged errors"


class Shots:
    """``shot(page, "name")`` saves a full-page screenshot as
    ``test-artifacts/browser/<test>-<name>.png``; ``shot.path("name")`` is such a path."""

    def __init__(self, test: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.test = re.sub(r"[^A-Za-z0-9_.-]+", "-", test).strip("-")

    def path(self, name: str) -> Path:
        return ARTIFACTS / f"{self.test}-{name}.png"

    def __call__(self, page: Any, name: str) -> Path:
        path = self.path(name)
        # caret="initial": hiding the caret injects a <style> the page's CSP (rightly) refuses.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)
