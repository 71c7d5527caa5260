"""Webhook endpoint and delivery bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from stellarstream.api.schemas.common import ApiModel, ApiOut


class WebhookCreate(ApiModel):
    url: str = Field(max_length=2048, description="https:// URL that receives POSTed JSON events")
    event_types: list[str] | None = Field(
        default=None,
        max_length=32,
        description="Event types to receive (e.g. invoice.completed, stream.*); omit for all",
    )
    description: str | None = Field(default=None, max_length=200)


class WebhookOut(ApiOut):
    id: str
    url: str
    event_types: list[str] | None
    description: str | None
    created_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        default=None,
        description="After a secret rotation: until then the previous secret signs too "
        "(a second signature in webhook-signature); null otherwise",
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Standard Webhooks signing secret (whsec_<base64>): verify webhook-signature "
        "with it, e.g. standardwebhooks.Webhook(secret).verify(body, headers); shown only in "
        "this response"
    )


class ReplayRequest(ApiModel):
    since: datetime = Field(
        description="Queue again every delivery created at or after this instant (ISO-8601 "
        "with a time zone)"
    )
    until: datetime | None = Field(default=None, description="... and before this one")


class ReplayResult(ApiOut):
    requeued: int = Field(description="How many deliveries were queued again")


class WebhookList(ApiOut):
    data: list[WebhookOut]


class DeliveryOut(ApiOut):
    id: int
    event_id: str = Field(description="Idempotency key: the same for every retry of one event")
    event_type: str
    status: str = Field(
        description="PENDING, DELIVERED or FAILED (gave up after the retry window, 3 days)"
    )
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_response: str | None = Field(description="Start of the last response body or error")
    delivered_at: datetime | None
    created_at: datetime
    requeued_at: datetime | None = Field(
        default=None, description="The last retry or replay you asked for (a fresh schedule)"
    )


class AttemptOut(ApiOut):
    attempt: int = Field(description="The delivery's attempt number (1 = the first)")
    attempted_at: datetime
    duration_ms: int
    ok: bool = Field(description="The receiver answered 2xx")
    status_code: int | None = Field(description="The receiver's HTTP status; null: no answer")
    response: str | None = Field(description="Start of the response body, or the error")


class DeliveryDetail(DeliveryOut):
    attempts_log: list[AttemptOut] = Field(description="Every attempt, oldest first")


class DeliveryList(ApiOut):
    data: list[DeliveryOut]
    next_cursor: str | None
