"""The duty queue: high priority first, then the earliest deadline; claim in one click.

Officers find a case by its reference (typed any way, with a "did you mean" for a slip),
narrow the queue by strand, type, area, assignee or overdue, and read one line per case
saying what it is about, in their own language. The page asks for updates every few
seconds (`/console/queue/live`) and shows new cases without a reload, counting them in
the window title.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from bot.console import audit, casework, wording
from bot.console.permissions import may_claim
from bot.console.web import (
    CASEWORK,
    MANAGERS,
    bp,
    can_see_full,
    officer_translator,
    roles_required,
    services,
    time_left,
)
from bot.models import Case, StaffUser, utcnow
from bot.store import QueueFilter
from flows.report import STRANDS

STATUSES = ("new", "open", "closed")
PAGE = 200
POLL_SECONDS = 20


@dataclass(frozen=True)
class Row:
    """One case as the queue shows it."""

    case: Case
    left: str
    state: str
    summary: str
    strands: str
    new: bool


# How reports reach us: the residents' channels, then reports staff took down.
CHANNELS = ("voice", "sms", "whatsapp", "telegram", "webchat", "phone", "in_person", "post")


def _options(step_id: str) -> list[str]:
    return [o.id for o in wording.STEPS[step_id].options] if step_id in wording.STEPS else []


def _filter() -> tuple[QueueFilter, dict]:
    args = request.args
    status = args.get("status") or None
    strand = args.get("strand") or None
    kind = args.get("type") or None
    area = args.get("area") or None
    channel = args.get("channel") or None
    assignee = (args.get("assignee") or "").strip().lower() or None
    if (status not in (None, *STATUSES) or strand not in (None, *STRANDS)
            or kind not in (None, *_options("incident_types"))
            or area not in (None, *(a.name for a in services().org.areas))
            or channel not in (None, *CHANNELS)):
        abort(400)
    if assignee == "me":
        assignee = current_user.username
    overdue = args.get("overdue") == "1"
    chosen = {"status": status or "", "strand": strand or "", "type": kind or "",
              "area": area or "", "channel": channel or "",
              "assignee": args.get("assignee") or "", "overdue": overdue}
    return QueueFilter(status=status, strand=strand, assignee=assignee, overdue=overdue,
                       incident_type=kind, area=area, channel=channel), chosen


def summary(case: Case, t) -> str:
    """Say in one line what a case is about: its types and place, in the officer's words."""
    types = ", ".join(wording.labels_of("incident_types", case.incident_types, t))
    place = ", ".join(p for p in (
        wording.labels_of("location_type", [case.location_type], t)[0]
        if case.location_type else "", case.area or "") if p)
    return " · ".join(p for p in (types, place) if p) or "—"


def _rows(cases, since: int | None, t) -> list[Row]:
    s = services()
    now = utcnow()
    return [Row(c, *time_left(s.calendar, now, c), summary(c, t),
                ", ".join(wording.labels_of("strands", c.strands, t)),
                since is not None and c.id > since) for c in cases]


def _newest_id(session) -> int:
    return session.scalar(select(func.max(Case.id))) or 0


@bp.get("/")
@roles_required(*CASEWORK)
def home():
    """Send officers to the queue."""
    return redirect(url_for("console.queue"))


@bp.get("/queue")
@roles_required(*CASEWORK)
def queue():
    """Show the duty queue with its filters, or go to the case whose reference was typed."""
    s = services()
    typed = (request.args.get("ref") or "").strip()
    if typed:
        return _search(typed)
    flt, chosen = _filter()
    t = officer_translator()
    with s.db.read() as session:
        cases = s.store.queue(session, flt, limit=PAGE, now=utcnow())
        total = s.store.queue_count(session, flt, now=utcnow())
        newest = _newest_id(session)
        staff = session.scalars(select(StaffUser.username).where(
            StaffUser.active.is_(True)).order_by(StaffUser.username)).all()
    return render_template(
        "console/queue.html", rows=_rows(cases, None, t), total=total, newest=newest,
        timezone=s.org.timezone, chosen=chosen, statuses=STATUSES,
        strands=[(code, wording.labels_of("strands", [code], t)[0]) for code in STRANDS],
        types=[(code, wording.labels_of("incident_types", [code], t)[0])
               for code in _options("incident_types")],
        areas=[a.name for a in s.org.areas], channels=CHANNELS, staff=staff,
        poll_seconds=POLL_SECONDS,
        can_claim=_can_claim,
        live_url=url_for("console.queue_live", **{k: v for k, v in request.args.items()
                                                 if k != "since"}))


def _search(typed: str):
    """Open the case a typed reference names, or say which existing ones it nearly is."""
    s = services()
    with s.db.read() as session:
        case, near = s.store.lookup(session, typed)
    if case is not None:
        return redirect(url_for("console.case_page", reference=case.reference))
    return render_template("console/search.html", typed=typed, near=near), 404


@bp.get("/queue/live")
@roles_required(*CASEWORK)
def queue_live():
    """Return the queue's rows as HTML and how many cases arrived since `since`."""
    s = services()
    since = request.args.get("since", type=int)
    if since is None or since < 0:
        abort(400)
    flt, _chosen = _filter()
    t = officer_translator()
    now = utcnow()
    with s.db.read() as session:
        cases = s.store.queue(session, flt, limit=PAGE, now=now)
        total = s.store.queue_count(session, flt, now=now)
        arrived = s.store.queue_count(session, replace(flt, after_id=since), now=now)
    return jsonify({
        "rows": render_template("console/_queue_rows.html", rows=_rows(cases, since, t),
                                timezone=s.org.timezone, can_claim=_can_claim),
        "total": total, "new": arrived,
    })


def _can_claim(case) -> bool:
    return may_claim(current_user, case)


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
