"""The staff console: sign-in, the duty queue, case work, figures and the audit log.

`init_app(app, csrf_exempt)` binds Flask-Login and CSRF protection. CSRF is checked on
every unsafe request except those of the machine-facing blueprints the app factory names
(the API, and channels whose routes authenticate themselves with tokens and signatures).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import request
from flask_wtf.csrf import CSRFProtect

# Imported for their views, which register themselves on the blueprint.
from bot.console import (  # noqa: F401
    accounts,
    audit,
    auth,
    case,
    intake_form,
    password_change,
    queue,
    reports,
    sessions,
    webhooks,
)
from bot.console.subjects import bp as subjects_bp
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
    def _upload_limit():
        # The app refuses large bodies; the staff report form carries evidence files. Set
        # before the CSRF check below, which is the first to read the body.
        if request.endpoint == "console.new_report" and request.method == "POST":
            request.max_content_length = intake_form.MAX_UPLOAD_BYTES

    @app.before_request
    def _csrf_check():
        # Checked when the request arrives: a blueprint is exempt only if listed, so any
        # other blueprint (a new page) is protected by default.
        top = (request.blueprint or "").split(".")[0]
        if request.endpoint and top not in exempt:
            csrf.protect()

    auth.init_login(app)
    sessions.init_sessions(app)
    app.register_blueprint(subjects_bp)
