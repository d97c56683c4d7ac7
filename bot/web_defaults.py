"""What every response shares: the health check, security headers and kind error bodies.

Errors on the machine-facing paths (/api/, /webhooks/) are JSON with a kind message; a
database outage is a 503 with Retry-After, so providers deliver again and the web chat
page retries with the same client id. Logs carry the error's type and where, never a
request body (it may hold a report).

A JSON body nested deeper than `MAX_JSON_DEPTH` is refused with a 400 before anything
parses it: the standard library's parser recurses, and a body nested 10,000 deep would
otherwise end in a RecursionError (a 500) wherever the body is read.
"""

from __future__ import annotations

import logging
import re
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
MAX_JSON_DEPTH = 32
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")  # Twilio's webhooks
# The bytes that matter to nesting: brackets, and quotes and backslashes (inside a string a
# bracket is text).
_NESTING = re.compile(rb'[\[\]{}"\\]')


def gettext(message: str) -> str:
    """Mark a message for extraction; it is translated when the answer is made."""
    return message


TOO_DEEP = gettext("The JSON body is nested too deeply.")


def nested_deeper_than(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Return whether the JSON text `data` opens more than `limit` arrays/objects at once."""
    depth, in_string, skip = 0, False, -1
    for found in _NESTING.finditer(data):
        at = found.start()
        if at < skip:
            continue
        char = data[at]
        if in_string:
            if char == 0x5C:  # a backslash escapes the next byte
                skip = at + 2
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


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

    @app.before_request
    def _refuse_deep_json():
        if request.method not in ("POST", "PUT", "PATCH") \
                or not request.path.startswith(_MACHINE_PATHS) \
                or request.mimetype in _FORMS:
            return None
        if not nested_deeper_than(request.get_data(cache=True)):
            return None
        log.warning("refused a JSON body nested too deeply on %s %s", request.method,
                    _route())
        catalogs = services.catalogs
        t = catalogs(catalogs.negotiate(request.accept_languages.best) or "en")
        return jsonify({"error": "bad_request", "message": t.gettext(TOO_DEEP)}), 400

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
