"""Every branch of the report flow, as conversations with the real runner on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import Case, Consent, Conversation
from bot.reference import is_valid
from bot.services import build_services
from flows.messages import Inbound
from tests.helpers import VICTIM_REPORT, Resident


def _cases(services):
    with services.db.read() as session:
        return session.scalars(select(Case)).all()


def test_greeting_names_the_landlord_and_asks_about_danger_first(services):
    resident = Resident(services)
    assert "Larkspur Homes" in resident.said
    assert "999" in resident.said and "55" in resident.said
    assert resident.asked == "immediate_danger"
    for word in ("STOP", "END", "QUIT", "CANCEL", "UNSUBSCRIBE"):
        assert word not in resident.said


def test_victim_reports_a_hate_incident_and_gets_a_formal_acknowledgement(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:-1])
    assert "Sam Fictional" in resident.said  # the review summary
    resident.says("Send my report")
    assert resident.done and resident.asked is None
    [case] = _cases(services)
    assert is_valid(case.reference) and case.reference in resident.said
    assert "in confidence" in resident.said
    assert "020 7946 0321" in resident.said and "0808 157 0642" in resident.said
    assert "safer-neighbourhoods@larkspur-homes.example" in resident.said
    assert "999" in resident.said and "Riverside Victim Care" in resident.said
    assert "repairs timescale" in resident.said
    assert case.hate_related and case.priority == "high"
    assert case.strands == ["ethnic_origin", "religion"]
    assert case.perceived_by == ["victim"]
    assert case.reporter_role == "victim" and not case.anonymous
    assert case.incident_types == ["name_calling", "threats"]
    assert case.repair_needed and case.preserve_evidence == "keep"
    details = services.store.details(case)
    assert details["narrative"].startswith("The man from flat 9")
    assert details["contact_details"] == "07700 900456"
    assert details["police_reference"] == "CR/0000/26"
    with services.db.read() as session:
        consents = {c.recipient: c.granted for c in session.scalars(select(Consent))}
    assert consents == {"police": True, "local_authority": False, "support_services": True}


def test_deadline_in_words_matches_the_case(services):
    resident = Resident(services)
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=monday_10)
    [case] = _cases(services)
    assert case.first_contact_due == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert not case.out_of_hours
    assert "10:00 on Tuesday, 24 November 2026" in resident.said
    assert "offices are closed" not in resident.said


def test_out_of_hours_report_says_so_and_counts_from_next_working_day(services):
    resident = Resident(services)
    saturday_night = datetime(2026, 11, 28, 23, 40, tzinfo=UTC)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=saturday_night)
    [case] = _cases(services)
    assert case.out_of_hours
    assert case.counts_from == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    # Working time: the clock starts at Monday's opening and ends at Monday's close.
    assert case.first_contact_due == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert "17:00 on Monday, 30 November 2026" in resident.said
    assert "offices are closed" in resident.said


def test_witness_is_asked_about_the_victim_and_who_perceives_prejudice(services):
    resident = Resident(services)
    resident.follow([
        ("no", "reporter_role"),
        (["witness"], "anonymous"),
        (["anonymous"], "victim_details"),
        ("The family at number 12, Juniper Walk", "victim_aware"),
        ("not sure", "narrative"),
        ("Teenagers wrote abuse about disabled people on their door.", "incident_types"),
        (["graffiti"], "incident_when"),
        ("today", "ongoing"),
        ("1", "location_type"),
        ("home", "location"),
        ("skip", "perception"),
        ("yes", "strands"),
        (["disability"], "perceived_by"),
        (["reporter", "victim"], "perpetrator_known"),
        ("no", "evidence"),
        (["none"], "repair_needed"),
        ("yes", "repair_keep"),
        ("no, remove it soon", "impact"),
        ("I'd rather not say", "consent_police"),  # anonymous: no contact questions
        ("yes", "consent_council"),
        ("no", "consent_support"),
        ("no", "review"),
        (["submit"], None),
    ])
    [case] = _cases(services)
    assert case.reporter_role == "witness" and case.anonymous
    assert case.strands == ["disability"] and case.perceived_by == ["reporter", "victim"]
    assert case.preserve_evidence == "remove"
    assert "cannot contact you" in resident.said
    details = services.store.details(case)
    assert details["victim_details"] == "The family at number 12, Juniper Walk"
    assert "location" not in details  # skipped
    assert case.answers["victim_aware"] == "not_sure"


def test_third_party_for_a_father_records_that_he_agrees(services):
    resident = Resident(services)
    resident.follow([
        ("no", "reporter_role"),
        (["third_party"], "anonymous"),
        (["named"], "reporter_name"),
        ("Jo Example", "victim_details"),
        ("My dad, Pat Example, flat 3", "victim_aware"),
        (["agrees"], "narrative"),
    ])
    assert resident.asked == "narrative"


def test_danger_gives_999_advice_first_and_can_pause_then_resume(services):
    resident = Resident(services)
    resident.says(["yes"])
    assert resident.asked == "danger_advice"
    assert "999" in resident.said and "55" in resident.said
    resident.says(["later"])
    assert resident.asked is None and "stay safe" in resident.said
    resident.says("hello, I'm safe now")
    assert "Welcome back" in resident.said
    assert resident.asked == "reporter_role"
    resident.says("1")
    assert resident.asked == "anonymous"


def test_danger_then_carry_on_records_immediate_danger(services):
    resident = Resident(services)
    resident.says(["yes"])
    resident.says(["continue"])
    assert resident.asked == "reporter_role"
    for message, _ in VICTIM_REPORT[1:]:
        resident.says(message)
    [case] = _cases(services)
    assert case.immediate_danger


def test_non_hate_asb_report_is_medium_priority(services):
    resident = Resident(services)
    transcript = [m for m, _ in VICTIM_REPORT]
    transcript[4] = "Loud music every night until 3am from the flat above."
    transcript[10] = ["no"]
    del transcript[11]  # no strands question after "no"
    for message in transcript:
        resident.says(message)
    [case] = _cases(services)
    assert not case.hate_related and case.priority == "medium" and case.strands == []
    assert "treat this as a hate incident" not in resident.said


def test_clear_indicators_after_no_get_one_gentle_recheck_without_quoting(services):
    resident = Resident(services)
    narrative = "He said Muslims are terrorists and pulled at my hijab."
    for message, _ in VICTIM_REPORT[:4]:
        resident.says(message)
    resident.says(narrative)
    for message, _ in VICTIM_REPORT[5:10]:
        resident.says(message)
    assert resident.asked == "perception"
    resident.says(["no"])
    assert resident.asked == "perception_recheck"
    assert "terrorists" not in resident.said and "hijab" not in resident.said
    resident.says(["yes"])
    assert resident.asked == "strands"
    resident.says(["religion"])
    assert resident.asked == "perpetrator_known"
    for message, _ in VICTIM_REPORT[12:]:
        resident.says(message)
    [case] = _cases(services)
    assert case.hate_related and case.strands == ["religion"]
    assert case.prejudice_indicators == ["religion"]


def test_recheck_answered_not_sure_keeps_indicators_for_the_officer(services):
    resident = Resident(services)
    messages = [m for m, _ in VICTIM_REPORT]
    messages[10] = "not sure"
    messages[11] = "not sure"  # the one gentle re-ask, instead of the strands question
    for message in messages:
        resident.says(message)
    [case] = _cases(services)
    assert not case.hate_related and case.prejudice_indicators == ["ethnic_origin"]


def test_change_an_answer_at_review_asks_only_what_is_needed(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:-1])
    resident.says(["change"])
    assert resident.asked == "change"
    assert {c.id for c in resident.replies[-1].choices} >= {"you", "incident", "why"}
    resident.says(["you"])
    assert resident.asked == "reporter_role"
    resident.follow([
        (["witness"], "anonymous"),
        (["named"], "reporter_name"),
        ("Sam Fictional", "victim_details"),  # a new branch: asked once
        ("Mrs Neighbour, flat 10", "victim_aware"),
        (["knows"], "perceived_by"),  # perception already answered; who perceives is new
        (["reporter"], "review"),
    ])
    resident.says(["submit"])
    [case] = _cases(services)
    assert case.reporter_role == "witness" and case.perceived_by == ["reporter"]
    assert services.store.details(case)["victim_details"] == "Mrs Neighbour, flat 10"


def test_back_returns_to_the_previous_question(services):
    resident = Resident(services)
    resident.follow([("no", "reporter_role"), ("1", "anonymous")])
    resident.says("back")
    assert resident.asked == "reporter_role"
    resident.says("back")
    assert resident.asked == "immediate_danger"
    resident.says("back")
    assert "first question" in resident.said and resident.asked == "immediate_danger"


def test_help_explains_and_asks_the_same_question_again(services):
    resident = Resident(services)
    resident.says("no")
    resident.says("help")
    assert "back" in resident.said and "start again" in resident.said
    assert resident.asked == "reporter_role"


def test_start_again_wipes_the_answers(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:4])
    resident.says("start again")
    assert resident.asked == "immediate_danger" and "Starting again" in resident.said
    resident.says("no")
    assert resident.asked == "reporter_role"


def test_start_again_after_submitting_starts_a_second_report(services):
    resident = Resident(services)
    for message, _ in VICTIM_REPORT:
        resident.says(message)
    resident.says("anything else?")
    assert "Your report has been sent" in resident.said
    resident.says("start again")
    assert resident.asked == "immediate_danger"
    for message, _ in VICTIM_REPORT:
        resident.says(message)
    assert len({c.reference for c in _cases(services)}) == 2


def test_bad_answers_get_a_kind_reply_and_the_question_again(services):
    resident = Resident(services)
    resident.says("banana")
    assert "did not understand" in resident.said and resident.asked == "immediate_danger"
    resident.says("7")
    assert resident.asked == "immediate_danger"
    resident.says("")
    assert resident.asked == "immediate_danger"
    resident.says("no")
    resident.says("1 2")
    assert "just one" in resident.said and resident.asked == "reporter_role"
    resident.says(["nonsense-id"])
    assert resident.asked == "reporter_role"


def test_exclusive_answers_cannot_be_combined(services):
    resident = Resident(services)
    upto = next(i for i, (_, asked) in enumerate(VICTIM_REPORT) if asked == "evidence")
    for message, _ in VICTIM_REPORT[:upto + 1]:
        resident.says(message)
    assert resident.asked == "evidence"
    resident.says("1 5")  # photos, and "none"
    assert "cannot be combined" in resident.said and resident.asked == "evidence"


def test_conversation_resumes_after_a_restart(services, settings):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:5])
    services.db.dispose()
    restarted = build_services(settings)
    again = Resident(restarted, sender=resident.sender, opened=False)
    again.says(VICTIM_REPORT[5][0])
    assert again.asked == VICTIM_REPORT[5][1]
    restarted.db.dispose()


def test_abandoned_conversation_expires_and_starts_again(services):
    resident = Resident(services)
    start = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    resident.says("no", at=start)
    resident.says("1", at=start)
    resident.says("again", at=start + timedelta(days=8))
    assert "expired" in resident.said and resident.asked == "immediate_danger"


def test_purge_wipes_abandoned_answers_but_never_a_submitted_report(services):
    finished = Resident(services)
    for message, _ in VICTIM_REPORT:
        finished.says(message)
    abandoned = Resident(services)
    abandoned.follow(VICTIM_REPORT[:5])
    later = datetime.now(UTC) + timedelta(days=8)
    assert services.conversations.purge_expired(now=later) == 2
    with services.db.read() as session:
        assert all(c.state_enc is None for c in session.scalars(select(Conversation)))
    [case] = _cases(services)
    assert services.store.details(case)["reporter_name"] == "Sam Fictional"
    purged_at = datetime.now(UTC)
    abandoned.says("hello")
    assert "expired" in abandoned.said and abandoned.asked == "immediate_danger"
    from bot.models import InboundMessage

    with services.db.read() as session:
        kept = session.scalars(select(InboundMessage)).all()
    old = [m for m in kept if m.received_at < purged_at]
    assert old and all(services.vault.open_json(m.replies_enc) == [] for m in old)
    # A replay of an old, already-handled message changes nothing and says nothing.
    replay = services.conversations.handle(Inbound(
        channel="webchat", sender=finished.sender, message_id=old[0].message_key, text="no"))
    assert replay.duplicate and replay.replies == ()


def test_media_sent_mid_conversation_is_kept_with_the_case(services):
    from bot.models import Evidence
    from flows.messages import Media

    resident = Resident(services, channel="sms")
    resident.follow(VICTIM_REPORT[:5])
    resident.says("", media=(Media("image/jpeg", data=b"\xff\xd8fake-jpeg"),))
    assert "kept this file" in resident.said and resident.asked == "incident_types"
    for message, _ in VICTIM_REPORT[5:]:
        resident.says(message)
    [case] = _cases(services)
    with services.db.read() as session:
        [evidence] = session.scalars(select(Evidence)).all()
    assert evidence.case_id == case.id and evidence.size == 11
    assert services.vault.open(evidence.data_enc) == b"\xff\xd8fake-jpeg"
