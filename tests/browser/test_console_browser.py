"""A duty officer works a new hate case in a real headless Chromium, without JavaScript help."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.models import Case, utcnow
from tests.conftest import make_settings
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, add_staff, report
from tests.console.test_casework import _medium

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="document.title=\'pwned\'"><script>alert("xss")</script>'
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, **CHEAP_ARGON2)


@pytest.fixture
def desk(browser, live_server):
    """A fresh desktop browser profile that can reach only the live server."""
    ctx = browser.new_context(base_url=live_server, viewport=DESKTOP)
    ctx.set_default_timeout(15_000)
    ctx.route(lambda url: not url.startswith(live_server), lambda route: route.abort())
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    try:
        yield page
    finally:
        ctx.close()


def _sign_in(page, username: str) -> None:
    page.goto("/console/queue")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_duty_officer_claims_records_contact_marks_hate_and_cannot_downgrade(
        desk, services):
    page = desk
    add_staff(services)
    # An older medium-priority case, so "at the top" means something.
    older = _medium(services, utcnow() - timedelta(days=3))
    reference = report(services, narrative=XSS)

    _sign_in(page, "duty1")
    expect(page.get_by_role("heading", name="Duty queue")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_have_attribute("data-reference", older)
    first_row = rows.first
    expect(first_row).to_have_attribute("data-reference", reference)
    expect(first_row).to_contain_text("hate")

    first_row.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()
    expect(page.locator("#assignee")).to_have_text("duty1")

    # The resident's text is shown as text: no script ran, no element was injected.
    expect(page.locator(".free-text", has_text="<img src=x onerror=")).to_have_count(1)
    assert page.title() != "pwned" and page.dialogs == []
    assert page.locator("main img").count() == 0

    page.locator("#fc-how").select_option("visit")
    page.get_by_role("button", name="Record first contact").click()
    expect(page.get_by_role("status")).to_contain_text("First contact recorded")

    mark = page.locator("#mark-hate")
    mark.get_by_label("Disability").check()
    mark.get_by_label("A member of staff").check()
    mark.get_by_role("button", name="Mark as hate-related").click()
    expect(page.locator("#hate")).to_contain_text("Disability")

    # A hate-related case offers no lower priority at all (4.11).
    priority = page.locator("#priority-form")
    expect(priority).to_contain_text("stays high priority")
    expect(priority.locator("select")).to_have_count(0)
    expect(page.locator("#priority")).to_have_text("high")

    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
    assert case.first_contact_at is not None and case.priority == "high"
    assert "disability" in case.strands and "staff" in case.perceived_by

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"/console/cases/{reference}")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.dialogs == []


def test_analyst_is_refused_a_case_page_in_the_browser(desk, services):
    page = desk
    add_staff(services)
    reference = report(services)
    _sign_in(page, "analyst")
    expect(page.get_by_role("heading", name="Monitoring:")).to_be_visible()
    response = page.goto(f"/console/cases/{reference}")
    assert response.status == 403
