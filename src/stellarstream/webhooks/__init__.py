"""Webhooks: issuers hear about their invoice links (and the streams paying them) over HTTPS.

* **Outbox.** A change and its notification commit together: the invoice service (create,
  status moves, ``/submitted``) and the indexer's completion and ingestion path add one
  ``webhook_deliveries`` row per subscribed endpoint in the transaction that makes the change
  (:mod:`.outbox`). Nothing is sent inline: ingestion never waits for a receiver.
* **Worker** (``stellarstream webhooks``, started by ``stellarstream up``): claims due rows with a
  lease (``locked_until``; ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's
  ``BEGIN IMMEDIATE`` serialises claims), POSTs them, records every attempt (``attempts``,
  ``last_status_code``, ``last_response`` excerpt, ``next_attempt_at``) and retries non-2xx answers
  and network errors with exponential backoff (30 s doubling to 1 h) for 24 h, then marks the row
  FAILED (:mod:`.worker`). Expiry is a sweep: DRAFT/SIGNED links whose ``expiresAt`` passed get
  ``invoice.expired`` once.
* **Delivery is at-least-once.** A worker killed after a receiver answered but before the result
  was recorded delivers again when the lease runs out. Every delivery of one event carries the same
  ``StellarStream-Event-Id`` header (and ``id`` in the body): receivers deduplicate on it.
* **Signature** (:mod:`.signature`): ``StellarStream-Signature: t=<unix seconds>,v1=<hex>`` where
  ``v1 = HMAC-SHA256(endpoint secret, f"{t}.{raw body}")``. Verify by recomputing over the raw
  body bytes, comparing in constant time, and rejecting a ``t`` more than 5 minutes from now.

Event types: ``invoice.created``, ``invoice.signed``, ``invoice.completed``, ``invoice.canceled``,
``invoice.expired``, and ``stream.<action>`` (``stream.create_v2``, ``stream.claim``,
``stream.cancel``, ``stream.top_up``, ...) for contract events of a stream that paid an invoice.
"""
