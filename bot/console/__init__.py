"""The staff console: sign-in, the duty queue, case work, figures and the audit log.

`init_app(app, csrf_exempt)` binds Flask-Login and CSRF protection. CSRF is checked on
every unsafe request except those of the machine-facing blueprints the app factory names
(the API, and channels whose routes authenticate themselves with tokens and signatures).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request
from flask_wtf.csrf import CSRFProtect

from bot.console import audit, auth, case, intake_form, queue, reports, webhooks  # noqa: F401 - views
from bot.console.web import bp

__all__ = ["bp", "init_app"]


def init_app(app, csrf_exempt: Iterable[str]) -> None:
    """Bind staff sign-in and CSRF protection; `csrf_exempt` names blueprints to skip."""
    exempt = frozenset(csrf_exempt)
    # The session cookie's flags (HttpOnly, SameSite=Lax, Secure behind https) are set in
    # create_app; the check below replaces Flask-WTF's default all-or-nothing check.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf_check():
        # Checked when the request arrives: a blueprint is exempt only if listed, so any
        # other blueprint (a new page) is protected by default.
        top = (request.blueprint or "").split(".")[0]
        if request.endpoint and top not in exempt:
            csrf.protect()

    auth.init_login(app)
