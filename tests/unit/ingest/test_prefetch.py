"""When a sync forks its worker process (STELLARSTREAM_SYNC_WORKER)."""

from __future__ import annotations

import pytest

from stellarstream.ingest.backfill import prefetch


@pytest.mark.parametrize(
    ("platform", "cpus", "setting", "forks"),
    [
        ("linux", {0, 1}, "auto", True),
        ("linux", {0, 1, 2, 3}, "auto", True),
        ("linux", {3}, "auto", False),  # one CPU to run on (a container's or taskset's limit)
        ("darwin", {0, 1}, "auto", False),  # no fork of a running process there
        ("linux", {3}, "true", True),
        ("darwin", {0, 1}, "true", True),
        ("linux", {0, 1}, "false", False),
    ],
)
def test_auto_forks_on_linux_with_two_cpus_and_the_setting_forces_either_way(
    monkeypatch: pytest.MonkeyPatch, platform: str, cpus: set[int], setting: str, forks: bool
) -> None:
    monkeypatch.setattr(prefetch.sys, "platform", platform)
    monkeypatch.setattr(prefetch.os, "sched_getaffinity", lambda _pid: cpus, raising=False)
    assert prefetch.use_worker(setting) is forks  # type: ignore[arg-type]
