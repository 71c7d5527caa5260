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


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="HMAC-SHA256 key of StellarStream-Signature; shown only in this response"
    )


class WebhookList(ApiOut):
    data: list[WebhookOut]


class DeliveryOut(ApiOut):
    id: int
    event_id: str = Field(description="Idempotency key: the same for every retry of one event")
    event_type: str
    status: str = Field(description="PENDING, DELIVERED or FAILED (gave up after 24 h)")
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_response: str | None = Field(description="Start of the last response body or error")
    delivered_at: datetime | None
    created_at: datetime


class DeliveryList(ApiOut):
    data: list[DeliveryOut]
    next_cursor: str | None
