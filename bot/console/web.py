"""The console blueprint and what every console view shares: roles, access checks, timing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import Blueprint, abort, current_app, request
from flask_login import current_user, login_required

from bot.models import Case
from bot.services import Services

bp = Blueprint("console", __name__, url_prefix="/console")

# Who may do what. Analysts see aggregate figures only; admins manage accounts and read the
# audit log but never open a case.
CASEWORK = ("duty_officer", "case_manager", "manager")
CLOSERS = ("case_manager", "manager")
MANAGERS = ("manager",)
AUDITORS = ("manager", "admin")
ANALYSTS = ("analyst", "manager")
ADMINS = ("admin",)

# Within this much working time of a deadline a case counts as "approaching" it.
APPROACHING_SECONDS = 2 * 3600


def services() -> Services:
    """Return the application's services."""
    return current_app.extensions["reportbot"]


def reply_channels() -> frozenset[str]:
    """Return the channels that can carry a message to a resident later."""
    return current_app.extensions["reportbot.assembly"].runner.reply_later
def officer_translator():
    """Return the translator for the officer's own language (their browser's), or English."""
    catalogs = services().catalogs
    return catalogs(catalogs.negotiate(request.accept_languages.best) or "en")


def roles_required(*roles: str) -> Callable:
    """Refuse the view with 403 unless the signed-in member of staff has one of `roles`."""
    def decorate(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def can_see_full(staff, case: Case) -> bool:
    """Return whether `staff` may see the case's personal details (8.3: sensitive cases)."""
    if staff.role not in CASEWORK:
        return False
    if not case.sensitive:
        return True
    return staff.role in MANAGERS or case.assignee == staff.username


def time_left(calendar, now: datetime, case: Case) -> tuple[str, str]:
    """Return the working time left to the next deadline and its state (ok/approaching/overdue)."""
    if case.next_deadline is None:
        return "—", "none"
    seconds = calendar.working_seconds_between(now, case.next_deadline)
    overdue = case.next_deadline <= now
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours} h {minutes:02d} min"
    if overdue:
        return f"overdue by {text}", "overdue"
    return text, "approaching" if seconds <= APPROACHING_SECONDS else "ok"


@bp.after_request
def _console_headers(response):
    # Same-origin referrers let Flask-WTF's strict HTTPS referrer check pass; the app's
    # default "no-referrer" would make every form post fail behind TLS.
    response.headers["Referrer-Policy"] = "same-origin"
    return response
