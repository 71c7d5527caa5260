"""Event filters and endpoint URL rules."""

from __future__ import annotations

import pytest

from stellarstream.errors import ValidationError
from stellarstream.webhooks.outbox import EVENT_TYPES, wants
from stellarstream.webhooks.service import check_event_types, check_url


def test_filters() -> None:
    assert wants(None, "invoice.created")
    assert wants(["*"], "stream.claim")
    assert wants(["invoice.*"], "invoice.expired") and not wants(["invoice.*"], "stream.claim")
    assert wants(["stream.claim"], "stream.claim") and not wants(["stream.claim"], "stream.cancel")


def test_known_event_types() -> None:
    assert {"invoice.created", "invoice.completed", "stream.create_v2", "stream.claim"} <= set(
        EVENT_TYPES
    )
    assert check_event_types(["stream.*", "invoice.signed", "stream.*"]) == [
        "invoice.signed",
        "stream.*",
    ]
    with pytest.raises(ValidationError):
        check_event_types(["invoice.paid"])


@pytest.mark.parametrize(
    ("url", "local_ok", "ok"),
    [
        ("https://hooks.example.com/x", False, True),
        ("https://hooks.example.com:8443/x?y=1", False, True),
        ("http://hooks.example.com/x", False, False),
        ("http://hooks.example.com/x", True, False),
        ("http://127.0.0.1:9000/x", True, True),
        ("http://localhost/x", True, True),
        ("http://127.0.0.1:9000/x", False, False),
        ("https://192.168.1.5/x", False, False),
        ("https://169.254.169.254/latest", False, False),
        ("https://u:p@hooks.example.com/", False, False),
        ("gopher://hooks.example.com/", False, False),
    ],
)
def test_urls(url: str, local_ok: bool, ok: bool) -> None:
    if ok:
        assert check_url(url, allow_http_localhost=local_ok) == url
    else:
        with pytest.raises(ValidationError):
            check_url(url, allow_http_localhost=local_ok)
