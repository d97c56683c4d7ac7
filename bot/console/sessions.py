"""Console session limits: an idle timeout, an absolute lifetime, and a forced password change.

The signed session cookie carries when the session began and when it was last used; both
are checked on every console request, so a copied or forgotten cookie stops working after
REPORTBOT_IDLE_TIMEOUT_MINUTES without use (30 by default) and REPORTBOT_SESSION_MAX_HOURS
after sign-in (12 by default) however busy. A user whose password was reset by an admin can
reach only the change-password page and sign-out until they have chosen their own.

"Last used" is rewritten at most once a minute, and never by the queue's background poll:
the poll is not the officer doing anything (an open queue tab must not keep a session
alive forever), and a cookie rewritten by every background request can land after the
answer to a form and wipe that answer's message ("Report stored as case …").
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from bot.audit import record
from bot.console.web import bp, services

# Reachable with a temporary password: choosing a new one, and leaving.
_WHILE_CHANGING = {"console.change_password", "console.logout", "console.login"}
# Requests a page's script makes on its own, without the officer doing anything.
_BACKGROUND = {"console.queue_live"}
# How stale "last used" may get before a request rewrites it (and so the cookie).
_TOUCH_SECONDS = 60


def init_sessions(app) -> None:
    """Bound the signed cookie's own lifetime by the absolute session limit."""
    app.permanent_session_lifetime = timedelta(hours=app.extensions[
        "reportbot"].settings.session_max_hours)


def _expired(now: float) -> str | None:
    settings = services().settings
    started, seen = session.get("signed_in_at"), session.get("last_seen")
    if not isinstance(started, int | float) or not isinstance(seen, int | float):
        return "unknown"
    if now - started > settings.session_max_hours * 3600:
        return "absolute"
    if now - seen > settings.idle_timeout_minutes * 60:
        return "idle"
    return None


@bp.before_request
def _session_limits():
    if not current_user.is_authenticated:
        return None
    now = time.time()
    reason = _expired(now)
    if reason is not None:
        with services().db.write() as db:
            record(db, current_user.username, "session_expired", reason=reason)
        logout_user()
        session.clear()
        flash("Your session has ended. Please sign in again." if reason != "idle" else
              "You were signed out after a period without activity. Please sign in again.",
              "info")
        return redirect(url_for("console.login"))
    if request.endpoint not in _BACKGROUND and now - session["last_seen"] >= _TOUCH_SECONDS:
        session["last_seen"] = now
    if current_user.must_change_password and request.endpoint not in _WHILE_CHANGING:
        return redirect(url_for("console.change_password"))
    return None
