"""Webhook endpoints of the signed-in issuer (bearer auth)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from stellarstream.api.deps import Account, Context
from stellarstream.api.schemas.webhooks import (
    DeliveryList,
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
)
from stellarstream.webhooks.service import WebhookService

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


def get_webhook_service(context: Context) -> WebhookService:
    return WebhookService(
        context.sessions,
        context.clock,
        allow_http_localhost=context.settings.webhooks_allow_http_localhost,
    )


Webhooks = Annotated[WebhookService, Depends(get_webhook_service)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, account: Account, service: Webhooks) -> WebhookCreated:
    """Register an endpoint; the response holds its signing secret, shown only this once."""
    endpoint = service.create(
        account, body.url, event_types=body.event_types, description=body.description
    )
    return WebhookCreated.model_validate(endpoint)


@router.get("", response_model=WebhookList)
def list_webhooks(account: Account, service: Webhooks) -> WebhookList:
    """Your endpoints (without their secrets)."""
    return WebhookList(data=[WebhookOut.model_validate(e) for e in service.list_for(account)])


@router.get("/{endpoint_id}", response_model=WebhookOut)
def get_webhook(endpoint_id: str, account: Account, service: Webhooks) -> WebhookOut:
    return WebhookOut.model_validate(service.get(account, endpoint_id))


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(endpoint_id: str, account: Account, service: Webhooks) -> Response:
    """Delete the endpoint; its queued deliveries are dropped."""
    service.delete(account, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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
