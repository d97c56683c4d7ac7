"""Outbound webhooks: case events for the landlord's systems, signed and sent by the outbox.

Every change to a case is written to its timeline (`CaseStore.record`); when the
organisation file names `[[webhooks]]`, the store hands each timeline entry to
`CaseEvents`, which turns the entries listed in `EVENT_OF` into events and puts one outbox
row per subscribed endpoint in the same transaction as the change. A resident's turn (or
an officer's click) therefore only adds rows: it never waits for a receiving system, and
the event exists exactly when the change was committed.

`reportbot worker` delivers the rows (target kind "webhook") through `WebhookSender`:
Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`, signed
with the `standardwebhooks` package), retried with backoff (honouring `Retry-After`) and
never given up while the endpoint is configured. Rows of one endpoint and case go out in
order (`POLICY`): a later event waits until the earlier one was accepted. Delivery is at
least once: a worker that dies after the receiver answered but before recording it sends
the event again with the same `webhook-id`, which receivers use as the idempotency key.

To add an event (e.g. "diary.added" with the follow-up issue): add it to
`bot.webhook_config.EVENTS`, map its timeline entry in `EVENT_OF`, and document its body in
`bot.webhook_events.DOCUMENTED`.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from bot.models import Case, CaseEvent
from bot.outbox import Policy, enqueue
from bot.sending import Envelope, SendResult
from bot.webhook_events import EventData, WebhookEvent, case_state, personal_part

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("reportbot.webhooks")

CHANNEL = "webhook"
# Never give up (the row backs off to an hour between attempts and the console shows the
# endpoint failing); a case's events leave in the order they happened.
POLICY = Policy(max_attempts=None, in_order=True)
# After a connection failure, the endpoint's other rows wait this long without a try, so a
# dead receiver costs the worker one timeout, not one per queued event.
REST_SECONDS = 30.0
MAX_RETRY_AFTER = 3600.0
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# Timeline entries (bot/store.py, bot/console/casework.py) and the event each raises.
EVENT_OF = {
    "received": "case.created",
    "claimed": "case.updated",
    "assigned": "case.updated",
    "first_contact": "case.updated",
    "action_plan_agreed": "case.updated",
    "flagged_hate_related": "case.updated",
    "priority_changed": "case.updated",
    "flags_changed": "case.updated",
    "closed": "case.closed",
}
_CREATED_HERE = "webhooks.created_cases"


def kind_of(endpoint_name: str) -> str:
    """Return the outbox `kind` of an endpoint's rows (what ordering is grouped by)."""
    return f"webhook:{endpoint_name}"


class CaseEvents:
    """Queue webhook events for case timeline entries, in the entry's own transaction."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self, session: Session, case: Case, entry: CaseEvent) -> None:
        """Queue the event `entry` raises for every endpoint subscribed to it."""
        event = EVENT_OF.get(entry.kind)
        endpoints = [e for e in self.services.org.webhooks if event and e.wants(event)]
        if not endpoints:
            return
        created = session.info.setdefault(_CREATED_HERE, set())
        if event == "case.updated" and case.id in created:
            return  # a case stored in this transaction: case.created carries its state
        session.flush()
        # The committed truth, not the object in hand (a claim is an UPDATE statement). On
        # PostgreSQL the row lock also orders two transactions changing one case, so
        # their events get outbox ids in commit order.
        case = session.execute(select(Case).where(Case.id == case.id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one()
        if event == "case.created":
            created.add(case.id)
        state = case_state(case, self.services.org.timezone)
        personal = None
        if any(e.personal_details for e in endpoints):
            personal = personal_part(event, case, self.services.store.details(case),
                                     self.services.vault.open_text(case.closure_reason_enc))
        for endpoint in endpoints:
            body = WebhookEvent(type=event, timestamp=entry.at, data=EventData(
                reference=case.reference, change=entry.kind, case=state,
                personal=personal if endpoint.personal_details else None))
            enqueue(session, self.services.vault, kind=kind_of(endpoint.name),
                    channel=CHANNEL, case_id=case.id,
                    dedupe_key=f"webhook:{endpoint.name}:{entry.id}",
                    payload={"endpoint": endpoint.name,
                             "id": f"msg_{secrets.token_urlsafe(18)}",
                             "body": body.model_dump(mode="json", exclude_none=True)})


class WebhookSender:
    """Post one queued event to its endpoint, signed; say whether it went."""

    def __init__(self, services: Services, client: httpx.Client | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.endpoints = {e.name: e for e in services.org.webhooks}
        self.client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self.clock = clock
        self._resting_until: dict[str, float] = {}

    def __call__(self, envelope: Envelope) -> SendResult:
        """Send the event in `envelope` (Standard Webhooks) and return the outcome."""
        name = envelope.payload["endpoint"]
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            return SendResult.failed("endpoint no longer configured")
        resting = self._resting_until.get(name, 0.0) - self.clock()
        if resting > 0:
            return SendResult.retry("endpoint unreachable", retry_after=resting)
        body = json.dumps(envelope.payload["body"], ensure_ascii=False, separators=(",", ":"))
        message_id = envelope.payload["id"]
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "reportbot-webhooks",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(Webhook(secret).sign(message_id, now, body)
                                          for secret in endpoint.secrets),
        }
        try:
            response = self.client.post(endpoint.url, content=body.encode(), headers=headers)
        except httpx.TransportError as exc:
            self._resting_until[name] = self.clock() + REST_SECONDS
            log.warning("webhook %s: %s", name, type(exc).__name__)
            return SendResult.retry(type(exc).__name__)
        if 200 <= response.status_code < 300:
            return SendResult.sent()
        log.warning("webhook %s: answered %s", name, response.status_code)
        return SendResult.retry(f"http {response.status_code}",
                                retry_after=_retry_after(response))


def _retry_after(response: httpx.Response) -> float | None:
    """Return the receiver's Retry-After in seconds (capped at an hour), if it gave one."""
    raw = response.headers.get("retry-after", "")
    if not raw.strip().isdigit():
        return None
    return min(float(raw.strip()), MAX_RETRY_AFTER) or None
