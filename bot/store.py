"""The case store: create cases with their reference and deadlines, read the duty queue.

Every function takes the caller's session, so a case is written in the same transaction as
the conversation turn that submitted it: either both are stored or neither is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Text, and_, cast, func, select, text, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import profiles, subjects
from bot.areas import Area, area_for
from bot.crypto import Vault
from bot.errors import UnknownCase
from bot.intake import CaseDraft, Detail
from bot.models import API_SCOPES, ApiToken, Case, CaseEvent, Consent, utcnow
from bot.reference import near_misses, new_reference, normalise
from bot.sla import DEADLINE_RULE, WorkingCalendar
from flows import places
from flows.report import CONSENT_WORDING_VERSION

_REFERENCE_ATTEMPTS = 8
_OPEN = text("cases.status <> 'closed'")
# Held while a case is stored on PostgreSQL, until the transaction ends: case ids are then
# given out in commit order, so a reader paging by id never passes an id whose case is
# committed later (and a saved cursor misses nothing). SQLite has one writer at a time.
_CASE_ID_LOCK = 0x7265_7062_6F74  # "repbot"


@dataclass(frozen=True)
class QueueFilter:
    """What the duty queue is narrowed to."""

    status: str | None = None
    strand: str | None = None
    assignee: str | None = None
    overdue: bool = False
    include_closed: bool = False
    incident_type: str | None = None
    area: str | None = None
    channel: str | None = None  # how the report reached us, e.g. "voice"
    # Only cases with a larger id (the live queue asks what arrived since it was drawn).
    after_id: int | None = None


@dataclass(frozen=True)
class Position:
    """Where a page of the case list ended: the last case's sort key, in one list order.

    `order` is "queue" (priority, then the earliest running deadline, then id) or
    "received" (id, which follows the order cases were stored). Paging continues strictly
    after the position, so cases inserted meanwhile never shift a page: nothing is listed
    twice or skipped.
    """

    order: str
    id: int
    rank: int = 0
    deadline: datetime | None = None

    def encode(self) -> str:
        """Return the position as an opaque URL-safe cursor."""
        data = {"o": self.order, "i": self.id}
        if self.order == "queue":
            data.update(r=self.rank, d=self.deadline.isoformat() if self.deadline else None)
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        """Return the position a cursor names; raise ValueError if it is not one."""
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            order, ident = data["o"], data["i"]
            if order not in ("queue", "received") or type(ident) is not int:
                raise ValueError("not a cursor")
            if order == "received":
                return cls(order, ident)
            rank, deadline = data["r"], data["d"]
            if type(rank) is not int:
                raise ValueError("not a cursor")
            when = datetime.fromisoformat(deadline) if deadline is not None else None
            if when is not None and when.tzinfo is None:
                raise ValueError("not a cursor")
            return cls(order, ident, rank, when)
        except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError, KeyError,
                TypeError, AttributeError) as exc:
            raise ValueError("not a cursor") from exc

    @classmethod
    def of(cls, case: Case, order: str) -> Position:
        """Return the position just after `case` in `order`."""
        return cls(order, case.id, case.priority_rank, case.next_deadline) \
            if order == "queue" else cls(order, case.id)

    def segments(self) -> list:
        """Return SQL conditions that, read one after the other in list order, give the
        cases after this position.

        Each is one range of the list's index (the queue index is priority, deadline, id,
        with deadlines last), so a page deep in the list costs what the first page does;
        one condition with ORs would make the database scan from the start.
        """
        if self.order == "received":
            return [Case.id > self.id]
        rank = Case.priority_rank
        if self.deadline is None:  # deadlines sort last: only later ids without one remain
            same_rank = [and_(rank == self.rank, Case.next_deadline.is_(None),
                              Case.id > self.id)]
        else:
            same_rank = [and_(rank == self.rank, tuple_(Case.next_deadline, Case.id)
                              > tuple_(self.deadline, self.id)),
                         and_(rank == self.rank, Case.next_deadline.is_(None))]
        return [*same_rank, rank > self.rank]


class CaseStore:
    """Create and read cases; personal fields are sealed with the vault."""

    def __init__(self, vault: Vault, calendar: WorkingCalendar,
                 areas: Sequence[Area] = (),
                 on_record: Callable[[Session, Case, CaseEvent], None] | None = None) -> None:
        self.vault = vault
        self.calendar = calendar
        self.areas = tuple(areas)
        # Told of every timeline entry, in its transaction (the outbound webhooks).
        self.on_record = on_record

    def create(self, session: Session, draft: CaseDraft, *, channel: str, language: str,
               received_at: datetime, conversation_id: int | None = None,
               actor: str = "resident") -> Case:
        """Store a new case with a fresh reference and its working-day deadlines."""
        deadlines = self.calendar.deadlines(received_at)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": _CASE_ID_LOCK})
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
                deadline_rule=DEADLINE_RULE,
                answer_times=dict(draft.answer_times),
                incident_types=draft.incident_types,
                location_type=draft.location_type,
                immediate_danger=draft.immediate_danger,
                repair_needed=draft.repair_needed,
                preserve_evidence=draft.preserve_evidence,
                answers=draft.choice_answers,
                details_enc=self.vault.seal_json(draft.personal),
                conversation_id=conversation_id,
                area=draft.area or area_for(
                    self.areas, places.describe(draft.personal.get("location"))),
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
        for recipient, granted, answered_at, wording, *staff in draft.consents:
            given_to, method = (staff + [None, None])[:2]
            session.add(Consent(
                case_id=case.id, recipient=recipient, granted=granted,
                answered_at=datetime.fromisoformat(answered_at) if answered_at else received_at,
                wording_version=wording, given_to=given_to, method=method or "conversation",
            ))
        profiles.move(session, Counter(), profiles.contributions(
            profiles.case_year(case, self.calendar.hours.timezone), case.hate_related,
            draft.personal, None))
        self.record(session, case, "received", actor, channel=channel, language=language,
                    out_of_hours=deadlines.out_of_hours)
        if draft.hate_related:
            self.record(session, case, "flagged_hate_related", actor,
                        strands=draft.strands, perceived_by=draft.perceived_by)
        return case

    def add_detail(self, session: Session, case_id: int | None, detail: Detail) -> Case:
        """Store one detail given after the acknowledgement on its case, with its time.

        Typed text and equality answers are sealed with the other personal fields; choices
        go to the plain answers (incident types to their column too); a consent answer is
        recorded per recipient with the wording shown. Answering again replaces the answer.
        """
        case = session.get(Case, case_id) if case_id is not None else None
        if case is None:
            raise UnknownCase(str(case_id))
        answered_at = (datetime.fromisoformat(detail.answered_at) if detail.answered_at
                       else utcnow())
        if detail.personal:
            details = self.details(case)
            timezone = self.calendar.hours.timezone
            before = profiles.of_case(case, self.vault, timezone, dict(details))
            if detail.value is None:
                details.pop(detail.step, None)
            else:
                details[detail.step] = detail.value
            case.details_enc = self.vault.seal_json(details)
            if detail.monitoring:
                # Equality answers given after the acknowledgement count in the profiles
                # as they arrive, like those of a report made in one go.
                profiles.move(session, before,
                              profiles.of_case(case, self.vault, timezone, details))
        else:
            # JSON columns are replaced, not changed in place, so the change is saved.
            case.answers = {**(case.answers or {}), detail.step: detail.value}
            if detail.step == "incident_types":
                case.incident_types = list(detail.value or [])
        if detail.consent_recipient is not None:
            self._consent(session, case, detail.consent_recipient, detail.value == "yes",
                          answered_at)
        case.answer_times = {**(case.answer_times or {}),
                             detail.step: answered_at.isoformat()}
        if not detail.monitoring:
            # Equality answers stay out of the officers' timeline altogether (13.4).
            self.record(session, case, "detail_added", "resident", question=detail.step)
        return case

    def _consent(self, session: Session, case: Case, recipient: str, granted: bool,
                 answered_at: datetime) -> None:
        consent = session.scalar(select(Consent).where(Consent.case_id == case.id,
                                                       Consent.recipient == recipient))
        if consent is None:
            session.add(Consent(case_id=case.id, recipient=recipient, granted=granted,
                                answered_at=answered_at,
                                wording_version=CONSENT_WORDING_VERSION))
            return
        consent.granted = granted
        consent.answered_at = answered_at
        consent.wording_version = CONSENT_WORDING_VERSION

    def record(self, session: Session, case: Case, kind: str, actor: str, **detail) -> None:
        """Add an entry to the case timeline (never with report content)."""
        entry = CaseEvent(case_id=case.id, kind=kind, actor=actor, detail=detail, at=utcnow())
        session.add(entry)
        if self.on_record is not None:
            self.on_record(session, case, entry)

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

    def lookup(self, session: Session, typed: str) -> tuple[Case | None, list[str]]:
        """Find the case a typed reference names, or the existing references it nearly is.

        Spacing, case and separators never matter; a mistyped check character (or one
        other slip) yields the references that exist, for a "did you mean".
        """
        canonical = normalise(typed)
        if canonical:
            case = session.scalar(select(Case).where(Case.reference == canonical))
            if case is not None:
                return case, []
        candidates = [c for c in near_misses(typed) if c != canonical]
        if not candidates:
            return None, []
        found = session.scalars(select(Case.reference).where(
            Case.reference.in_(candidates))).all()
        return None, sorted(found)

    def queue(self, session: Session, flt: QueueFilter | None = None, *, limit: int = 50,
              offset: int = 0, now: datetime | None = None, order: str = "queue",
              after: Position | None = None) -> Sequence[Case]:
        """Return cases in duty-queue order (high priority first, then earliest deadline),
        or in the order they were received; strictly after `after` when it is given."""
        query = self._filtered(select(Case), flt or QueueFilter(), now)
        if order == "received":
            query = query.order_by(Case.id)
        else:
            query = query.order_by(Case.priority_rank, Case.next_deadline.asc().nulls_last(),
                                   Case.id)
        if after is None:
            return session.scalars(query.limit(limit).offset(offset)).all()
        found: list[Case] = []
        skip = offset
        for segment in after.segments():
            part = query.where(segment)
            found += session.scalars(part.offset(skip).limit(limit - len(found))).all()
            if len(found) == limit:
                break
            if skip:  # the rest of the skip falls in the next segments
                skip -= session.scalar(select(func.count()).select_from(
                    part.limit(skip).subquery()))
        return found

    def queue_count(self, session: Session, flt: QueueFilter | None = None, *,
                    now: datetime | None = None) -> int:
        """Return how many cases the queue filter matches."""
        query = self._filtered(select(func.count()).select_from(Case), flt or QueueFilter(),
                               now)
        return session.scalar(query) or 0

    def _filtered(self, query, flt: QueueFilter, now: datetime | None):
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
        if flt.incident_type:
            query = query.where(cast(Case.incident_types, Text).like(
                f'%"{flt.incident_type}"%'))
        if flt.area:
            query = query.where(Case.area == flt.area)
        if flt.channel:
            query = query.where(Case.channel == flt.channel)
        if flt.after_id is not None:
            query = query.where(Case.id > flt.after_id)
        return query


# ---- API tokens ------------------------------------------------------------------------

def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_SCOPES = ("queue", "cases")


def normalise_scopes(scopes) -> str:
    """Return `scopes` (a string or a list) as the stored, space-separated form.

    Raises ValueError for an unknown scope, or for `cases:sensitive` without `cases`.
    """
    wanted = set(scopes.replace(",", " ").split() if isinstance(scopes, str) else scopes)
    unknown = wanted - set(API_SCOPES)
    if unknown or not wanted:
        raise ValueError(f"scopes must be some of {', '.join(API_SCOPES)}")
    if "cases:sensitive" in wanted and "cases" not in wanted:
        raise ValueError("the scope cases:sensitive needs the scope cases too")
    return " ".join(s for s in API_SCOPES if s in wanted)


def issue_api_token(session: Session, name: str, scopes=DEFAULT_SCOPES,
                    created_by: str | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token for the API; returns its row and the token (only hashed here)."""
    token = "rbt_" + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_hash_token(token), scopes=normalise_scopes(scopes),
                   created_by=created_by)
    session.add(row)
    session.flush()
    return row, token


def create_api_token(session: Session, name: str, scopes=DEFAULT_SCOPES,
                     created_by: str | None = None) -> str:
    """Create a bearer token for the API; only its hash is stored."""
    return issue_api_token(session, name, scopes, created_by)[1]


def check_api_token(session: Session, token: str) -> ApiToken | None:
    """Return the live token record matching `token`, or None."""
    if not token or len(token) > 200:
        return None
    record = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if record is None or record.revoked_at is not None:
        return None
    return record
