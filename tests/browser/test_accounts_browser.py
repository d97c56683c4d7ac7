"""An admin makes an account in a real headless Chromium; its owner must choose a password."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import make_settings
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, add_staff, report

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, **CHEAP_ARGON2)


def _desk(browser, live_server):
    ctx = browser.new_context(base_url=live_server, viewport=DESKTOP)
    ctx.set_default_timeout(15_000)
    ctx.route(lambda url: not url.startswith(live_server), lambda route: route.abort())
    return ctx


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/console/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_creates_an_account_and_its_owner_chooses_a_password(browser, live_server,
                                                                   services):
    add_staff(services)
    reference = report(services)
    admin_ctx, new_ctx = _desk(browser, live_server), _desk(browser, live_server)
    try:
        admin = admin_ctx.new_page()
        _sign_in(admin, "admin", PASSWORD)
        expect(admin.get_by_role("heading", name="Staff accounts")).to_be_visible()
        form = admin.locator("#new-account")
        form.get_by_label("User name").fill("ri.officer")
        form.get_by_label("Name shown to colleagues").fill("Ri Officer")
        form.get_by_label("Role").select_option("duty_officer")
        form.get_by_role("button", name="Create account").click()
        expect(admin.get_by_role("heading", name="Account created")).to_be_visible()
        temporary = admin.locator("#secret").inner_text().strip()
        assert len(temporary) == 19

        page = new_ctx.new_page()
        _sign_in(page, "ri.officer", temporary)
        expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
        page.goto("/console/queue")  # not yet
        expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
        page.get_by_label("Current password").fill(temporary)
        page.get_by_label("New password", exact=True).fill("lantern orchard copper 9")
        page.get_by_label("New password again").fill("lantern orchard copper 9")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("heading", name="Duty queue")).to_be_visible()
        expect(page.locator(f'tr[data-reference="{reference}"]')).to_be_visible()

        admin.goto("/console/accounts")
        row = admin.locator('tr[data-username="ri.officer"]')
        expect(row).to_contain_text("active")
        row.get_by_role("button", name="Deactivate").click()
        expect(admin.get_by_role("status")).to_contain_text("deactivated")
        # Their open session ends at once.
        page.goto("/console/queue")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        # The admin's own row offers no way to lock themselves out.
        own = admin.locator('tr[data-username="admin"]')
        expect(own.get_by_role("button", name="Deactivate")).to_have_count(0)
    finally:
        admin_ctx.close()
        new_ctx.close()
