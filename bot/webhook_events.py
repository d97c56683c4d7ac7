"""What an outbound webhook says: the event bodies, as pydantic models, built from a case.

The body follows the Standard Webhooks shape, `{"type", "timestamp", "data"}`. By default
`data` carries the case's references, codes and times only; an endpoint allowed personal
details (`personal_details = true` in the organisation file) also gets the resident's
personal fields in `case.created` and the closure reason in `case.closed`, unless the case
is marked sensitive (8.3). Equality monitoring answers are never sent: residents were told
they do not change how their report is dealt with. The OpenAPI document lists these bodies
under `webhooks` (bot/openapi.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from bot.intake import MONITORING
from bot.models import Case
from bot.webhook_config import EVENTS

EventType = Literal[EVENTS]  # type: ignore[valid-type]


class CaseState(BaseModel):
    """The case as it stands after the event: references, codes and times."""

    reference: str
    status: Literal["new", "open", "closed"]
    priority: Literal["high", "medium", "low"]
    hate_related: bool
    strands: list[str]
    perceived_by: list[str]
    incident_types: list[str]
    reporter_role: str | None
    anonymous: bool
    channel: str
    language: str
    received_at: datetime
    counts_from: datetime
    out_of_hours: bool
    first_contact_due: datetime
    action_plan_due: datetime
    first_contact_at: datetime | None
    action_plan_at: datetime | None
    next_deadline: datetime | None
    assignee: str | None = Field(description="The member of staff working the case.")
    vulnerable_victim: bool
    vulnerable_perpetrator: bool
    sensitive: bool
    urgent_repair_at: datetime | None
    closed_at: datetime | None
    outcome: str | None


class EventData(BaseModel):
    """What happened to which case."""

    reference: str = Field(description="The case reference, e.g. `K7QMX-9RDTV`.")
    change: str = Field(description="The case timeline entry behind the event: `received`, "
                                    "`claimed`, `assigned`, `first_contact`, "
                                    "`action_plan_agreed`, `flagged_hate_related`, "
                                    "`priority_changed`, `flags_changed` or `closed`.")
    case: CaseState
    personal: dict[str, Any] | None = Field(
        None, description="Only for a receiver allowed personal details: the resident's "
                          "personal fields (case.created) or the closure reason "
                          "(case.closed). Never for a case marked sensitive.")


class WebhookEvent(BaseModel):
    """The body of every webhook (Standard Webhooks); `webhook-id` is its idempotency key."""

    type: EventType
    timestamp: datetime = Field(description="When the change happened.")
    data: EventData


def case_state(case: Case, timezone: str) -> CaseState:
    """Return the case's state as a webhook carries it, instants in `timezone`."""
    tz = ZoneInfo(timezone)

    def when(instant: datetime | None) -> datetime | None:
        return instant.astimezone(tz) if instant else None

    return CaseState(
        reference=case.reference, status=case.status, priority=case.priority,
        hate_related=case.hate_related, strands=list(case.strands or []),
        perceived_by=list(case.perceived_by or []),
        incident_types=list(case.incident_types or []), reporter_role=case.reporter_role,
        anonymous=case.anonymous, channel=case.channel, language=case.language,
        received_at=when(case.received_at), counts_from=when(case.counts_from),
        out_of_hours=case.out_of_hours, first_contact_due=when(case.first_contact_due),
        action_plan_due=when(case.action_plan_due),
        first_contact_at=when(case.first_contact_at),
        action_plan_at=when(case.action_plan_at), next_deadline=when(case.next_deadline),
        assignee=case.assignee, vulnerable_victim=bool(case.vulnerable_victim),
        vulnerable_perpetrator=bool(case.vulnerable_perpetrator),
        sensitive=bool(case.sensitive), urgent_repair_at=when(case.urgent_repair_at),
        closed_at=when(case.closed_at), outcome=case.outcome,
    )


def personal_part(event: str, case: Case, details: dict[str, Any],
                  closure_reason: str | None) -> dict[str, Any] | None:
    """Return the personal details an allowed receiver gets with `event`, if any."""
    if case.sensitive:
        return None
    if event == "case.created":
        return {k: v for k, v in details.items() if k not in MONITORING}
    if event == "case.closed" and closure_reason:
        return {"closure_reason": closure_reason}
    return None


DOCUMENTED = {
    "case.created": (WebhookEvent, "A case was stored: a report from a resident, or one an "
                                   "officer entered."),
    "case.updated": (WebhookEvent, "A case's status, priority, deadlines, assignee or flags "
                                   "changed."),
    "case.closed": (WebhookEvent, "A case was closed, with its outcome."),
}
