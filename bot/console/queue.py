"""The duty queue: high priority first, then the earliest deadline; claim in one click."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from bot.console import audit, casework
from bot.console.permissions import may_claim
from bot.console.web import (
    CASEWORK,
    MANAGERS,
    bp,
    can_see_full,
    roles_required,
    services,
    time_left,
)
from bot.models import Case, StaffUser, utcnow
from bot.store import QueueFilter
from flows.report import STRANDS

STATUSES = ("new", "open", "closed")


def _filter() -> tuple[QueueFilter, dict]:
    args = request.args
    status = args.get("status") or None
    strand = args.get("strand") or None
    assignee = (args.get("assignee") or "").strip().lower() or None
    if status not in (None, *STATUSES) or strand not in (None, *STRANDS):
        abort(400)
    if assignee == "me":
        assignee = current_user.username
    overdue = args.get("overdue") == "1"
    chosen = {"status": status or "", "strand": strand or "",
              "assignee": args.get("assignee") or "", "overdue": overdue}
    return QueueFilter(status=status, strand=strand, assignee=assignee, overdue=overdue), chosen


@bp.get("/")
@roles_required(*CASEWORK)
def home():
    """Send officers to the queue."""
    return redirect(url_for("console.queue"))


@bp.get("/queue")
@roles_required(*CASEWORK)
def queue():
    """Show the duty queue with its filters."""
    s = services()
    flt, chosen = _filter()
    now = utcnow()
    with s.db.read() as session:
        cases = s.store.queue(session, flt, limit=200, now=now)
        staff = session.scalars(select(StaffUser.username).where(
            StaffUser.active.is_(True)).order_by(StaffUser.username)).all()
    rows = [(c, *time_left(s.calendar, now, c)) for c in cases]
    return render_template("console/queue.html", rows=rows, timezone=s.org.timezone,
                           chosen=chosen, statuses=STATUSES, strands=STRANDS, staff=staff,
                           can_claim=lambda case: may_claim(current_user, case))


@bp.post("/cases/<reference>/claim")
@roles_required(*CASEWORK)
def claim(reference: str):
    """Claim an unassigned case for yourself; a sensitive one only if you may see it."""
    s = services()
    me = current_user.username
    with s.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        if case is None:
            abort(404)
        allowed = can_see_full(current_user, case)
        won = allowed and casework.claim(session, case.id, me,
                                         allow_sensitive=current_user.role in MANAGERS)
        if won:
            s.store.record(session, case, "claimed", me)
            audit.record(session, me, "claimed", case)
        elif allowed:
            # Lost a race: someone else claimed it, or flagged it sensitive, first.
            session.refresh(case)
            allowed = can_see_full(current_user, case)
        if not allowed:
            # Claiming would open the case (8.3): refused, and the attempt is on record.
            audit.record(session, me, "claim_refused", case, reason="sensitive")
    if not allowed:
        abort(403)
    if won:
        flash(f"You have claimed case {reference}.", "info")
        return redirect(url_for("console.case_page", reference=reference))
    flash(f"Case {reference} was already claimed by someone else.", "error")
    return redirect(url_for("console.queue")), 303
