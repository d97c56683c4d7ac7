"""Two-way contact for an anonymous web chat reporter: the officer's message waits in the
case's thread, is read when the reporter reconnects with reference and code, and the reply
shows on the case page (marked new) and in the case API's counts."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.models import Case, CaseMessage, OutboxMessage
from tests.channels.test_webchat import WebchatResident
from tests.console.conftest import login, post_form
from tests.helpers import ANONYMOUS_REPORT


def _anonymous_web_report(client) -> tuple[str, str]:
    web = WebchatResident(client)
    web.start()
    said = []
    for message, _question in ANONYMOUS_REPORT:
        said += web.says(message if isinstance(message, str) else message[0])
    text = " ".join(said).replace("\u2068", "").replace("\u2069", "")
    reference = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", text).group(0)
    [code] = re.findall(r"follow-up code is (\d{6})", text)
    web.says("not now")
    return reference, code


def test_officer_message_waits_for_the_anonymous_web_reporter_and_is_answered(
        client, services, staff, api_token):
    reference, code = _anonymous_web_report(client)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    assert "Leave the message" in client.get(page).text
    for _ in range(2):  # a double click leaves it once
        post_form(client, f"{page}/message", page, {"msg-template": "please_contact",
                  "msg-nonce": "c" * 32}, prefix="msg")
    with services.db.read() as session:
        assert session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "resident_message")).all() == []
        [left] = session.scalars(select(CaseMessage)).all()
    assert left.sender == "staff" and left.read_at is None

    later = WebchatResident(client)
    later.start()
    later.says(reference)
    seen = " ".join(later.says(code))
    assert "Please contact us about your report" in seen and "Message from us" in seen
    later.says("3")
    assert "Thank you" in " ".join(later.says("I can talk on Tuesday after 6pm."))

    counts = client.get(f"/api/v1/cases/{reference}",
                        headers={"Authorization": f"Bearer {api_token}"}).json["thread"]
    assert counts == {"from_resident": 1, "from_staff": 1, "unread_by_staff": 1}
    html = client.get(page).text
    assert "I can talk on Tuesday after 6pm." in html and "1 new" in html
    assert "1 new" not in client.get(page).text  # read now
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
        kinds = [e.kind for e in case.events]
    assert "message_left" in kinds and "resident_message" in kinds


def test_case_api_lists_diary_entries_without_their_words(client, services, api_token):
    reference, code = _anonymous_web_report(client)
    web = WebchatResident(client)
    web.start()
    web.says(reference)
    web.says(code)
    for typed in ("1", "They did it again tonight.", "today", "1", "2", "1", "3", "5"):
        web.says(typed)
    body = client.get(f"/api/v1/cases/{reference}",
                      headers={"Authorization": f"Bearer {api_token}"}).json
    [entry] = body["diary"]
    assert entry["channel"] == "webchat" and entry["strands"] == ["ethnic_origin"]
    assert entry["incident_types"] == ["harassment"]
    assert "did it again" not in str(body["diary"])
