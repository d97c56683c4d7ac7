"""The case API's query and answer bodies, as pydantic models.

bot/api.py parses queries and builds answers with these models, and the OpenAPI document
(bot/openapi.py) is generated from them. Instants are ISO 8601 with the landlord's local
offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from bot.models import Case, CaseEvent, Consent, DiaryEntry
from flows.report import STRANDS

Status = Literal["new", "open", "closed"]
Strand = Literal[STRANDS]  # type: ignore[valid-type]


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # A query parameter is either given or not: it has no null value to document.
    for prop in schema.get("properties", {}).values():
        if prop.get("default", ...) is None:
            del prop["default"]


class CaseListQuery(BaseModel):
    """Filters, order and position of a page of the case list."""

    # A misspelt filter is refused, not ignored: ignoring it would answer the wrong cases.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)

    status: Status | SkipJsonSchema[None] = Field(
        None, description="Only cases with this status. In the queue order closed cases "
                          "are listed only when asked for.")
    strand: Strand | SkipJsonSchema[None] = Field(
        None, description="Only cases with this perceived strand.")
    assignee: Annotated[str, StringConstraints(max_length=120)] | SkipJsonSchema[None] = \
        Field(None, description="Only cases assigned to this member of staff.")
    overdue: bool = Field(False, description="Only cases past their next deadline.")
    order: Literal["queue", "received"] = Field(
        "queue", description="`queue`: open cases, high priority first, then the earliest "
                             "running deadline (the duty queue). `received`: every case, "
                             "closed ones too, oldest first by when it was stored; new "
                             "cases always come after every case already listed, so a "
                             "saved `cursor` picks up exactly the cases stored since (use "
                             "it to sync).")
    limit: int = Field(50, ge=1, le=500, description="Cases per page.")
    cursor: Annotated[str, StringConstraints(max_length=200)] | SkipJsonSchema[None] = Field(
        None, description="Continue after the position this opaque value names: the "
                          "`cursor` of an earlier page (the `next` link carries it).")
    offset: int = Field(0, ge=0, le=10_000_000, description="Deprecated: skip this many "
                                                            "cases. Use `cursor`.")


class CaseSummary(BaseModel):
    """A case's non-personal fields: references, codes and times."""

    reference: str = Field(description="The case reference given to the resident, e.g. "
                                       "`K7QMX-9RDTV`.")
    status: Status
    priority: Literal["high", "medium", "low"]
    hate_related: bool
    strands: list[str]
    perceived_by: list[str]
    prejudice_indicators: list[str]
    reporter_role: str | None
    anonymous: bool
    channel: str
    language: str
    received_at: datetime
    counts_from: datetime = Field(description="When the working-day clocks started "
                                              "(the next working period if out of hours).")
    out_of_hours: bool
    first_contact_due: datetime
    action_plan_due: datetime
    first_contact_at: datetime | None
    action_plan_at: datetime | None
    next_deadline: datetime | None
    incident_types: list[str]
    location_type: str | None
    immediate_danger: bool
    repair_needed: bool
    preserve_evidence: str | None
    assignee: str | None
    sensitive: bool = Field(description="Marked sensitive (policy 8.3): its personal "
                                        "details need the `cases:sensitive` scope.")
    area: str | None = Field(description="The landlord's area or estate (organisation "
                                         "file), or null.")
    deadline_rule: str | None = Field(description="`working_time`; `close_of_day` for cases "
                                                  "stored before it, which keep their "
                                                  "deadlines.")

    @classmethod
    def of(cls, case: Case, timezone: str) -> CaseSummary:
        """Return the summary of `case`, instants in the landlord's time zone."""
        return cls.model_validate(summary_fields(case, timezone))


class CasePage(BaseModel):
    """One page of the case list."""

    cases: list[CaseSummary]
    limit: int
    offset: int = Field(description="Deprecated, echoes the `offset` asked for.")
    cursor: str | None = Field(description="The position after the last case of this "
                                           "page (or the cursor asked with, when the page "
                                           "is empty): pass it back as `cursor` to go on "
                                           "from here, now or later.")
    next: str | None = Field(description="The link to the next page, with the same "
                                         "filters, or null on the last page.")


class ConsentOut(BaseModel):
    """Consent to share with one recipient, with the wording shown (policy 8.x)."""

    recipient: str
    granted: bool
    answered_at: datetime
    wording_version: str

    @classmethod
    def of(cls, consent: Consent) -> ConsentOut:
        """Return the API's shape of a consent record."""
        return cls(recipient=consent.recipient, granted=consent.granted,
                   answered_at=consent.answered_at, wording_version=consent.wording_version)


class TimelineEntry(BaseModel):
    """One entry of the case's timeline (never report content)."""

    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: CaseEvent) -> TimelineEntry:
        """Return the API's shape of a timeline entry."""
        return cls(at=event.at, kind=event.kind, actor=event.actor,
                   detail=dict(event.detail or {}))


class DiaryOut(BaseModel):
    """A diary entry the resident added after the report (no personal text)."""

    received_at: datetime
    channel: str
    strands: list[str]
    incident_types: list[str]

    @classmethod
    def of(cls, entry: DiaryEntry) -> DiaryOut:
        """Return the API's shape of a diary entry."""
        return cls(received_at=entry.received_at, channel=entry.channel,
                   strands=list(entry.strands or []),
                   incident_types=list(entry.incident_types or []))


class ThreadCounts(BaseModel):
    """How many messages the case's thread with the reporter holds."""

    from_resident: int = 0
    from_staff: int = 0
    unread_by_staff: int = 0


class CaseDetail(CaseSummary):
    """A case in full: its answers, personal details, consents and timeline.

    For a sensitive case read without the `cases:sensitive` scope, `restricted` is true
    and the personal fields below are left out: the outline only.
    """

    restricted: bool = Field(description="True when the personal fields are withheld.")
    answers: dict[str, Any] | None = Field(None, description="The resident's choices by "
                                                             "question id.")
    details: dict[str, Any] | None = Field(None, description="The personal fields (names, "
                                                             "contact details, free text), "
                                                             "decrypted.")
    consents: list[ConsentOut] | None = None
    consents_not_asked: list[str] | None = Field(None, description="Recipients the resident "
                                                                   "has not been asked about "
                                                                   "yet: never a refusal.")
    details_pending: list[str] | None = Field(None, description="Optional details offered "
                                                                "after the acknowledgement "
                                                                "and not answered (yet).")
    answer_times: dict[str, str] | None = Field(None, description="When each answer was "
                                                                  "given (ISO 8601).")
    timeline: list[TimelineEntry] | None = None
    diary: list[DiaryOut] = Field(default_factory=list, description="Diary entries added "
                                  "after the report, oldest first (no personal text).")
    thread: ThreadCounts = Field(default_factory=ThreadCounts,
                                 description="Messages between the reporter and staff.")


PERSONAL_FIELDS = frozenset({"answers", "details", "consents", "consents_not_asked",
                             "details_pending", "answer_times", "timeline"})


def summary_fields(case: Case, timezone: str) -> dict[str, Any]:
    """Return the case's non-personal fields, instants converted to `timezone`."""
    tz = ZoneInfo(timezone)

    def when(instant: datetime | None) -> datetime | None:
        return instant.astimezone(tz) if instant else None

    return {
        "reference": case.reference, "status": case.status, "priority": case.priority,
        "hate_related": case.hate_related, "strands": list(case.strands or []),
        "perceived_by": list(case.perceived_by or []),
        "prejudice_indicators": list(case.prejudice_indicators or []),
        "reporter_role": case.reporter_role, "anonymous": case.anonymous,
        "channel": case.channel, "language": case.language,
        "received_at": when(case.received_at), "counts_from": when(case.counts_from),
        "out_of_hours": case.out_of_hours,
        "first_contact_due": when(case.first_contact_due),
        "action_plan_due": when(case.action_plan_due),
        "first_contact_at": when(case.first_contact_at),
        "action_plan_at": when(case.action_plan_at),
        "next_deadline": when(case.next_deadline),
        "incident_types": list(case.incident_types or []),
        "location_type": case.location_type, "immediate_danger": case.immediate_danger,
        "repair_needed": case.repair_needed, "preserve_evidence": case.preserve_evidence,
        "assignee": case.assignee, "sensitive": bool(case.sensitive), "area": case.area,
        "deadline_rule": case.deadline_rule,
    }
