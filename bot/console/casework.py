"""What officers do to a case, independent of the web: each step is timed, logged and audited.

Every function takes the caller's session, so the change, its timeline entry, its audit
entry and any notification it queues are committed together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case as sql_case
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import notify
from bot.console import audit
from bot.intake import CONSENT_STEPS, MONITORING, open_details
from bot.models import Case, CaseNote, Conversation, StaffUser, utcnow
from flows.engine import N_, Kind
from flows.report import REPORT_STEPS


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
    case.mark_hate_related(strands, perceived_by)
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


def _not_future(when: datetime) -> None:
    if when > utcnow():
        raise ActionRefused("That time is in the future.")


# ---- reading a case ---------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """One answer, ready to show: the question's summary and the answer in words.

    `pending` marks an optional detail the resident has not answered (yet): officers see
    what is still missing, and a consent not yet given reads "not asked yet", never "no".
    """

    label: str
    value: str
    free_text: bool
    pending: bool = False


# Shown in the officer's language beside the resident's answers.
NOT_ANSWERED = N_("Not answered yet")
NOT_ASKED = N_("Not asked yet")
SKIPPED = N_("(skipped)")


def answers(case: Case, details: dict, translate) -> list[Answer]:
    """Return the report's answers in flow order: choices in the staff member's language.

    Optional details that apply but have no answer are listed as not answered yet (consent
    as not asked yet). Equality monitoring answers are never shown here.
    """
    choices = dict(case.answers or {})
    times = case.answer_times or {}
    still_open = set(open_details(choices, details, times))
    shown = []
    for step in REPORT_STEPS:
        if step.id in MONITORING:
            continue
        label = translate.gettext(step.summary) if step.summary else step.id
        if step.kind is Kind.TEXT:
            if details.get(step.id):
                shown.append(Answer(label, str(details[step.id]), True))
            elif step.id in times:
                shown.append(Answer(label, translate.gettext(SKIPPED), False))
            elif step.id in still_open:
                shown.append(Answer(label, translate.gettext(NOT_ANSWERED), False, True))
            continue
        if step.id not in choices:
            if step.id in still_open:
                missing = NOT_ASKED if step.id in CONSENT_STEPS else NOT_ANSWERED
                shown.append(Answer(label, translate.gettext(missing), False, True))
            continue
        value = choices[step.id]
        names = {o.id: translate.gettext(o.label) for o in step.options}
        if isinstance(value, list):
            text = ", ".join(names.get(v, v) for v in value)
        else:
            text = names.get(value, str(value)) if value is not None else \
                translate.gettext(SKIPPED)
        shown.append(Answer(label, text, False))
    # Answers to questions the flow no longer asks (older reports) are still shown.
    steps = {s.id for s in REPORT_STEPS}
    shown.extend(Answer(key.replace("_", " "), str(value), False)
                 for key, value in choices.items() if key not in steps)
    return shown




def conversation_of(session: Session, case: Case) -> Conversation | None:
    """Return the conversation the case came from, if any."""
    return session.get(Conversation, case.conversation_id) if case.conversation_id else None
