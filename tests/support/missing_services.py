"""One line per missing service at the end of a test run: skipped tests lose coverage silently
otherwise (the run still exits 0). With ``CI`` set the fixtures fail instead of skipping."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Service:
    name: str
    reason: re.Pattern[str]  # matched against a skipped test's reason
    remedy: str


POSTGRES_URL = "STELLARSTREAM_TEST_POSTGRES_URL"
SERVICES = (
    Service(
        "PostgreSQL",
        re.compile(r"^PostgreSQL not reachable"),
        "start it (Debian: apt-get install postgresql; pg_ctlcluster 15 main start) or set "
        f"{POSTGRES_URL} to a server the tests may create databases on",
    ),
    Service(
        "Redis",
        re.compile(r"^Redis not reachable"),
        "start it (apt-get install redis-server; redis-server --daemonize yes)",
    ),
    Service(
        "browser (Chromium)",
        re.compile(r"^browser tests skipped"),
        "apt-get install chromium zbar-tools fonts-dejavu-core",
    ),
    Service(
        "Node.js/npm",
        re.compile(r"npm"),
        "apt-get install nodejs npm",
    ),
    Service(
        "systemd-analyze/logrotate",
        re.compile(r"^(systemd-analyze|logrotate) is not installed"),
        "apt-get install systemd logrotate",
    ),
)


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _why(reason: str) -> str:
    """The cause in a few words (``Connection refused`` -> nothing listens there)."""
    where = re.search(r'at "?([\w.\-]+)"?, port (\d+)', reason) or re.search(
        r"at [a-z+]+://(?:[^@/]*@)?([\w.\-]+):(\d+)", reason
    )
    if "Connection refused" in reason and where:
        return f"nothing listens on {where.group(1)}:{where.group(2)}"
    return re.sub(r"\s+", " ", reason).strip()


def summary_lines(skipped: list[pytest.TestReport]) -> list[str]:
    counts: Counter[Service] = Counter()
    first: dict[Service, str] = {}
    for report in skipped:
        reason = _reason(report)
        for service in SERVICES:
            if service.reason.search(reason):
                counts[service] += 1
                first.setdefault(service, reason)
                break
    lines = []
    for service in SERVICES:
        if counts[service]:
            n = counts[service]
            tests = "test" if n == 1 else "tests"
            lines.append(
                f"{n} {service.name} {tests} skipped: {_why(first[service])}; {service.remedy}"
            )
    return lines


def report(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if r.skipped]
    lines = summary_lines(skipped)
    for line in lines:
        terminalreporter.write_line(line, yellow=True)
