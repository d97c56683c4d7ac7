"""The satisfaction survey after a case closes (policy 13.1): only where allowed and safe,
through the resident's own channel and the outbox, in their language; no reply is fine."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.app import assemble
from bot.console import casework
from bot.i18n import Catalogs
from bot.models import Case, OutboxMessage, SatisfactionSurvey, utcnow
from bot.worker import build_outbox
from channels.twilio.render import gsm_fold, segments
from flows import survey as questions
from flows.messages import Inbound
from tests.channels.twilio_support import fake_twilio, twilio_services
from tests.helpers import Resident
from tests.test_languages import multilingual_org

SAM = "+447700900321"
ANSWERS = {
    "immediate_danger": ["no"], "reporter_role": ["victim"], "anonymous": ["named"],
    "reporter_name": "Sam Fictional", "narrative": "Fictional: a neighbour shouted abuse.",
    "incident_types": ["name_calling"], "incident_when": ["today"], "ongoing": ["one_off"],
    "location_type": ["home"], "location": "Flat 1, Larkspur Court, London E1 6AN",
    "perception": ["yes"], "strands": ["religion"], "perpetrator_known": ["unknown"],
    "evidence": ["none"], "repair_needed": ["no"], "impact": ["prefer_not"],
    "contact_method": ["this_chat"], "contact_details": "07700 900987",
    "safe_times": ["skip"], "leave_message": ["yes"], "language_needs": ["none"],
    "interview": ["phone"], "consent_police": ["yes"], "consent_council": ["yes"],
    "consent_support": ["yes"], "monitoring_offer": ["no"], "review": ["submit"],
    "details_offer": ["add"],
}


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


@pytest.fixture
def tw(tmp_path, db_url, fake):
    with twilio_services(tmp_path, db_url, TWILIO_API_BASE_URL=fake.url,
                         REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path))) as services:
        yield services


def report(services, channel: str = "sms", language: str = "en", sender: str = SAM,
           **overrides) -> Resident:
    """Report as a resident on `channel` in `language`; return the resident."""
    answers = {**ANSWERS, **overrides}
    resident = Resident(services, channel=channel, sender=sender)
    if resident.asked == "language":
        resident.says([language])
    resident.reference = None
    for _turn in range(60):
        if resident.done:
            break
        resident.says(answers[resident.asked])
        found = re.search(r"[2-9A-Y]{5}-[2-9A-Y]{5}", resident.said)
        resident.reference = resident.reference or (found.group(0) if found else None)
    assert resident.done, resident.said
    return resident


def close(services) -> Case:
    """Close the only case, as a case manager would."""
    with services.db.write() as session:
        case = session.scalars(select(Case)).one()
        casework.close(session, services, case, "cm", "resolved",
                       "Fictional: resolved with the resident.", investigated=True)
        return case


def survey_rows(services) -> list[OutboxMessage]:
    with services.db.read() as session:
        return session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "satisfaction_survey")).all()


def deliver_now(services) -> None:
    """Send queued survey questions now (they wait for working hours) through Twilio."""
    with services.db.write() as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.kind == "satisfaction_survey").values(next_attempt_at=utcnow()))
    build_outbox(assemble(services)).run_once()


def the_survey(services) -> SatisfactionSurvey:
    with services.db.read() as session:
        return session.scalars(select(SatisfactionSurvey)).one()


def test_survey_after_closure_on_their_channel_in_their_language(tw, fake):
    resident = report(tw, language="pl")
    reference = resident.reference
    case = close(tw)
    assert case.area == "Larkspur Court"  # from the postcode E1 6AN
    [row] = survey_rows(tw)
    # Out of hours it waits for the next working period.
    assert row.next_attempt_at == tw.calendar.counts_from(row.created_at)
    deliver_now(tw)
    # Only the survey goes to the resident (the duty rota's alerts go to staff numbers).
    [sent] = [c for c in fake.created if c["To"] == SAM]
    polish = tw.catalogs("pl")
    assert sent["Body"] == gsm_fold(questions.question("satisfaction", polish, reference,
                                                       "pl"))
    assert polish.gettext(questions.SATISFACTION.options[0].label) in sent["Body"]

    resident.says("4")
    assert resident.said == questions.question("report_again", polish, locale="pl")
    resident.says("1")
    assert resident.said == polish.gettext(questions.THANKS)
    answered = the_survey(tw)
    assert (answered.status, answered.satisfaction, answered.report_again) == (
        "answered", 4, "yes")
    # After the survey, messages go back to the report flow.
    resident.says("hello")
    assert reference in resident.said and "survey" not in resident.said


@pytest.mark.parametrize("overrides", [
    {"leave_message": ["no"]},                       # a message would not be safe
    {"contact_method": ["phone"]},                   # they asked for a phone call
    {"anonymous": ["anonymous"]},                    # no contact at all
])
def test_no_survey_unless_contact_on_their_channel_is_allowed_and_safe(tw, fake, overrides):
    report(tw, **overrides)
    close(tw)
    assert survey_rows(tw) == []
    with tw.db.read() as session:
        assert session.scalars(select(SatisfactionSurvey)).all() == []


def test_no_survey_for_a_web_chat_report(tw, fake):
    report(tw, channel="webchat", sender="web-token-survey", contact_method=["sms"])
    close(tw)
    assert survey_rows(tw) == []


def test_a_reply_that_is_not_an_answer_is_asked_about_once_then_left_alone(tw, fake):
    resident = report(tw)
    close(tw)
    deliver_now(tw)
    resident.says("what is this?")
    english = tw.catalogs("en")
    assert resident.said.startswith("Sorry, I did not understand.")
    assert "5. " + english.gettext("Very happy") in resident.said
    assert the_survey(tw).misunderstood == 1
    resident.says("still not a number")
    assert the_survey(tw).status == "declined"
    # The report flow answered: after a report, words are taken as the start of a diary
    # entry on the case (issue 15), never as a survey answer.
    assert resident.said.startswith("Welcome back.")
    assert the_survey(tw).satisfaction is None


def test_a_command_or_a_lapsed_survey_goes_to_the_report_flow(tw, fake):
    resident = report(tw)
    close(tw)
    deliver_now(tw)
    with tw.db.write() as session:
        session.execute(update(OutboxMessage).where(
            OutboxMessage.kind == "satisfaction_survey").values(
            sent_at=utcnow() - timedelta(days=15)))
    resident.says("4")
    assert the_survey(tw).status == "expired"
    assert the_survey(tw).satisfaction is None

    other = report(tw, sender="+447700900322")
    with tw.db.write() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc())).first()
        casework.close(session, tw, case, "cm", "resolved", "Fictional: resolved.",
                       investigated=True)
    deliver_now(tw)
    other.says("start again")
    assert other.asked == "language"
    with tw.db.read() as session:
        statuses = sorted(session.scalars(select(SatisfactionSurvey.status)))
    assert statuses == ["declined", "expired"]


def test_every_survey_message_fits_three_sms_segments_in_every_language():
    catalogs = Catalogs(["en", "cy", "pl", "ro", "es", "pt", "ar", "bn", "ur", "pa", "gu",
                         "so", "tr"])
    for code in catalogs.codes:
        t = catalogs(code)
        not_understood = questions.answer(
            "satisfaction", 0, Inbound(channel="sms", sender="x", message_id="1",
                                       text="fictional words"), t, code).text
        for text in (questions.question("satisfaction", t, "K7QMX-9RDT4", code),
                     questions.question("report_again", t, locale=code),
                     t.gettext(questions.THANKS), not_understood):
            assert segments(gsm_fold(text)).count <= 3, (code, text)
            assert not re.search(r"\b(STOP|END|QUIT|CANCEL)\b", text.upper()), (code, text)
