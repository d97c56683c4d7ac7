"""Serve the real app on a loopback port and drive it with the system Chromium.

The `app` fixture comes from tests/conftest.py: a Flask app bound to a fresh, migrated SQLite
database with the demo organisation.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A cheap phone held upright.
PHONE_VIEWPORT = {"width": 360, "height": 740}
ELSEWHERE_PAGE = "<!doctype html><title>Elsewhere</title><p>Somewhere else entirely.</p>"


class QuietHandler(WSGIRequestHandler):
    """Serve requests without printing a line for each one."""

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's name
        pass


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the app on 127.0.0.1 in a background thread and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    """Launch the system Chromium once per test session."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
            "(run `make` or `apt-get install chromium`)."
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def context(browser, live_server):
    """Open a fresh phone-sized browser profile that can reach nothing but the live server."""
    ctx = browser.new_context(base_url=live_server, viewport=PHONE_VIEWPORT)
    ctx.set_default_timeout(15_000)

    # No internet in tests: the quick-exit site and anything else off loopback get a local
    # stand-in page instead.
    def elsewhere(route):
        route.fulfill(status=200, content_type="text/html", body=ELSEWHERE_PAGE)

    ctx.route(lambda url: not url.startswith(live_server), elsewhere)
    try:
        yield ctx
    finally:
        ctx.close()


@dataclass
class PageWatch:
    """What a page did that a resident would never want: dialogs and uncaught script errors."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page(context):
    """Open a tab in the fresh profile."""
    return context.new_page()


@pytest.fixture
def watch(page) -> PageWatch:
    """Record any JavaScript dialog (dismissing it, so nothing hangs) and any uncaught error."""
    seen = PageWatch()

    def on_dialog(dialog):
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    return seen


# ---- axe-core: WCAG checks in the page -------------------------------------------------------

AXE_SOURCE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """Return axe-core's script, installed from the npm registry by `make axe`."""
    if not AXE_SOURCE.is_file():
        pytest.fail(f"{AXE_SOURCE} is missing: run `make axe` (npm ci in tests/browser).")
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page, source: str) -> list[str]:
    """Run axe-core's WCAG 2.x A and AA rules on the page; return each violation in words.

    The script is evaluated through the DevTools protocol, not added as a <script>, so the
    page's Content-Security-Policy stays exactly as the application sends it.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {source}\n}}")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS)
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if isinstance(n["target"][0], str)
                        else str(n["target"]) for n in v["nodes"][:5])
            for v in result["violations"]]
