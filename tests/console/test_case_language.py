"""Officers read the resident's choices in their own language; free text stays as written."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from bot.settings import Settings
from tests.conftest import make_settings
from tests.console.conftest import console_env, login
from tests.helpers import VICTIM_REPORT, Resident
from tests.test_languages import multilingual_org


@pytest.fixture
def settings(tmp_path, smtp) -> Settings:
    return make_settings(tmp_path, REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path)),
                         **console_env(smtp.port))


def _welsh(msgid: str) -> str:
    with (LOCALES_DIR / "cy" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh).get(msgid).string


def test_a_welsh_speaking_officer_sees_choices_in_welsh(app, services, staff):
    resident = Resident(services, channel="sms")
    assert resident.asked == "language"
    resident.says(["en"])  # the resident reports in English
    transcript = list(VICTIM_REPORT)
    transcript[4] = ("Written in the resident's own words.", transcript[4][1])
    resident.follow(transcript)
    ref = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", resident.said).group(0)
    client = app.test_client()
    login(client, "boss")
    page = client.get(f"/console/cases/{ref}", headers={"Accept-Language": "cy"}).text
    # Staff wording of the resident's answer ("It happened to me"), in Welsh.
    assert _welsh("The victim") in page
    assert "Written in the resident&#39;s own words." in page
    english = client.get(f"/console/cases/{ref}", headers={"Accept-Language": "en"}).text
    assert "The victim" in english and "It happened to me" not in english


def test_officers_see_which_details_are_still_unanswered(app, services, staff):
    resident = Resident(services, channel="sms")
    resident.says(["en"])
    resident.follow(VICTIM_REPORT)
    ref = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", resident.said).group(0)
    resident.follow([("yes, add details", "incident_types"), ("1", "perpetrator_known"),
                     ("no", "evidence")])
    client = app.test_client()
    login(client, "boss")
    page = client.get(f"/console/cases/{ref}", headers={"Accept-Language": "en"}).text
    pending = re.search(r'id="details-pending">([^<]*)<', page).group(1)
    # Answered details are shown; the rest are named as not answered yet.
    assert "Verbal abuse" in page and "Reporter knows who did it" not in pending
    for label in ("Evidence", "Impact", "Safe times", "Share with police"):
        assert label in pending, label
    # Consent nobody asked for yet is never shown as a refusal.
    assert re.search(r"Share with police</dt>\s*<dd class=\"missing\">Not asked yet", page)
    assert "monitoring" not in pending.lower()
    welsh = client.get(f"/console/cases/{ref}", headers={"Accept-Language": "cy"}).text
    assert _welsh("Not asked yet") in welsh and _welsh("Not answered yet") in welsh
