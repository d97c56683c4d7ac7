"""A photo sent from the chat page in headless Chromium, and an acknowledgement people can
act on: the phone number opens the dialler, e-mail the mail app, and the reference and
follow-up code can be copied."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.models import Case, Evidence
from tests.browser.test_webchat_browser import REFERENCE, Chat
from tests.test_filetypes import PNG

pytestmark = pytest.mark.browser


def test_a_photo_goes_with_the_report_and_the_acknowledgement_can_be_acted_on(
        page, watch, services):
    chat = Chat(page)
    chat.open()
    chat.run(until="narrative")
    picker = page.locator("#file-input")
    assert "image/*" in (picker.get_attribute("accept") or "")
    expect(page.get_by_text("Add a photo or file")).to_be_visible()
    before = page.locator("#log .msg-bot").count()
    picker.set_input_files(files=[{"name": "door.png", "mimeType": "image/png",
                                   "buffer": PNG}])
    page.wait_for_function("(n) => document.querySelectorAll('#log .msg-bot').length > n",
                           arg=before)
    assert "kept this file" in chat.last_text()
    assert chat.step() == "narrative"  # asked again, nothing skipped

    # A file of the wrong kind gets a clear error, and nothing is kept.
    picker.set_input_files(files=[{"name": "page.png", "mimeType": "image/png",
                                   "buffer": b"<html><body>not a photo</body></html>"}])
    expect(page.locator("#status")).to_contain_text("cannot take this kind of file")

    chat.run(until="details_offer")
    acknowledgement = page.locator("#log .msg-bot").filter(has_text="follow-up code")
    expect(acknowledgement).to_have_count(1)
    reference = REFERENCE.search(acknowledgement.inner_text()).group(0)
    assert acknowledgement.locator('button[data-action="copy"]').count() == 1
    contacts = page.locator("#log .msg-bot").filter(has_text="To contact us")
    assert contacts.locator('a[href^="tel:"]').count() >= 1
    assert contacts.locator('a[href^="mailto:"]').count() == 1
    assert "somewhere safe" in acknowledgement.inner_text()

    with services.db.read() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        [photo] = session.scalars(select(Evidence)).all()
    assert photo.case_id == case.id and photo.channel == "webchat"
    assert photo.sha256 == hashlib.sha256(PNG).hexdigest()
    assert watch.errors == [] or all("415" in e for e in watch.errors)
