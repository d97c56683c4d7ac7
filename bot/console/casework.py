"""What officers do to a case, independent of the web: each step is timed, logged and audited.

Every function takes the caller's session, so the change, its timeline entry, its audit
entry and any notification it queues are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import notify, profiles, survey
from bot.console import audit
from bot.models import Case, CaseNote, Conversation, StaffUser, utcnow


class ActionRefused(Exception):
    """An action is not allowed on this case now; the message says why, for the officer."""


def _log(session: Session, services, case: Case, kind: str, actor: str, **detail) -> None:
    services.store.record(session, case, kind, actor, **detail)
    audit.record(session, actor, kind, case, **detail)


def _open(case: Case) -> None:
    if case.status == "closed":
        raise ActionRefused("This case is closed.")


def claim(session: Session, case_id: int, username: str, *,
          allow_sensitive: bool = False) -> bool:
    """Take an unassigned case; exactly one of several simultaneous claims wins.

    Unless `allow_sensitive` (managers), a case flagged sensitive is never taken, even if
    the flag was set after the caller looked: the condition is part of the UPDATE.
    """
    conditions = [Case.id == case_id, Case.assignee.is_(None), Case.status != "closed"]
    if not allow_sensitive:
        conditions.append(Case.sensitive.is_(False))
    result = session.execute(
        update(Case)
        .where(*conditions)
        .values(assignee=username,
                status=sql_case((Case.status == "new", "open"), else_=Case.status))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def assign(session: Session, services, case: Case, assignee: str, actor: str) -> None:
    """Assign or reassign the case to an active case-working member of staff (managers)."""
    _open(case)
    user = session.scalar(select(StaffUser).where(StaffUser.username == assignee,
                                                  StaffUser.active.is_(True)))
    if user is None or user.role not in ("duty_officer", "case_manager", "manager"):
        raise ActionRefused("Choose an active officer, case manager or manager.")
    previous = case.assignee
    case.assignee = user.username
    if case.status == "new":
        case.status = "open"
    _log(session, services, case, "assigned", actor, assignee=user.username,
         previous=previous)


def record_first_contact(session: Session, services, case: Case, actor: str, when: datetime,
                         how: str, by: str) -> None:
    """Record the first interview or visit, which stops the 1-working-day clock (4.3)."""
    _open(case)
    _not_future(when)
    if case.first_contact_at is not None:
        raise ActionRefused("First contact is already recorded.")
    case.first_contact_at = when
    # Kept in working hours so monitoring can take the median in SQL (13.2).
    case.first_contact_hours = round(max(0.0, services.calendar.working_seconds_between(
        case.counts_from, when)) / 3600, 2)
    case.refresh_next_deadline()
    _log(session, services, case, "first_contact", actor, how=how, by=by,
         at=when.isoformat(), on_time=when <= case.first_contact_due)


def record_action_plan(session: Session, services, case: Case, actor: str,
                       when: datetime) -> None:
    """Record the action plan agreed and signed, which stops the 10-day clock (4.4)."""
    _open(case)
    _not_future(when)
    if case.action_plan_at is not None:
        raise ActionRefused("The action plan is already recorded.")
    case.action_plan_at = when
    case.refresh_next_deadline()
    _log(session, services, case, "action_plan_agreed", actor, at=when.isoformat(),
         on_time=when <= case.action_plan_due)


def add_note(session: Session, services, case: Case, actor: str, text: str) -> None:
    """Add a sealed note or update to the case."""
    note = CaseNote(case_id=case.id, at=utcnow(), author=actor, kind="note",
                    text_enc=services.vault.seal(text))
    session.add(note)
    session.flush()
    _log(session, services, case, "note_added", actor, note_id=note.id)


def mark_hate_related(session: Session, services, case: Case, actor: str,
                      strands: list[str], perceived_by: list[str]) -> None:
    """Flag the case as hate-related: high priority from now on (2.1, 4.2, 4.11)."""
    _open(case)
    before = profiles.of_case(case, services.vault, services.org.timezone)
    case.mark_hate_related(strands, perceived_by)
    profiles.move(session, before, profiles.of_case(case, services.vault,
                                                    services.org.timezone))
    _log(session, services, case, "flagged_hate_related", actor, strands=sorted(strands),
         perceived_by=sorted(perceived_by))
    notify.case_created(session, services, case, when=utcnow())


def set_priority(session: Session, services, case: Case, actor: str, priority: str) -> None:
    """Change the priority; a hate-related case is refused anything but high (4.11)."""
    _open(case)
    previous = case.priority
    case.priority = priority  # raises PriorityDowngradeRefused for a hate case (4.11)
    if previous != priority:
        _log(session, services, case, "priority_changed", actor, priority=priority,
             previous=previous)
        notify.case_created(session, services, case, when=utcnow())


def set_flags(session: Session, services, case: Case, actor: str, role: str, *,
              vulnerable_victim: bool, vulnerable_perpetrator: bool, sensitive: bool) -> None:
    """Set the vulnerability (7.x) and sensitivity (8.3) flags.

    Flagging an unassigned case sensitive assigns it to whoever flagged it: otherwise the
    officer who knows why it is sensitive would lose sight of it, and nobody would own it.
    """
    # Read the row afresh and hold it (FOR UPDATE on PostgreSQL; SQLite's write lock is
    # already held), so a claim racing with this change cannot slip in between.
    session.refresh(case, with_for_update=True)
    if case.sensitive and not sensitive and role != "manager":
        raise ActionRefused("Only a manager can remove the sensitive flag.")
    changed = {}
    for name, value in (("vulnerable_victim", vulnerable_victim),
                        ("vulnerable_perpetrator", vulnerable_perpetrator),
                        ("sensitive", sensitive)):
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed[name] = value
    if changed:
        _log(session, services, case, "flags_changed", actor, **changed)
    if changed.get("sensitive") and case.assignee is None and case.status != "closed":
        case.assignee = actor
        if case.status == "new":
            case.status = "open"
        _log(session, services, case, "claimed", actor, reason="flagged_sensitive")


def raise_urgent_repair(session: Session, services, case: Case, actor: str) -> bool:
    """Send a repair request with the location only (4.8); False if no address is set."""
    _open(case)
    if case.urgent_repair_at is not None:
        raise ActionRefused("An urgent repair was already raised.")
    case.urgent_repair_at = utcnow()
    queued = notify.repair_request(session, services, case)
    _log(session, services, case, "urgent_repair_raised", actor, sent=queued)
    return queued


def close(session: Session, services, case: Case, actor: str, outcome: str, reason: str,
          investigated: bool) -> None:
    """Close the case with an outcome and a reason; a hate case needs a full investigation."""
    _open(case)
    if case.hate_related and not investigated:
        raise ActionRefused("A hate-related case is closed only after a full investigation "
                            "(policy 4.11): confirm it has been completed.")
    case.status = "closed"
    case.closed_at = utcnow()
    case.outcome = outcome
    case.closure_reason_enc = services.vault.seal(reason)
    case.refresh_next_deadline()
    _log(session, services, case, "closed", actor, outcome=outcome)
    # Only where the resident allowed contact on their channel and it is safe (13.1).
    if survey.offer(session, services, case):
        services.store.record(session, case, "satisfaction_survey_queued", "reportbot")


def set_area(session: Session, services, case: Case, actor: str, area: str | None) -> None:
    """Set the case's area or estate to one of the organisation file's areas (13.3)."""
    names = {a.name for a in services.org.areas}
    if area and area not in names:
        raise ActionRefused("Choose one of the areas in the list.")
    if (case.area or None) != (area or None):
        previous = case.area
        case.area = area or None
        _log(session, services, case, "area_set", actor, area=case.area, previous=previous)


def set_perpetrator(session: Session, services, case: Case, actor: str,
                    answers: Mapping[str, str | None]) -> None:
    """Record the alleged perpetrator's profile for monitoring (13.4), sealed."""
    profile = {}
    for name, options in profiles.PERPETRATOR_FIELDS.items():
        value = answers.get(name) or None
        if value is not None and value not in {code for code, _ in options}:
            raise ActionRefused("Choose from the lists.")
        if value is not None:
            profile[name] = value
    before = profiles.of_case(case, services.vault, services.org.timezone)
    if (services.vault.open_json(case.perpetrator_enc) or {}) == profile:
        return
    case.perpetrator_enc = services.vault.seal_json(profile) if profile else None
    profiles.move(session, before, profiles.of_case(case, services.vault,
                                                    services.org.timezone))
    # Which fields were filled, never the answers: the timeline is not sealed.
    _log(session, services, case, "perpetrator_profile_saved", actor,
         fields=sorted(profile))


def _not_future(when: datetime) -> None:
    if when > utcnow():
        raise ActionRefused("That time is in the future.")


# ---- reading a case ---------------------------------------------------------------------

def conversation_of(session: Session, case: Case) -> Conversation | None:
    """Return the conversation the case came from, if any."""
    return session.get(Conversation, case.conversation_id) if case.conversation_id else None
