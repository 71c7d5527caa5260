"""Invoice links over HTTP on both databases: create, share, track, manage."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from stellar_sdk import Keypair
from tests.support.auth import sign_in
from tests.support.clock import FakeClock
from tests.support.factories import account, contract, invoice_body

from stellarstream.db.types import I128_MAX

URL = "/api/v1/invoice-links"


@pytest.fixture
def issuer() -> Keypair:
    return Keypair.random()


@pytest.fixture
def auth(client: httpx.Client, issuer: Keypair) -> dict[str, str]:
    return sign_in(client, issuer)


def create(client: httpx.Client, auth: dict[str, str], **overrides: object) -> dict[str, object]:
    response = client.post(URL, json=invoice_body(**overrides), headers=auth)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def set_status(
    client: httpx.Client, auth: dict[str, str], link_id: object, status: str
) -> httpx.Response:
    return client.patch(f"{URL}/{link_id}/status", json={"status": status}, headers=auth)


# --- create and read ---------------------------------------------------------------------


def test_create_returns_a_draft_with_share_url_and_decodable_params(
    client: httpx.Client, auth: dict[str, str], issuer: Keypair, clock: FakeClock
) -> None:
    link = create(client, auth, pdfUrl="https://example.com/inv.pdf")
    assert link["status"] == "DRAFT"
    assert link["sender"] == issuer.public_key
    assert link["shareUrl"] == f"http://pay.example.test/invoice/{link['slug']}"
    assert link["amount"] == "1000000000"
    assert link["pdfUrl"] == "https://example.com/inv.pdf"
    params = json.loads(base64.b64decode(str(link["xdrParams"])))
    assert params == {
        "receiver": account(200),
        "amount": "1000000000",
        "tokenAddress": contract(201),
        "duration": 86400,
        "startTime": int(clock().timestamp()),
    }


def test_get_by_slug_is_public_and_matches_the_created_link(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    link = create(client, auth)
    fetched = client.get(f"{URL}/{link['slug']}")
    assert fetched.status_code == 200
    assert fetched.json() == link


def test_unknown_slug_is_404_in_the_error_shape(client: httpx.Client) -> None:
    response = client.get(f"{URL}/doesnotexist0000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("amount", [str(2**63), str(2**64 + 1), str(I128_MAX)])
def test_amounts_above_2_63_round_trip_exactly(
    client: httpx.Client, auth: dict[str, str], amount: str
) -> None:
    link = create(client, auth, amount=amount)
    assert link["amount"] == amount
    assert client.get(f"{URL}/{link['slug']}").json()["amount"] == amount
    assert json.loads(base64.b64decode(str(link["xdrParams"])))["amount"] == amount


def test_muxed_and_contract_receivers_are_accepted(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    from stellar_sdk import MuxedAccount

    muxed = MuxedAccount(account(3), 42).account_muxed
    assert create(client, auth, receiver=muxed)["receiver"] == muxed
    assert create(client, auth, receiver=contract(4))["receiver"] == contract(4)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("receiver", "GBADADDRESS"),
        ("receiver", Keypair.random().secret),
        ("receiver", None),
        ("tokenAddress", account(9)),
        ("tokenAddress", "CNOTACONTRACT"),
        ("amount", "0"),
        ("amount", "-5"),
        ("amount", "1.5"),
        ("amount", "12abc"),
        ("amount", 1000),
        ("amount", str(I128_MAX + 1)),
        ("amount", "١٢٣"),
        ("duration", 0),
        ("duration", 10 * 366 * 86400),
        ("duration", 1.5),
        ("duration", "60"),
        ("description", "x" * 501),
        ("pdfUrl", "http://example.com/a.pdf"),
        ("pdfUrl", "javascript:alert(1)"),
        ("expiresAt", "2020-01-01T00:00:00Z"),
        ("expiresAt", "2099-01-01T00:00:00"),
        ("expiresAt", "tomorrow"),
    ],
)
def test_each_bad_field_is_a_422_naming_it_and_nothing_is_stored(
    client: httpx.Client, auth: dict[str, str], field: str, value: object
) -> None:
    body = invoice_body()
    if value is None:
        body.pop(field)
    else:
        body[field] = value
    response = client.post(URL, json=body, headers=auth)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert error["code"] == "validation_error"
    assert field in error["message"]
    assert client.get(URL, headers=auth).json()["data"] == []


def test_unknown_fields_and_bad_json_are_rejected(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    response = client.post(URL, json=invoice_body(memo="x"), headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "memo"
    raw = client.post(
        URL, content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert raw.status_code == 400
    assert raw.json()["error"]["code"] == "bad_request"


def test_boundary_values_are_accepted(client: httpx.Client, auth: dict[str, str]) -> None:
    link = create(client, auth, duration=1, description="d" * 500, amount="1")
    assert (link["duration"], link["amount"]) == (1, "1")


# --- lifecycle -------------------------------------------------------------------------------


def test_draft_signed_completed(client: httpx.Client, auth: dict[str, str]) -> None:
    link = create(client, auth)
    signed = set_status(client, auth, link["id"], "SIGNED")
    assert signed.status_code == 200 and signed.json()["status"] == "SIGNED"
    assert signed.json()["signedAt"] is not None
    done = client.patch(
        f"{URL}/{link['id']}/status",
        json={"status": "COMPLETED", "txHash": "ab" * 32, "streamId": 7},
        headers=auth,
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["txHash"], done.json()["streamId"]) == (
        "COMPLETED",
        "ab" * 32,
        7,
    )
    assert done.json()["completedAt"] is not None


def test_draft_can_complete_directly_and_be_canceled(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    assert (
        set_status(client, auth, create(client, auth)["id"], "COMPLETED").json()["status"]
        == "COMPLETED"
    )
    canceled = set_status(client, auth, create(client, auth)["id"], "CANCELED").json()
    assert canceled["status"] == "CANCELED" and canceled["canceledAt"] is not None


@pytest.mark.parametrize(
    ("path", "target", "allowed"),
    [
        (["SIGNED"], "DRAFT", "CANCELED, COMPLETED"),
        (["COMPLETED"], "CANCELED", "none, it is final"),
        (["CANCELED"], "SIGNED", "none, it is final"),
        ([], "EXPIRED", "CANCELED, COMPLETED, SIGNED"),
        ([], "DRAFT", "CANCELED, COMPLETED, SIGNED"),
    ],
)
def test_forbidden_transitions_are_409_naming_current_and_allowed(
    client: httpx.Client, auth: dict[str, str], path: list[str], target: str, allowed: str
) -> None:
    link = create(client, auth)
    for step in path:
        assert set_status(client, auth, link["id"], step).status_code == 200
    response = set_status(client, auth, link["id"], target)
    assert response.status_code == 409
    message = response.json()["error"]["message"]
    current = path[-1] if path else "DRAFT"
    assert f"is {current}" in message and allowed in message


def test_bad_status_value_is_422(client: httpx.Client, auth: dict[str, str]) -> None:
    response = set_status(client, auth, create(client, auth)["id"], "PAID")
    assert response.status_code == 422 and response.json()["error"]["field"] == "status"


def test_expired_link_reads_expired_everywhere_and_is_final(
    client: httpx.Client, auth: dict[str, str], clock: FakeClock
) -> None:
    expires = (clock() + timedelta(hours=1)).isoformat()
    link = create(client, auth, expiresAt=expires)
    signed = create(client, auth, expiresAt=expires)
    set_status(client, auth, signed["id"], "SIGNED")
    clock.advance(3600)
    assert client.get(f"{URL}/{link['slug']}").json()["status"] == "EXPIRED"
    assert client.get(f"{URL}/{signed['slug']}").json()["status"] == "EXPIRED"
    listed = client.get(URL, headers=auth).json()["data"]
    assert {item["status"] for item in listed} == {"EXPIRED"}
    expired = client.get(URL, params={"status": "EXPIRED"}, headers=auth).json()["data"]
    assert len(expired) == 2
    assert client.get(URL, params={"status": "DRAFT"}, headers=auth).json()["data"] == []
    response = set_status(client, auth, link["id"], "SIGNED")
    assert response.status_code == 409 and "is EXPIRED" in response.json()["error"]["message"]


def test_completed_link_never_reads_expired(
    client: httpx.Client, auth: dict[str, str], clock: FakeClock
) -> None:
    link = create(client, auth, expiresAt=(clock() + timedelta(minutes=5)).isoformat())
    set_status(client, auth, link["id"], "COMPLETED")
    clock.advance(3600)
    assert client.get(f"{URL}/{link['slug']}").json()["status"] == "COMPLETED"


# --- ownership -------------------------------------------------------------------------------


def test_another_issuers_link_is_404_for_patch_and_delete(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    link = create(client, auth)
    stranger = sign_in(client, Keypair.random())
    patch = set_status(client, stranger, link["id"], "CANCELED")
    delete = client.delete(f"{URL}/{link['id']}", headers=stranger)
    missing = set_status(client, stranger, "0" * 32, "CANCELED")
    assert patch.status_code == delete.status_code == missing.status_code == 404
    assert patch.json()["error"]["message"].replace(str(link["id"]), "X") == missing.json()[
        "error"
    ]["message"].replace("0" * 32, "X")
    assert client.get(f"{URL}/{link['slug']}").json()["status"] == "DRAFT"
    assert client.get(URL, headers=stranger).json()["data"] == []


def test_writes_without_token_are_401(client: httpx.Client, auth: dict[str, str]) -> None:
    link = create(client, auth)
    assert client.post(URL, json=invoice_body()).status_code == 401
    assert client.patch(f"{URL}/{link['id']}/status", json={"status": "SIGNED"}).status_code == 401
    assert client.delete(f"{URL}/{link['id']}").status_code == 401


# --- list --------------------------------------------------------------------------------------


def test_list_is_newest_first_with_keyset_pages_and_status_filter(
    client: httpx.Client, auth: dict[str, str], clock: FakeClock
) -> None:
    ids = []
    for _ in range(5):
        ids.append(create(client, auth)["id"])
        clock.advance(1)
    ids.append(create(client, auth)["id"])  # same second as none before: ordering by id breaks ties
    set_status(client, auth, ids[1], "SIGNED")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(URL, params=params, headers=auth).json()
        assert len(page["data"]) <= 2
        seen += [item["id"] for item in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    signed = client.get(URL, params={"status": "SIGNED"}, headers=auth).json()
    assert [item["id"] for item in signed["data"]] == [ids[1]] and signed["nextCursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"cursor": "!!!"}, {"cursor": "WzFd"}, {"status": "PAID"}],
)
def test_bad_list_parameters_are_4xx(
    client: httpx.Client, auth: dict[str, str], params: dict[str, object]
) -> None:
    response = client.get(URL, params=params, headers=auth)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["field"] in {"limit", "cursor", "status"}


# --- delete ------------------------------------------------------------------------------------


def test_delete_draft_canceled_and_expired_but_not_payment_records(
    client: httpx.Client, auth: dict[str, str], clock: FakeClock
) -> None:
    draft = create(client, auth)
    canceled = create(client, auth)
    set_status(client, auth, canceled["id"], "CANCELED")
    expiring = create(client, auth, expiresAt=(clock() + timedelta(seconds=30)).isoformat())
    signed = create(client, auth)
    set_status(client, auth, signed["id"], "SIGNED")
    completed = create(client, auth)
    set_status(client, auth, completed["id"], "COMPLETED")
    clock.advance(60)
    for link in (draft, canceled, expiring):
        assert client.delete(f"{URL}/{link['id']}", headers=auth).status_code == 204
        assert client.get(f"{URL}/{link['slug']}").status_code == 404
    for link, status in ((signed, "SIGNED"), (completed, "COMPLETED")):
        response = client.delete(f"{URL}/{link['id']}", headers=auth)
        assert response.status_code == 409 and f"is {status}" in response.json()["error"]["message"]
        assert client.get(f"{URL}/{link['slug']}").status_code == 200


# --- idempotency ---------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_response(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = client.post(URL, json=invoice_body(), headers=headers)
    second = client.post(URL, json=invoice_body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get(URL, headers=auth).json()["data"]) == 1


def test_idempotency_key_with_another_body_is_409(
    client: httpx.Client, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "order-43"}
    assert client.post(URL, json=invoice_body(), headers=headers).status_code == 201
    other = client.post(URL, json=invoice_body(amount="5"), headers=headers)
    assert other.status_code == 409 and other.json()["error"]["field"] == "Idempotency-Key"
    assert len(client.get(URL, headers=auth).json()["data"]) == 1


def test_idempotency_keys_are_per_account(client: httpx.Client, auth: dict[str, str]) -> None:
    other = sign_in(client, Keypair.random())
    a = client.post(URL, json=invoice_body(), headers={**auth, "Idempotency-Key": "k"})
    b = client.post(URL, json=invoice_body(), headers={**other, "Idempotency-Key": "k"})
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


def test_concurrent_requests_with_one_key_create_one_link(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    results: list[httpx.Response] = []

    def post() -> None:
        with httpx.Client(base_url=api_url, timeout=20) as c:
            results.append(
                c.post(URL, json=invoice_body(), headers={**auth, "Idempotency-Key": "race"})
            )

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["id"] for r in results}) == 1
    assert len(client.get(URL, headers=auth).json()["data"]) == 1


# --- concurrency -------------------------------------------------------------------------------


def race(
    api_url: str, auth: dict[str, str], link_id: object, statuses: tuple[str, str]
) -> dict[str, int]:
    """PATCH both statuses at the same instant from two connections; return each status code."""
    barrier = threading.Barrier(len(statuses))
    codes: dict[str, int] = {}

    def move(status: str) -> None:
        with httpx.Client(base_url=api_url, timeout=20) as c:
            barrier.wait()
            codes[status] = set_status(c, auth, link_id, status).status_code

    threads = [threading.Thread(target=move, args=(s,)) for s in statuses]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_concurrent_status_updates_are_never_lost(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    """SIGNED and CANCELED race from DRAFT: CANCELED is legal after either, so it always applies."""
    for _ in range(5):
        link = create(client, auth)
        codes = race(api_url, auth, link["id"], ("SIGNED", "CANCELED"))
        final = client.get(f"{URL}/{link['slug']}").json()
        assert codes["CANCELED"] == 200
        assert final["status"] == "CANCELED" and final["canceledAt"] is not None
        # SIGNED either applied first (and is recorded) or came second and was refused.
        assert (codes["SIGNED"] == 200) == (final["signedAt"] is not None)


def test_concurrent_conflicting_final_states_let_exactly_one_win(
    api_url: str, client: httpx.Client, auth: dict[str, str]
) -> None:
    for _ in range(5):
        link = create(client, auth)
        codes = race(api_url, auth, link["id"], ("COMPLETED", "CANCELED"))
        assert sorted(codes.values()) == [200, 409]
        winner = next(s for s, c in codes.items() if c == 200)
        assert client.get(f"{URL}/{link['slug']}").json()["status"] == winner


def test_response_has_request_id_and_echoes_a_clients(client: httpx.Client) -> None:
    assert len(client.get("/livez").headers["x-request-id"]) == 16
    assert (
        client.get("/livez", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )


def test_timestamps_are_utc_iso8601(client: httpx.Client, auth: dict[str, str]) -> None:
    link = create(client, auth)
    created = datetime.fromisoformat(str(link["createdAt"]))
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)
