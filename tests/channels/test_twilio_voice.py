"""The phone line: golden calls in English, Polish and Arabic against the signed voice
webhook, recordings fetched from a local fake Twilio and deleted there, retries, forged
requests, a dropped call and a language no voice speaks, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from bot.models import Case, CaseEvent, Conversation, Evidence, InboundMessage, OutboxMessage
from bot.worker import build_outbox
from channels.twilio.voice.recordings import recording_sid
from channels.twilio.voice.twiml import menu_numbers, slowly
from tests.channels.twilio_support import fake_twilio, twilio_services
from tests.channels.voice_support import VOICE, Caller, voice_org, wav

# Keys in the demo landlord's language menu (English first, then the configured order).
LANGUAGE_KEYS = {"en": "1", "pl": "3", "ar": "7", "so": "14"}
NO, VICTIM, NAMED, ANONYMOUS, TODAY, HOME, YES, SUBMIT = "2", "1", "1", "2", "1", "1", "1", "1"


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


@pytest.fixture
def line(tmp_path, db_url, fake):
    org = voice_org(tmp_path, "[voice]\nrecorded_prompts = { so = "
                              "\"https://larkspur-homes.example/audio/so.mp3\" }\n")
    with twilio_services(tmp_path, db_url, REPORTBOT_ORG_FILE=str(org),
                         TWILIO_API_BASE_URL=fake.url) as services:
        yield services


@pytest.fixture
def client(line):
    return create_app(services=line).test_client()


def _counts(services) -> dict[str, int]:
    with services.db.read() as session:
        return {m.__tablename__: session.scalar(select(func.count()).select_from(m))
                for m in (Conversation, InboundMessage, Case, Evidence, CaseEvent)}


def _cases(services) -> list[Case]:
    with services.db.read() as session:
        return list(session.scalars(select(Case).order_by(Case.id)))


def _events(services, case_id: int) -> dict[str, dict]:
    with services.db.read() as session:
        return {e.kind: e.detail for e in session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id))}


def _report_by_phone(caller: Caller, language: str) -> None:
    """Call, choose a language and give the essentials of a report, anonymously."""
    caller.call()
    assert "999" in caller.said[0] and "55" in caller.said[0]
    caller.press(LANGUAGE_KEYS[language])
    for key in (NO, VICTIM, ANONYMOUS):
        caller.press(key)
    caller.speak()  # what happened, in their own words
    caller.press(TODAY)
    caller.press(HOME)
    caller.speak()  # the address
    caller.press(YES)  # because of who they are
    caller.press("13#")  # race or nationality, and gender
    caller.press(NO)  # no damage


@pytest.mark.parametrize("language", ["en", "pl", "ar"])
def test_golden_call_creates_one_voice_case(line, client, fake, language):
    caller = Caller(client, fake=fake)
    _report_by_phone(caller, language)
    expected = line.org.voice.voice_for(language)
    assert (expected.voice, expected.language) in caller.voices()
    caller.press(SUBMIT)

    [case] = _cases(line)
    assert (case.channel, case.language, case.hate_related) == ("voice", language, True)
    assert sorted(case.strands) == ["ethnic_origin", "gender"]
    spoken = " ".join(caller.said)
    assert slowly(case.reference) in spoken
    assert caller.verbs()[-2:] == ["Say", "Hangup"]
    details = line.store.details(case)
    assert details["narrative"] == "(recorded message)"

    # The acknowledgement can be heard again.
    caller.press("1")
    assert slowly(case.reference) in " ".join(caller.said)

    # The worker fetches both recordings, seals them and deletes them from Twilio.
    assert line_fetch(client) == 2
    with line.db.read() as session:
        rows = list(session.scalars(select(Evidence).where(Evidence.case_id == case.id)))
    assert sorted(r.status for r in rows) == ["stored", "stored"]
    assert {r.sha256 for r in rows} == {hashlib.sha256(wav()).hexdigest()}
    assert sorted(fake.deleted) == sorted(caller.recordings)

    # The call ends normally: nothing more is stored.
    before = _counts(line)
    caller.hang_up()
    assert _counts(line)["cases"] == before["cases"]


def _past() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=1)


def line_fetch(client) -> int:
    assembly = client.application.extensions["reportbot.assembly"]
    return assembly.channels.get("twilio_voice").fetch_media()


def test_a_retried_webhook_changes_nothing(line, client, fake):
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    first = caller.press(NO)
    before = _counts(line)
    again = caller.retry()
    assert again.data == first.data
    assert _counts(line) == before
    caller.press(VICTIM)
    caller.press(ANONYMOUS)
    caller.speak()
    before = _counts(line)
    caller.retry()
    assert _counts(line) == before and "When did it happen?" in caller.said


def test_nine_repeats_and_zero_goes_back(line, client, fake):
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    caller.press(NO)
    asked = caller.said
    before = _counts(line)
    caller.press("9")
    assert caller.said == asked and _counts(line) == before
    caller.press("0")
    assert any("danger" in s for s in caller.said)
    caller.press("7")  # not an option: said kindly, asked again
    assert caller.said[0] == "Sorry, that is not one of the options."


def test_forged_or_unsigned_requests_are_refused_and_store_nothing(line, client, fake):
    caller = Caller(client, fake=fake)
    body = [("CallSid", caller.sid), ("From", caller.number)]
    before = _counts(line)
    assert caller.send(VOICE, body, signature="forged").status_code == 403
    assert client.post(VOICE, data=dict(body)).status_code == 403
    assert _counts(line) == before


def test_a_dropped_call_after_the_account_is_a_case_ended_early(line, client, fake):
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    for key in (NO, VICTIM, ANONYMOUS):
        caller.press(key)
    caller.speak()
    caller.hang_up()
    caller.retry()
    [case] = _cases(line)
    assert case.channel == "voice"
    events = _events(line, case.id)
    assert "safe to call back is unknown" in events["call_ended_early"]["note"]
    assert line.store.details(case)["contact_details"] == caller.number


def test_a_call_that_ends_before_the_account_stores_no_case(line, client, fake):
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    caller.press(NO)
    caller.hang_up("no-answer")
    assert _cases(line) == []


def test_a_language_without_a_voice_leaves_a_message_for_an_interpreter(line, client, fake):
    caller = Caller(client, fake=fake)
    caller.call()
    menu = " ".join(caller.said)
    assert "For Somali, press 1 4." in menu
    assert caller.root.find(".//Play").text.endswith("/so.mp3")
    caller.press(LANGUAGE_KEYS["so"])
    assert "leave a message in your own language" in " ".join(caller.said)
    assert caller.voices()[0] == ("Polly.Amy", "en-GB")
    assert caller.verbs()[-2:] == ["Record", "Redirect"]
    caller.post(caller.action("Record"), "voice_recording.txt",
                RecordingUrl=fake.add_recording("RE" + "a" * 32, wav()),
                RecordingSid="RE" + "a" * 32)
    [case] = _cases(line)
    assert (case.channel, case.language) == ("voice", "so")
    assert _events(line, case.id)["interpreter_needed"]["language"] == "so"
    assert slowly(case.reference) in " ".join(caller.said)
    assert line_fetch(client) == 1 and fake.deleted == ["RE" + "a" * 32]


def test_voice_answers_404_unless_configured(tmp_path, db_url):
    with twilio_services(tmp_path, db_url) as services:
        client = create_app(services=services).test_client()
        assert client.post(VOICE, data={}).status_code == 404


def test_keys_skip_nine_and_zero():
    assert menu_numbers(10) == ["1", "2", "3", "4", "5", "6", "7", "8", "11", "12"]
    assert slowly("K7QMX-9RDTV") == "K, 7, Q, M, X. 9, R, D, T, V"
    assert recording_sid("https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE"
                         + "0" * 32) == "RE" + "0" * 32


def test_a_mobile_caller_may_ask_for_the_reference_by_text(tmp_path, db_url, fake):
    org = voice_org(tmp_path)
    with twilio_services(tmp_path, db_url, REPORTBOT_ORG_FILE=str(org),
                         TWILIO_API_BASE_URL=fake.url) as services:
        client = create_app(services=services).test_client()
        caller = Caller(client, fake=fake)
        _report_by_phone(caller, "pl")
        caller.press(SUBMIT)
        [case] = _cases(services)
        assert any("naciśnij 2" in s for s in caller.said)
        caller.press("2")
        caller.retry()
        assert [m["To"] for m in fake.created] == [caller.number]
        assert case.reference in fake.created[0]["Body"]

        landline = Caller(client, number="+442079460999", fake=fake)
        _report_by_phone(landline, "en")
        landline.press(SUBMIT)
        assert not any("text message" in s for s in landline.said)


def test_a_failed_deletion_is_retried_by_the_outbox_and_the_recording_kept(line, client,
                                                                          fake):
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    for key in (NO, VICTIM, ANONYMOUS):
        caller.press(key)
    caller.speak()
    fake.delete_failures = 1
    fake.media_failures = 1
    assert line_fetch(client) == 1  # Twilio is down: nothing fetched, retried later
    with line.db.write() as session:  # the backoff has passed
        session.execute(Evidence.__table__.update().values(next_attempt_at=_past()))
    assert line_fetch(client) == 1
    with line.db.read() as session:
        [row] = session.scalars(select(Evidence))
    assert row.status == "stored" and fake.deleted == []  # kept; deletion failed once
    with line.db.write() as session:
        session.execute(OutboxMessage.__table__.update().values(next_attempt_at=_past()))
    assert build_outbox(client.application.extensions["reportbot.assembly"]).run_once() == 1
    assert fake.deleted == caller.recordings


def test_a_caller_is_not_offered_a_reference_they_could_not_key_in(line, client, fake):
    """The chat's "I already have a reference number" needs letters; a keypad has none."""
    caller = Caller(client, fake=fake)
    caller.call()
    caller.press(LANGUAGE_KEYS["en"])
    spoken = " ".join(caller.said)
    assert "danger" in spoken
    assert "reference" not in spoken.lower()
