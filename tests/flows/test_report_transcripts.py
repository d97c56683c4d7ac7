"""Every branch of the report flow, as conversations with the real runner on SQLite.

The essentials come first, up to the acknowledgement; the optional details are offered
straight after it and stored on the same case as they arrive.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import Case, CaseEvent, Consent, Conversation, Evidence, InboundMessage
from bot.reference import is_valid
from bot.services import build_services
from flows.messages import Inbound, Media
from tests.helpers import (
    ANONYMOUS_REPORT,
    DANGER_REPORT,
    NOT_NOW,
    THIRD_PARTY_REPORT,
    VICTIM_DETAILS,
    VICTIM_REPORT,
    Resident,
)


def _cases(services):
    with services.db.read() as session:
        return session.scalars(select(Case)).all()


def _consents(services) -> dict[str, bool]:
    with services.db.read() as session:
        return {c.recipient: c.granted for c in session.scalars(select(Consent))}


def test_greeting_names_the_landlord_and_asks_about_danger_first(services):
    resident = Resident(services)
    assert "Larkspur Homes" in resident.said
    assert "999" in resident.said and "55" in resident.said
    assert resident.asked == "immediate_danger"
    for word in ("STOP", "END", "QUIT", "CANCEL", "UNSUBSCRIBE"):
        assert word not in resident.said


def test_victim_essentials_reach_a_formal_acknowledgement_then_the_offer(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:-1])
    assert "Sam Fictional" in resident.said  # the review summary
    resident.says("Send my report")
    assert resident.asked == "details_offer" and not resident.done
    [case] = _cases(services)
    assert is_valid(case.reference) and case.reference in resident.said
    assert "in confidence" in resident.said
    assert "020 7946 0321" in resident.said and "0808 157 0642" in resident.said
    assert "safer-neighbourhoods@larkspur-homes.example" in resident.said
    assert "999" in resident.said and "Riverside Victim Care" in resident.said
    assert "repairs timescale" in resident.said
    assert "about 11 questions" in resident.replies[-1].text
    assert [c.id for c in resident.replies[-1].choices] == ["add", "later"]
    assert case.hate_related and case.priority == "high"
    assert case.strands == ["ethnic_origin", "religion"]
    assert case.perceived_by == ["victim"]
    assert case.reporter_role == "victim" and not case.anonymous
    assert case.repair_needed and case.preserve_evidence == "keep"
    assert case.incident_types == [] and case.answers["incident_when"] == "yesterday"
    assert case.prejudice_indicators == ["ethnic_origin"]
    details = services.store.details(case)
    assert details["narrative"].startswith("The man from flat 9")
    assert details["contact_details"] == "07700 900456"
    assert set(case.answer_times) >= {"narrative", "contact_details", "leave_message"}
    assert _consents(services) == {}  # not asked yet, never "no"


def test_each_detail_is_stored_on_the_case_as_it_arrives(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    resident.follow(VICTIM_DETAILS[:3])  # types, who did it, a description
    [case] = _cases(services)
    assert case.incident_types == ["name_calling", "threats"]
    assert case.answers["perpetrator_known"] == "known"
    assert resident.asked == "perpetrator_description"
    assert resident.replies[-1].progress.text == "Extra details: step 2 of about 7"
    resident.follow(VICTIM_DETAILS[3:])
    assert resident.done and "added these details" in resident.said
    [case] = _cases(services)
    details = services.store.details(case)
    assert details["perpetrator_description"] == "Tall man, lives in flat 9"
    assert details["police_reference"] == "CR/0000/26"
    assert details["safe_times"] == "weekday mornings"
    assert case.answers["evidence"] == ["photos", "police"]
    assert case.answers["interview"] == "visit" and case.answers["language_needs"] == "none"
    assert _consents(services) == {"police": True, "local_authority": False,
                                   "support_services": True}
    assert details["monitoring_offer"] == "no"
    with services.db.read() as session:
        added = [e.detail["question"] for e in session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "detail_added"))]
    assert added[:3] == ["incident_types", "perpetrator_known", "perpetrator_description"]
    assert "monitoring_offer" not in added  # equality answers stay off the timeline


def test_detail_answers_keep_their_own_times(services):
    resident = Resident(services)
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=start)
    resident.says("1", at=start + timedelta(minutes=5))
    resident.says(["threats"], at=start + timedelta(minutes=6))
    resident.says("3", at=start + timedelta(minutes=7))  # who did it: no
    resident.says(["none"], at=start + timedelta(minutes=8))
    resident.says("no", at=start + timedelta(minutes=9))  # impact: not understood
    [case] = _cases(services)
    assert case.answer_times["narrative"] == start.isoformat()
    assert case.answer_times["incident_types"] == (start + timedelta(minutes=6)).isoformat()
    assert case.answer_times["evidence"] == (start + timedelta(minutes=8)).isoformat()
    assert "impact" not in case.answer_times


def test_not_now_ends_with_the_report_as_it_is(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    assert resident.replies[-1].choices[1].label == "No, not now"
    resident.follow([("no", None)])
    assert resident.done and "sent as it is" in resident.said
    resident.says("anything else?")
    # Writing again follows the report up (issue 15): the menu, never a second report.
    assert "Welcome back" in resident.said and resident.asked == "follow_up_menu"
    [case] = _cases(services)
    assert case.incident_types == [] and "evidence" not in case.answers


def test_anonymous_victim_essentials(services):
    resident = Resident(services)
    resident.follow(ANONYMOUS_REPORT)
    [case] = _cases(services)
    assert case.anonymous and case.reporter_role == "victim"
    assert case.answers["incident_when"] == "ongoing"
    assert case.strands == ["religion"] and case.preserve_evidence == "remove"
    assert "cannot contact you" in resident.said
    assert "location" not in services.store.details(case)  # skipped
    # No contact questions for an anonymous reporter, before or after the acknowledgement.
    resident.follow([("yes, add details", "incident_types"), (["graffiti"], "perpetrator_known"),
                     ("no", "evidence"), (["photos"], "impact"), (["prefer_not"],
                                                               "consent_police")])


def test_third_party_for_a_father_records_that_he_agrees(services):
    resident = Resident(services)
    resident.follow(THIRD_PARTY_REPORT)
    [case] = _cases(services)
    assert case.reporter_role == "third_party" and not case.anonymous
    assert case.answers["victim_aware"] == "agrees"
    assert case.strands == ["disability"] and case.perceived_by == ["reporter", "victim"]
    details = services.store.details(case)
    assert details["victim_details"] == "My dad, Pat Example, flat 3"
    assert details["contact_details"] == "jo@example.org"
    # Only the person it happened to is offered the equality questions.
    resident.says("1")
    seen = []
    for _ in range(30):
        if resident.done:
            break
        seen.append(resident.asked)
        last = resident.replies[-1]
        resident.says("Fictional text" if last.input == "text" else [last.choices[-1].id])
    assert resident.done and not [s for s in seen if s.startswith("monitoring")]


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
    resident.follow(DANGER_REPORT)
    [case] = _cases(services)
    assert case.immediate_danger and case.anonymous


def test_non_hate_asb_report_is_medium_priority(services):
    resident = Resident(services)
    transcript = [m for m, _ in VICTIM_REPORT]
    transcript[4] = "Loud music every night until 3am from the flat above."
    transcript[8] = ["no"]
    del transcript[9]  # no strands question after "no"
    for message in transcript:
        resident.says(message)
    [case] = _cases(services)
    assert not case.hate_related and case.priority == "medium" and case.strands == []
    assert "treat this as a hate incident" not in resident.said
    assert case.prejudice_indicators == []


def test_clear_indicators_after_no_get_one_gentle_recheck_without_quoting(services):
    resident = Resident(services)
    narrative = "He said Muslims are terrorists and pulled at my hijab."
    for message, _ in VICTIM_REPORT[:4]:
        resident.says(message)
    resident.says(narrative)
    for message, _ in VICTIM_REPORT[5:8]:
        resident.says(message)
    assert resident.asked == "perception"
    resident.says(["no"])
    assert resident.asked == "perception_recheck"
    assert "terrorists" not in resident.said and "hijab" not in resident.said
    resident.says(["yes"])
    assert resident.asked == "strands"
    resident.says(["religion"])
    assert resident.asked == "repair_needed"
    for message, _ in VICTIM_REPORT[10:]:
        resident.says(message)
    [case] = _cases(services)
    assert case.hate_related and case.strands == ["religion"]
    assert case.prejudice_indicators == ["religion"]


def test_recheck_answered_not_sure_keeps_indicators_for_the_officer(services):
    resident = Resident(services)
    messages = [m for m, _ in VICTIM_REPORT]
    messages[8] = "not sure"
    messages[9] = "not sure"  # the one gentle re-ask, instead of the strands question
    for message in messages:
        resident.says(message)
    [case] = _cases(services)
    assert not case.hate_related and case.prejudice_indicators == ["ethnic_origin"]


def test_changing_the_narrative_at_review_recomputes_the_signs(services):
    resident = Resident(services)
    messages = [m for m, _ in VICTIM_REPORT]
    messages[8] = "no"
    messages[9] = "no"  # the gentle re-ask, prompted by the narrative's signs
    for message in messages[:-1]:
        resident.says(message)
    assert resident.asked == "review"
    resident.says(["change"])
    resident.says(["incident"])
    assert resident.asked == "narrative"
    resident.says("Loud music until 3am.")
    # The signs went with the old narrative, and the re-ask with them.
    assert resident.asked == "review" and "On reflection" not in resident.said
    resident.says("submit")
    [case] = _cases(services)
    assert case.prejudice_indicators == [] and not case.hate_related


def test_change_an_answer_at_review_asks_only_what_is_needed(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:-1])
    resident.says(["change"])
    assert resident.asked == "change"
    assert {c.id for c in resident.replies[-1].choices} >= {"you", "incident", "why"}
    assert "consent" not in {c.id for c in resident.replies[-1].choices}
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


def test_progress_counts_sections_and_settles_as_answers_arrive(services):
    resident = Resident(services)
    assert resident.replies[-1].progress.text == "Step 1 of about 8"
    assert resident.replies[-1].progress.section == "Your safety"
    seen = []
    for message, _ in VICTIM_REPORT[:-1]:
        resident.says(message)
        seen.append((resident.replies[-1].progress.step, resident.replies[-1].progress.total))
    assert seen[-1] == (8, 8) and resident.replies[-1].progress.section == "Check and send"
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)  # never goes back
    anonymous = Resident(services)
    anonymous.follow(ANONYMOUS_REPORT[:3])
    assert anonymous.replies[-1].progress.total == 7  # no contact section
    witness = Resident(services)
    witness.follow(THIRD_PARTY_REPORT[:4])
    assert witness.replies[-1].progress.total == 9  # the person it happened to, too


def test_back_returns_to_the_previous_question(services):
    resident = Resident(services)
    resident.follow([("no", "reporter_role"), ("1", "anonymous")])
    resident.says("back")
    assert resident.asked == "reporter_role"
    resident.says("back")
    assert resident.asked == "immediate_danger"
    resident.says("back")
    assert "first question" in resident.said and resident.asked == "immediate_danger"


def test_back_after_the_acknowledgement_stays_with_the_details(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    resident.says("back")
    assert "already been sent" in resident.said and resident.asked == "details_offer"
    resident.follow(VICTIM_DETAILS[:2])
    resident.says("back")
    assert resident.asked == "incident_types"
    resident.says(["graffiti"])
    [case] = _cases(services)
    assert case.incident_types == ["graffiti"]  # answered again: replaced
    resident.says("back")
    resident.says("back")
    assert "first question" in resident.said and resident.asked == "incident_types"


def test_help_and_language_work_at_the_offer(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    resident.says("help")
    assert "start again" in resident.said and resident.asked == "details_offer"
    resident.says("banana")
    assert "did not understand" in resident.said and resident.asked == "details_offer"


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
    resident.follow(VICTIM_REPORT)
    resident.says("start again")
    assert resident.asked == "immediate_danger" and "earlier report is safe" in resident.said
    resident.follow(VICTIM_REPORT)
    resident.follow(NOT_NOW)
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
    resident.follow(VICTIM_REPORT)
    resident.follow(VICTIM_DETAILS[:3])
    resident.says("skip")
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
    finished.follow(VICTIM_REPORT)
    finished.follow(VICTIM_DETAILS[:2])  # walked away while adding details
    abandoned = Resident(services)
    abandoned.follow(VICTIM_REPORT[:5])
    later = datetime.now(UTC) + timedelta(days=8)
    assert finished.runner.purge_expired(now=later) == 2
    with services.db.read() as session:
        conversations = session.scalars(select(Conversation)).all()
    # The abandoned one, never a case, is gone; the finished one is kept, blanked.
    assert [(c.phase, c.state_enc) for c in conversations] == [("closed", None)]
    [case] = _cases(services)
    assert services.store.details(case)["reporter_name"] == "Sam Fictional"
    assert case.incident_types == ["name_calling", "threats"]  # details already stored
    purged_at = datetime.now(UTC)
    abandoned.says("hello")  # a new conversation: nothing of the old one is left
    assert "expired" not in abandoned.said and abandoned.asked == "immediate_danger"

    with services.db.read() as session:
        kept = session.scalars(select(InboundMessage)).all()
    old = [m for m in kept if m.received_at < purged_at]
    assert old and all(services.vault.open_json(m.replies_enc) == [] for m in old)
    # A replay of an old, already-handled message changes nothing and says nothing.
    replay = finished.runner.handle(Inbound(
        channel="webchat", sender=finished.sender, message_id=old[0].message_key, text="no"))
    assert replay.duplicate and replay.replies == ()


def test_media_sent_mid_conversation_is_kept_with_the_case(services):
    resident = Resident(services, channel="sms")
    resident.follow(VICTIM_REPORT[:5])
    resident.says("", media=(Media("image/jpeg", data=b"\xff\xd8fake-jpeg"),))
    assert "kept this file" in resident.said and resident.asked == "incident_when"
    for message, _ in VICTIM_REPORT[5:]:
        resident.says(message)
    [case] = _cases(services)
    with services.db.read() as session:
        [evidence] = session.scalars(select(Evidence)).all()
    assert evidence.case_id == case.id and evidence.size == 11
    assert services.vault.open(evidence.data_enc) == b"\xff\xd8fake-jpeg"


def test_photos_sent_while_adding_details_belong_to_the_case(services):
    resident = Resident(services, channel="sms")
    resident.follow(VICTIM_REPORT)
    resident.says("", media=(Media("image/jpeg", data=b"\xff\xd8at-the-offer"),))
    assert "kept this file" in resident.said and resident.asked == "details_offer"
    resident.follow(VICTIM_DETAILS[:4])
    assert resident.asked == "evidence"
    resident.says("", media=(Media("image/png", data=b"\x89PNG-fake"),))
    assert "kept this file" in resident.said and resident.asked == "evidence"
    [case] = _cases(services)
    with services.db.read() as session:
        kept = session.scalars(select(Evidence)).all()
    assert len(kept) == 2 and all(e.case_id == case.id for e in kept)


def test_deadline_in_words_matches_the_case(services):
    resident = Resident(services)
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=monday_10)
    [case] = _cases(services)
    assert case.first_contact_due == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert case.deadline_rule == "working_time" and not case.out_of_hours
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


def test_sunday_night_report_is_promised_monday_not_tuesday(services):
    resident = Resident(services)
    sunday_0340 = datetime(2026, 11, 29, 3, 40, tzinfo=UTC)
    for message, _ in VICTIM_REPORT:
        resident.says(message, at=sunday_0340)
    assert "17:00 on Monday, 30 November 2026" in resident.said
    assert "Tuesday" not in resident.said
