"""The web chat page follows the resident's language: the way out, the 999 line and every
control are in the language they chose, right-to-left where it should be."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.app import create_app
from bot.services import build_services
from tests.conftest import make_settings
from tests.databases import migrated
from tests.test_languages import multilingual_org

pytestmark = pytest.mark.browser


@pytest.fixture
def app(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path)))
    migrated(settings.database_url)
    services = build_services(settings)
    yield create_app(services=services)
    services.db.dispose()


def test_choosing_arabic_turns_the_whole_page_arabic_and_keeps_the_conversation(page,
                                                                                 live_server):
    page.goto(f"{live_server}/chat")
    page.locator('button[data-choice-id="ar"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    exit_text = page.locator("#quick-exit").inner_text()
    assert "Leave" not in exit_text and exit_text.strip()
    assert "999" in page.locator(".danger").inner_text()
    assert "Send" not in page.locator("#send").inner_text()
    # The conversation carried on, without a "welcome back", at the danger question.
    no = page.locator('button[data-choice-id="no"]')
    expect(no).to_be_visible()
    no.click()
    expect(page.locator('button[data-choice-id="victim"]')).to_be_visible()
    assert "?lang=ar" in page.url


def test_choosing_polish_keeps_left_to_right(page, live_server):
    page.goto(f"{live_server}/chat")
    page.locator('button[data-choice-id="pl"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator('button[data-choice-id="no"]')).to_be_visible()
