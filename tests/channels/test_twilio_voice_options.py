"""The phone line's options: the transfer to the duty team in working hours (and the report
when nobody answers), and answers in words by Twilio's speech recognition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.models import Case
from tests.channels.twilio_support import fake_twilio, twilio_services
from tests.channels.voice_support import Caller, voice_org

MONDAY_10AM = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
SUNDAY_2AM = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


def _client(tmp_path, db_url, fake, table: str):
    org = voice_org(tmp_path, table)
    return twilio_services(tmp_path, db_url, REPORTBOT_ORG_FILE=str(org),
                           TWILIO_API_BASE_URL=fake.url)


def _calls(client):
    return client.application.extensions["reportbot.assembly"].channels.get(
        "twilio_voice").calls


def test_in_working_hours_the_call_is_put_through_then_the_report_taken(tmp_path, db_url,
                                                                        fake):
    table = '[voice]\ntransfer_in_hours = true\nduty_number = "+442079460321"\n'
    with _client(tmp_path, db_url, fake, table) as services:
        client = create_app(services=services).test_client()
        _calls(client).clock = lambda: MONDAY_10AM
        caller = Caller(client, fake=fake)
        caller.call()
        dial = caller.root.find("Dial")
        assert dial is not None and dial.text == "+442079460321"
        assert dial.attrib["timeout"] == "20"
        caller.post(caller.action("Dial"), "voice_dial_no_answer.txt")
        assert caller.said[0].startswith("Nobody could answer just now")
        assert any("999" in s for s in caller.said)
        assert caller.root.find(".//Gather") is not None  # the language menu

        _calls(client).clock = lambda: SUNDAY_2AM
        night = Caller(client, number="+447700900456", fake=fake)
        night.call()
        assert night.root.find("Dial") is None


def test_speech_answers_are_marked_as_automatic_transcription(tmp_path, db_url, fake):
    with _client(tmp_path, db_url, fake, "[voice]\nspeech = true\n") as services:
        client = create_app(services=services).test_client()
        caller = Caller(client, fake=fake)
        caller.call()
        for key in ("1", "2", "1", "2"):  # English, not in danger, victim, anonymous
            caller.press(key)
        gather = caller.root.find(".//Gather")
        assert gather.attrib["input"] == "speech" and gather.attrib["language"] == "en-GB"
        caller.post(gather.attrib["action"], "voice_speech.txt")
        assert "When did it happen?" in caller.said
        caller.hang_up()
        with services.db.read() as session:
            case = session.scalar(select(Case))
        assert services.store.details(case)["narrative"] == (
            "Someone wrote insults on my door last night. (automatic transcription)")
