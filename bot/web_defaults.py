"""What every response shares: the health check, security headers and kind error bodies.

Errors on the machine-facing paths (/api/, /webhooks/) are JSON with a kind message; a
database outage is a 503 with Retry-After, so providers deliver again and the web chat
page retries with the same client id. Logs carry the error's type and where, never a
request body (it may hold a report).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, redirect, request, url_for
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from bot.services import Services

log = logging.getLogger("reportbot")

_KIND_MESSAGES = {
    400: "Sorry, that request could not be understood.",
    404: "Sorry, there is nothing here.",
    405: "Sorry, that is not allowed here.",
    413: "Sorry, that message is too large.",
    500: "Sorry, something went wrong on our side. Your earlier answers are safe; please "
         "try again in a moment.",
    503: "Sorry, we cannot take messages for a moment. Your earlier answers are safe; "
         "please try again shortly.",
}
_MACHINE_PATHS = ("/api/", "/webhooks/")


def install(app: Flask, services: Services) -> None:
    """Add the health check, the index redirect, headers and error handlers to `app`."""
    app.add_template_filter(_localtime, "localtime")

    @app.get("/healthz")
    def healthz():
        try:
            with services.db.read() as session:
                session.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any database failure means "not healthy"
            log.warning("health check: database unavailable")
            return jsonify({"status": "unavailable", "database": "unavailable"}), 503
        return jsonify({"status": "ok", "database": "ok"})

    @app.get("/")
    def index():
        return redirect(url_for("webchat.page"))

    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)


def _route() -> str:
    """Return the matched route's rule, e.g. /api/chat/sessions/<token>/messages."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def _localtime(instant: datetime, timezone: str) -> str:
    return instant.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %Y %H:%M")


def _security_headers(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    if not request.path.startswith("/static/"):
        # Nothing a resident or officer saw should stay in a shared browser's cache.
        response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(exc: HTTPException):
    code = exc.code or 500
    if request.path.startswith(_MACHINE_PATHS):
        return jsonify({"error": exc.name.lower().replace(" ", "_"),
                        "message": _KIND_MESSAGES.get(code, exc.description)}), code
    return exc


def _database_unavailable(exc: DBAPIError):
    if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
        return _unexpected(exc)
    # Nothing of the turn was kept (one transaction); a retryable status makes Twilio and
    # Telegram deliver again, and the web chat page retries with the same client id.
    log.warning("database unavailable on %s %s", request.method, _route())
    response = jsonify({"error": "unavailable", "message": _KIND_MESSAGES[503]})
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


def _unexpected(exc: Exception):
    # Log the type and the route's rule, never the path (a web chat token is part of it)
    # nor the body (it may hold a report).
    log.exception("unhandled error on %s %s", request.method, _route())
    if request.path.startswith(_MACHINE_PATHS):
        return jsonify({"error": "internal", "message": _KIND_MESSAGES[500]}), 500
    return _KIND_MESSAGES[500], 500
