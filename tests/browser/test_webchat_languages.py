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


def test_a_name_typed_after_choosing_english_keeps_the_page_english(page, live_server):
    # Issue 12: "Katarzyna Nowak" once turned the page Polish, and the way out, the 999
    # line and the conversation so far vanished with the reload.
    page.goto(f"{live_server}/chat")
    page.locator('button[data-choice-id="en"]').click()
    for choice in ("no", "victim", "named"):
        button = page.locator(f'button[data-choice-id="{choice}"]')
        expect(button).to_be_enabled()
        button.click()
    expect(page.locator('.msg-bot[data-question="reporter_name"]')).to_be_visible()
    expect(page.locator("#message-hint")).to_have_text(
        "Type your answer in the box below, then press Send.")
    page.locator("#message-input").fill("Katarzyna Nowak")
    page.locator("#send").click()
    expect(page.locator('.msg-bot[data-question="narrative"]')).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert "?lang=" not in page.url
    expect(page.locator("#quick-exit")).to_have_text("Leave this site now")
    assert "999" in page.locator(".danger").inner_text()
    assert "Katarzyna Nowak" in page.locator(".msg-me").last.inner_text()
    expect(page.locator('.msg-bot[data-question="immediate_danger"]')).to_be_visible()
    assert all(lang == "en" for lang in page.locator(".msg-bot").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('lang'))"))


def test_choosing_a_language_keeps_the_conversation_so_far_on_the_page(page, live_server):
    page.goto(f"{live_server}/chat")
    page.locator('button[data-choice-id="en"]').click()
    page.locator('button[data-choice-id="no"]').click()
    expect(page.locator('button[data-choice-id="victim"]')).to_be_enabled()
    page.locator("#message-input").fill("language")
    page.locator("#send").click()
    expect(page.locator('.msg-bot[data-question="language"]')).to_have_count(2)
    page.locator('.msg-bot[data-question="language"]').last.locator(
        'button[data-choice-id="cy"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "cy")
    # Everything said before the change is still there, in the language it was said in.
    expect(page.locator('.msg-bot[data-question="immediate_danger"]')).to_have_count(1)
    said = page.locator(".msg-me .msg-text").all_inner_texts()
    assert said == ["English", "No", "language", "Cymraeg"]
    expect(page.locator(".msg-note")).to_have_count(0)  # no "welcome back" after a choice
