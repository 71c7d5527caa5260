"""The getEvents page a sync asks for, with and without its worker process."""

from __future__ import annotations

import pytest

from stellarstream.config import Settings
from stellarstream.ingest.backfill.batching import ONE_PROCESS_PAGE_LIMIT
from stellarstream.ingest.wiring import page_limit


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_with_a_worker_the_sync_asks_for_the_nodes_largest_page() -> None:
    assert page_limit(settings(), worker=True) == 10_000


def test_in_one_process_the_page_is_capped_for_memory() -> None:
    assert ONE_PROCESS_PAGE_LIMIT < 10_000
    assert page_limit(settings(), worker=False) == ONE_PROCESS_PAGE_LIMIT


@pytest.mark.parametrize("worker", [True, False])
def test_a_smaller_setting_is_kept_either_way(worker: bool) -> None:
    assert page_limit(settings(sync_page_limit=300), worker=worker) == 300
