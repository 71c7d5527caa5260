"""Webhook endpoints of the signed-in issuer (bearer auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from stellarstream.api.deps import Account, Context
from stellarstream.api.schemas.webhooks import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    ReplayRequest,
    ReplayResult,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from stellarstream.clock import Clock
from stellarstream.db.models import WebhookEndpoint
from stellarstream.secretbox import SecretBox
from stellarstream.webhooks.service import NewSecret, WebhookService

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def get_webhook_service(context: Context) -> WebhookService:
    return WebhookService(
        context.sessions,
        context.clock,
        SecretBox(context.settings.secrets_key_value),
        allow_http_localhost=context.settings.webhooks_allow_http_localhost,
    )


def get_clock(context: Context) -> Clock:
    return context.clock


Webhooks = Annotated[WebhookService, Depends(get_webhook_service)]
Now = Annotated[Clock, Depends(get_clock)]


def _out(endpoint: WebhookEndpoint, clock: Clock) -> WebhookOut:
    out = WebhookOut.model_validate(endpoint)
    expires = endpoint.previous_secret_expires_at
    if expires is not None and expires <= clock():
        out.previous_secret_expires_at = None  # the rotation's overlap is over
    return out


def _created(new: NewSecret, clock: Clock) -> WebhookCreated:
    return WebhookCreated(**_out(new.endpoint, clock).model_dump(), secret=new.secret)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(
    body: WebhookCreate, account: Account, service: Webhooks, clock: Now
) -> WebhookCreated:
    """Register an endpoint; the response holds its signing secret, shown only this once."""
    new = service.create(
        account, body.url, event_types=body.event_types, description=body.description
    )
    return _created(new, clock)


@router.get("", response_model=WebhookList)
def list_webhooks(account: Account, service: Webhooks, clock: Now) -> WebhookList:
    """Your endpoints (without their secrets)."""
    return WebhookList(data=[_out(e, clock) for e in service.list_for(account)])


@router.get("/{endpoint_id}", response_model=WebhookOut)
def get_webhook(endpoint_id: str, account: Account, service: Webhooks, clock: Now) -> WebhookOut:
    return _out(service.get(account, endpoint_id), clock)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(endpoint_id: str, account: Account, service: Webhooks) -> Response:
    """Delete the endpoint; its queued deliveries are dropped."""
    service.delete(account, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/rotate-secret", response_model=WebhookCreated)
def rotate_secret(
    endpoint_id: str, account: Account, service: Webhooks, clock: Now
) -> WebhookCreated:
    """A new signing secret (shown only in this response). For 24 h the previous secret signs
    too: ``webhook-signature`` carries both signatures, so receivers switch without a gap."""
    return _created(service.rotate_secret(account, endpoint_id), clock)


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    endpoint_id: str,
    account: Account,
    service: Webhooks,
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=512),
) -> DeliveryList:
    """Deliveries to the endpoint, newest first: attempts, last status and response."""
    page = service.deliveries(account, endpoint_id, limit=limit, cursor=cursor)
    return DeliveryList(
        data=[DeliveryOut.model_validate(d) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(
    endpoint_id: str, delivery_id: int, account: Account, service: Webhooks
) -> DeliveryDetail:
    """One delivery with every attempt (time, duration, the receiver's status and answer)."""
    delivery, attempts = service.delivery(account, endpoint_id, delivery_id)
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery).model_dump(),
        attempts_log=[AttemptOut.model_validate(a) for a in attempts],
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
def retry_delivery(
    endpoint_id: str, delivery_id: int, account: Account, service: Webhooks
) -> DeliveryOut:
    """Send the delivery again now, whatever its status, with the same ``webhook-id`` (the
    event id: receivers deduplicate on it); failures are retried for another 3 days."""
    return DeliveryOut.model_validate(service.retry(account, endpoint_id, delivery_id))


@router.post(
    "/{endpoint_id}/replay", status_code=status.HTTP_202_ACCEPTED, response_model=ReplayResult
)
def replay(
    endpoint_id: str, body: ReplayRequest, account: Account, service: Webhooks
) -> ReplayResult:
    """Queue again every delivery created since ``since`` (e.g. after an outage of yours),
    each with its original ``webhook-id``."""
    return ReplayResult(requeued=service.replay(account, endpoint_id, body.since, body.until))
