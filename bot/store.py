"""The case store: create cases with their reference and deadlines, read the duty queue.

Every function takes the caller's session, so a case is written in the same transaction as
the conversation turn that submitted it: either both are stored or neither is.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, cast, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import subjects
from bot.crypto import Vault
from bot.errors import UnknownCase
from bot.intake import CaseDraft
from bot.models import ApiToken, Case, CaseEvent, Consent, utcnow
from bot.reference import new_reference, normalise
from bot.sla import WorkingCalendar

_REFERENCE_ATTEMPTS = 8
_OPEN = text("cases.status <> 'closed'")


@dataclass(frozen=True)
class QueueFilter:
    """What the duty queue is narrowed to."""

    status: str | None = None
    strand: str | None = None
    assignee: str | None = None
    overdue: bool = False
    include_closed: bool = False


class CaseStore:
    """Create and read cases; personal fields are sealed with the vault."""

    def __init__(self, vault: Vault, calendar: WorkingCalendar) -> None:
        self.vault = vault
        self.calendar = calendar

    def create(self, session: Session, draft: CaseDraft, *, channel: str, language: str,
               received_at: datetime, conversation_id: int | None = None,
               actor: str = "resident") -> Case:
        """Store a new case with a fresh reference and its working-day deadlines."""
        deadlines = self.calendar.deadlines(received_at)
        for _attempt in range(_REFERENCE_ATTEMPTS):
            case = Case(
                reference=new_reference(),
                status="new",
                hate_related=draft.hate_related,
                priority="high" if draft.hate_related else "medium",
                strands=draft.strands,
                perceived_by=draft.perceived_by,
                prejudice_indicators=draft.prejudice_indicators,
                reporter_role=draft.reporter_role,
                anonymous=draft.anonymous,
                channel=channel,
                language=language,
                received_at=deadlines.received_at,
                counts_from=deadlines.counts_from,
                out_of_hours=deadlines.out_of_hours,
                first_contact_due=deadlines.first_contact_due,
                action_plan_due=deadlines.action_plan_due,
                incident_types=draft.incident_types,
                location_type=draft.location_type,
                immediate_danger=draft.immediate_danger,
                repair_needed=draft.repair_needed,
                preserve_evidence=draft.preserve_evidence,
                answers=draft.choice_answers,
                details_enc=self.vault.seal_json(draft.personal),
                conversation_id=conversation_id,
            )
            case.refresh_next_deadline()
            try:
                # A savepoint, so a reference collision retries without losing the turn.
                with session.begin_nested():
                    session.add(case)
                    session.flush()
            except IntegrityError:
                continue
            break
        else:  # pragma: no cover - 8 collisions in a 43-bit space
            raise RuntimeError("could not allocate a unique case reference")
        # Keyed hashes of the contact details, so a subject access request finds the case.
        subjects.index_case(session, self.vault, case)
        for recipient, granted, answered_at, wording in draft.consents:
            session.add(Consent(
                case_id=case.id, recipient=recipient, granted=granted,
                answered_at=datetime.fromisoformat(answered_at) if answered_at else received_at,
                wording_version=wording,
            ))
        self.record(session, case, "received", actor, channel=channel, language=language,
                    out_of_hours=deadlines.out_of_hours)
        if draft.hate_related:
            self.record(session, case, "flagged_hate_related", actor,
                        strands=draft.strands, perceived_by=draft.perceived_by)
        return case

    def record(self, session: Session, case: Case, kind: str, actor: str, **detail) -> None:
        """Add an entry to the case timeline (never with report content)."""
        session.add(CaseEvent(case_id=case.id, kind=kind, actor=actor, detail=detail,
                              at=utcnow()))

    def details(self, case: Case) -> dict:
        """Return the case's sealed personal fields, decrypted."""
        return self.vault.open_json(case.details_enc) or {}

    def get(self, session: Session, reference: str) -> Case:
        """Return the case with `reference` (typed loosely), or raise UnknownCase."""
        canonical = normalise(reference)
        case = session.scalar(select(Case).where(Case.reference == canonical)) \
            if canonical else None
        if case is None:
            raise UnknownCase(reference)
        return case

    def queue(self, session: Session, flt: QueueFilter | None = None, *, limit: int = 50,
              offset: int = 0, now: datetime | None = None) -> Sequence[Case]:
        """Return cases in duty-queue order: high priority first, then earliest deadline."""
        flt = flt or QueueFilter()
        query = select(Case)
        if flt.status:
            query = query.where(Case.status == flt.status)
        if not flt.include_closed and flt.status != "closed":
            # A literal, not a bound value, so the planner can use the partial queue index.
            query = query.where(_OPEN)
        if flt.assignee:
            query = query.where(Case.assignee == flt.assignee)
        if flt.overdue:
            query = query.where(Case.next_deadline < (now or utcnow()))
        if flt.strand:
            # Strands are a short JSON list; a LIKE on the serialised form works on both
            # engines and the value is checked against the known codes by the caller.
            query = query.where(cast(Case.strands, Text).like(f'%"{flt.strand}"%'))
        query = query.order_by(Case.priority_rank, Case.next_deadline.asc().nulls_last(),
                               Case.id)
        return session.scalars(query.limit(limit).offset(offset)).all()


# ---- API tokens ------------------------------------------------------------------------

def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(session: Session, name: str) -> str:
    """Create a bearer token for the queue API; only its hash is stored."""
    token = "rbt_" + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_hash_token(token)))
    return token


def check_api_token(session: Session, token: str) -> ApiToken | None:
    """Return the live token record matching `token`, or None."""
    if not token or len(token) > 200:
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    return record
