"""The staff console. For now: a read-only duty queue page.

Until staff accounts exist, the page asks for an API token through the browser's own
HTTP Basic prompt (any user name, the token as password), so the queue is never public.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, current_app, render_template, request

from bot.models import Case, utcnow
from bot.services import Services
from bot.store import QueueFilter, check_api_token

bp = Blueprint("console", __name__, url_prefix="/console")


def _services() -> Services:
    return current_app.extensions["reportbot"]


def _authorised() -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.password:
        return False
    with _services().db.read() as session:
        return check_api_token(session, auth.password) is not None


def time_left(calendar, now: datetime, case: Case) -> tuple[str, bool]:
    """Return the working time left to the case's next deadline, and whether it is overdue."""
    if case.next_deadline is None:
        return "—", False
    seconds = calendar.working_seconds_between(now, case.next_deadline)
    overdue = case.next_deadline <= now
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes:02d} min"
    return (f"overdue by {text}" if overdue else text), overdue


@bp.get("/queue")
def queue():
    """Show the duty queue, high priority first, then earliest deadline."""
    if not _authorised():
        return Response("Sign in with an API token as the password.", 401,
                        {"WWW-Authenticate": 'Basic realm="reportbot console"'})
    s = _services()
    now = utcnow()
    with s.db.read() as session:
        cases = s.store.queue(session, QueueFilter(), limit=200, now=now)
        rows = [(c, *time_left(s.calendar, now, c)) for c in cases]
        return render_template("console/queue.html", rows=rows, org=s.org,
                               timezone=s.org.timezone)
