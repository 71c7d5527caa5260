"""HorizonClient's retries against the fake Horizon: ``Retry-After`` in both forms, the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from tests.support.horizon import FakeHorizon, running_horizon

from stellarstream.chain.horizon import HorizonClient
from stellarstream.errors import SourceUnavailable


def _client(url: str, sleeps: list[float], backoff_max: float = 30.0) -> HorizonClient:
    return HorizonClient(url, max_retries=2, backoff_max=backoff_max, sleep=sleeps.append)


def test_retry_after_http_date_is_honoured() -> None:
    horizon = FakeHorizon([], elder=2, latest=50)
    later = datetime.now(UTC) + timedelta(seconds=4)
    horizon.retry_after = format_datetime(later, usegmt=True)
    horizon.faults.append("503")
    sleeps: list[float] = []
    with running_horizon(horizon) as url:
        client = _client(url, sleeps)
        assert client.ledger_bounds() == (2, 50)
        client.close()
    assert len(sleeps) == 1 and 2.0 <= sleeps[0] <= 4.0
    assert horizon.requests["/"] == 2


def test_retry_after_seconds_is_capped() -> None:
    horizon = FakeHorizon([], elder=2, latest=50)
    horizon.retry_after = "3600"
    horizon.faults.extend(["429", "429", "429"])
    sleeps: list[float] = []
    with running_horizon(horizon) as url:
        client = _client(url, sleeps, backoff_max=5.0)
        with pytest.raises(SourceUnavailable, match="HTTP 429"):
            client.ledger_bounds()
        client.close()
    assert sleeps == [5.0, 5.0]  # two retries, each capped at backoff_max
    assert horizon.requests["/"] == 3
