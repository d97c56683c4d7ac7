"""Transport-level protections for every route: client addresses behind proxies, and HSTS.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when REPORTBOT_TRUSTED_PROXIES
says how many proxies set them (werkzeug's ProxyFix takes that many hops from the right);
otherwise anyone could claim any address and step around per-address limits. When the
public URL is https, browsers are told to use nothing else (HSTS).
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

HSTS = "max-age=31536000"


def install(app: Flask, settings) -> None:
    """Trust the configured number of proxies and send HSTS behind https."""
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies,
                                x_proto=settings.trusted_proxies)
    if settings.public_url and settings.public_url.startswith("https://"):
        @app.after_request
        def _hsts(response):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
            return response


def client_address() -> str:
    """Return the address of the client of this request, as far as it can be trusted."""
    return request.remote_addr or "unknown"
