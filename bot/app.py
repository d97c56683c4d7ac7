"""The application factory: `create_app()` builds a Flask app from settings; no I/O."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from bot import websecurity
from bot.services import Services, build_services
from bot.settings import Settings

log = logging.getLogger("reportbot")

MAX_REQUEST_BYTES = 256 * 1024

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


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the application; configuration errors are raised here, at start-up."""
    if services is None:
        services = build_services(settings or Settings.from_env())
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=services.settings.secret_keys[0],
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(services.settings.public_url and
                                   services.settings.public_url.startswith("https://")),
        JSON_SORT_KEYS=False,
    )
    app.extensions["reportbot"] = services

    from bot import api, console
    from channels import telegram, twilio, webchat

    app.register_blueprint(webchat.bp)
    app.register_blueprint(telegram.bp)
    app.register_blueprint(twilio.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(console.bp)
    console.init_app(app)
    websecurity.install(app, services.settings)

    @app.template_filter("localtime")
    def localtime(instant: datetime, timezone: str) -> str:
        return instant.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %Y %H:%M")

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
        from flask import redirect, url_for

        return redirect(url_for("webchat.page"))

    @app.after_request
    def security_headers(response):
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

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if request.path.startswith(("/api/", "/webhooks/")):
            return jsonify({"error": exc.name.lower().replace(" ", "_"),
                            "message": _KIND_MESSAGES.get(code, exc.description)}), code
        return exc

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(exc: DBAPIError):
        if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
            return unexpected(exc)
        # Nothing of the turn was kept (one transaction); a retryable status makes Twilio and
        # Telegram deliver again, and the web chat page retries with the same client id.
        log.warning("database unavailable on %s %s", request.method, request.path)
        response = jsonify({"error": "unavailable", "message": _KIND_MESSAGES[503]})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        # Log the type and where, never the request body: it may hold a report.
        log.exception("unhandled error on %s %s", request.method, request.path)
        if request.path.startswith(("/api/", "/webhooks/")):
            return jsonify({"error": "internal", "message": _KIND_MESSAGES[500]}), 500
        return _KIND_MESSAGES[500], 500

    return app
