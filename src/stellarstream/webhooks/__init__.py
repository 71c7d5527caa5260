"""Webhooks: issuers hear about their invoice links (and the streams paying them) over HTTPS.

* **Outbox.** A change and its notification commit together: the invoice service (create,
  status moves, ``/submitted``) and the indexer's completion and ingestion path add one
  ``webhook_deliveries`` row per subscribed endpoint in the transaction that makes the change
  (:mod:`.outbox`). Nothing is sent inline: ingestion never waits for a receiver.
* **Worker** (``stellarstream webhooks``, started by ``stellarstream up``): claims due rows with a
  lease (``locked_until``; ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's
  ``BEGIN IMMEDIATE`` serialises claims), POSTs them, records every attempt (``attempts``,
  ``last_status_code``, ``last_response`` excerpt, ``next_attempt_at``, and one
  ``webhook_attempts`` row per attempt) and retries non-2xx answers and network errors with
  exponential backoff like Stripe's (30 s doubling to 6 h) for 3 days, then marks the row FAILED
  (:mod:`.worker`). The owner may retry one delivery or replay every delivery since a time
  (:mod:`.service`): the rows are queued again with their event ids and a fresh schedule.
  Expiry is a sweep: DRAFT/SIGNED links whose ``expiresAt`` passed get ``invoice.expired`` once.
* **Delivery is at-least-once.** A worker killed after a receiver answered but before the result
  was recorded delivers again when the lease runs out. Every delivery of one event carries the same
  ``webhook-id`` header (and ``id`` in the body): receivers deduplicate on it.
* **Signature** (:mod:`.signature`): Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature: v1,<base64>``), verifiable with the ``standardwebhooks`` libraries. After a
  secret rotation both secrets sign for 24 h. Secrets are stored encrypted
  (:mod:`stellarstream.secretbox`).

Event types: ``invoice.created``, ``invoice.signed``, ``invoice.completed``, ``invoice.canceled``,
``invoice.expired``, and ``stream.<action>`` (``stream.create_v2``, ``stream.claim``,
``stream.cancel``, ``stream.top_up``, ...) for contract events of a stream that paid an invoice.
"""
