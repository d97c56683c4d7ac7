"""Following up a report through the real runner: same identity, reconnecting, codes, diary."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot import thread
from bot.models import AuditLog, Case, DiaryEntry, FollowUpAttempt, FollowUpCode
from bot.reference import new_reference
from tests.helpers import ANONYMOUS_REPORT, NOT_NOW, VICTIM_REPORT, Resident

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def reported(services, channel="sms", transcript=VICTIM_REPORT) -> tuple[Resident, str, str]:
    """Return a resident who has just sent a report, with its reference and code."""
    resident = Resident(services, channel=channel, sender="+447700900123")
    resident.follow(transcript)
    text = resident.said.replace("\u2068", "").replace("\u2069", "")
    [code] = CODE.findall(text)
    resident.follow(NOT_NOW)
    with services.db.read() as session:
        case = session.scalars(select(Case).order_by(Case.id.desc())).first()
    return resident, case.reference, code


def test_the_code_is_shown_once_and_stored_only_as_a_hash(services):
    _resident, reference, code = reported(services)
    with services.db.read() as session:
        [stored] = session.scalars(select(FollowUpCode)).all()
    assert code not in stored.code_hash and stored.code_hash.startswith("$argon2")


def test_returning_on_the_same_phone_adds_a_diary_entry(services):
    resident, reference, _code = reported(services)
    resident.follow([
        ("hello", "follow_up_menu"),
        ("1", "diary_narrative"),
        ("They wrote on my door again last night.", "diary_when"),
        ("yesterday", "diary_where"),
        ("1", "diary_reason"),
        ("2", "diary_strands"),
        ("disability", "diary_types"),
        ("graffiti", "diary_evidence"),
        ("1", "follow_up_menu"),
    ])
    assert f"your report {reference}" in resident.said
    assert "Add a photo or file" not in resident.said and "Send your photos" in resident.said
    with services.db.read() as session:
        [entry] = session.scalars(select(DiaryEntry)).all()
        case = session.scalars(select(Case)).one()
    assert entry.case_id == case.id and entry.channel == "sms"
    assert entry.strands == ["disability"] and entry.incident_types == ["graffiti"]
    assert "disability" in case.strands and case.hate_related and case.priority == "high"
    assert "graffiti" in case.incident_types
    details = services.vault.open_json(entry.details_enc)
    assert details["narrative"] == "They wrote on my door again last night."
    assert details["same_place"] is True
    with services.db.read() as session:
        kinds = [e.kind for e in session.get(Case, case.id).events]
    assert "diary_entry" in kinds


def test_words_typed_on_return_become_a_diary_entry(services):
    resident, _reference, _code = reported(services)
    resident.says("The same man shouted at my son today on the stairs.")
    assert resident.asked == "diary_when"
    assert "Welcome back" in resident.said


def test_reconnecting_from_the_web_chat_with_reference_and_code(services):
    _sms, reference, code = reported(services)
    web = Resident(services, channel="webchat")
    assert "have_reference" in [c.id for c in web.replies[-1].choices]
    web.follow([
        (["have_reference"], "follow_up_reference"),
        (reference.lower().replace("-", " "), "follow_up_code"),
        (code, "follow_up_menu"),
        ("4", "follow_up_menu"),
    ])
    assert "has been received" in web.said


def test_a_reference_typed_at_the_greeting_asks_for_the_code(services):
    _sms, reference, code = reported(services)
    web = Resident(services, channel="webchat")
    web.follow([(reference, "follow_up_code"), (code, "follow_up_menu")])


def test_five_wrong_codes_lock_the_reference_for_an_hour_with_the_same_words(services):
    _sms, reference, code = reported(services)
    web = Resident(services, channel="webchat")
    unknown = Resident(services, channel="webchat")
    wrong = "000000" if code != "000000" else "111111"
    said = []
    nobody = next(r for r in iter(new_reference, None) if r != reference)
    for resident, ref in ((web, reference), (unknown, nobody)):
        for _ in range(4):
            resident.follow([(ref, "follow_up_code"), (wrong, "follow_up_reference")])
            said.append(resident.said)
    assert len(set(said)) == 1  # no hint whether the reference exists
    web.follow([(reference, "follow_up_code"), (wrong, "follow_up_reference")])
    assert "too many tries" in web.said
    web.follow([(reference, "follow_up_code"), (code, "follow_up_reference")])
    assert "too many tries" in web.said  # even the right code, for an hour
    with services.db.read() as session:
        actions = [a.action for a in session.scalars(select(AuditLog))]
        assert session.scalars(select(FollowUpAttempt)).all()
    assert actions.count("follow_up_locked") == 1


def test_an_officer_message_waits_for_an_anonymous_web_reporter(services):
    web, reference, code = reported(services, channel="webchat", transcript=ANONYMOUS_REPORT)
    with services.db.write() as session:
        case = session.scalars(select(Case)).one()
        thread.add(session, services.vault, case, thread.STAFF,
                   "Thank you. We have removed the writing.", author="officer1",
                   channel=None)
    again = Resident(services, channel="webchat")
    again.follow([(reference, "follow_up_code"), (code, "follow_up_menu")])
    assert "We have removed the writing." in again.said
    again.follow([("3", "follow_up_reply"),
                  ("Thank you, it came back though.", "follow_up_menu")])
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
        counts = thread.counts(session, [case.id])[case.id]
        texts = [t for _s, _a, t in thread.for_resident(session, services.vault, case, False,
                                                         case.received_at)]
    assert counts.from_resident == 1 and counts.from_staff == 1 and counts.unread_by_staff == 1
    assert texts == ["Thank you. We have removed the writing.",
                     "Thank you, it came back though."]
