"""A manager answers a subject access request, then an erasure request, in a real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.console import casework
from bot.models import Case
from tests.conftest import make_settings
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, add_staff
from tests.sealed_support import victim_report

pytestmark = pytest.mark.browser

PHONE = "+447700900777"
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, **CHEAP_ARGON2)


@pytest.fixture
def desk(browser, live_server):
    """A desktop browser profile that can reach only the live server, downloads allowed."""
    ctx = browser.new_context(base_url=live_server, viewport=DESKTOP, accept_downloads=True)
    ctx.set_default_timeout(15_000)
    ctx.route(lambda url: not url.startswith(live_server), lambda route: route.abort())
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def test_manager_downloads_a_copy_then_erases(desk, services, tmp_path):
    page = desk
    add_staff(services)
    reference = victim_report(services, "sms", PHONE, name="Noor Fictional")
    page.goto("/console/login")
    page.get_by_label("User name").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Subject requests").click()
    page.get_by_label("Find by").select_option("phone")
    page.get_by_label("Phone number, email, chat id or reference").fill("07700 900777")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="Found 1 case(s) and 1 conversation(s)")) \
        .to_be_visible()
    expect(page.get_by_label(reference)).to_be_checked()

    # The erasure fields are required, but not for a copy.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the copy").click()
    copy = tmp_path / "copy.html"
    download.value.save_as(copy)
    assert "Noor Fictional" in copy.read_text()

    # Erasure needs the ground, the note and the confirmation; the case is still open.
    page.get_by_label("Ground for erasure").select_option("consent_withdrawn")
    page.get_by_label("Who asked").fill("Noor, by phone; identity checked.")
    page.get_by_label("I have checked").check()
    page.get_by_role("button", name="Erase the ticked records").click()
    expect(page.get_by_role("alert")).to_contain_text("still open")

    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        casework.close(session, services, case, "boss", "withdrawn", "Withdrew.", True)
    page.get_by_label("Phone number, email, chat id or reference").fill(PHONE)
    page.get_by_role("button", name="Find").click()
    page.get_by_label("Ground for erasure").select_option("consent_withdrawn")
    page.get_by_label("Who asked").fill("Noor, by phone; identity checked.")
    page.get_by_label("I have checked").check()
    page.get_by_role("button", name="Erase the ticked records").click()
    expect(page.get_by_role("status")).to_contain_text(
        "erased the personal data of 1 case(s) and 1 conversation(s)")
    with services.db.read() as session:
        assert session.scalar(select(Case.erased_at).where(Case.reference == reference))
