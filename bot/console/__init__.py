"""The staff console: sign-in, the duty queue, case work, figures and the audit log.

`init_app(app)` binds Flask-Login and CSRF protection. CSRF is checked on every unsafe
request except those of the machine-facing blueprints (web chat JSON, the API, and the
provider webhooks), which authenticate themselves with tokens and signatures.
"""

from __future__ import annotations

from flask import request
from flask_wtf.csrf import CSRFProtect

from bot.console import audit, auth, case, intake_form, queue, reports  # noqa: F401 - views
from bot.console.subjects import bp as subjects_bp
from bot.console.web import bp

__all__ = ["bp", "init_app", "csrf_exempt"]

CSRF_EXEMPT = ("webchat", "api")
CSRF_EXEMPT_PREFIXES = ("twilio", "telegram")


def csrf_exempt(blueprint: str | None) -> bool:
    """Return whether requests to `blueprint` skip the CSRF check (JSON APIs and webhooks)."""
    if not blueprint:
        return False
    top = blueprint.split(".")[0]
    return top in CSRF_EXEMPT or top.startswith(CSRF_EXEMPT_PREFIXES)


def init_app(app) -> None:
    """Bind staff sign-in and CSRF protection to the app."""
    # The session cookie's flags (HttpOnly, SameSite=Lax, Secure behind https) are set in
    # create_app; the check below replaces Flask-WTF's default all-or-nothing check.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf_check():
        # Checked by blueprint name when the request arrives, so blueprints registered after
        # this call (new channels) are covered by the same rule: exempt only if listed.
        if request.endpoint and not csrf_exempt(request.blueprint):
            csrf.protect()

    auth.init_login(app)
    app.register_blueprint(subjects_bp)
