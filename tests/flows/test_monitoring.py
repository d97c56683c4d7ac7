"""Optional equality monitoring (policy 13.4): only the victim, about themselves, sealed,
offered last among the details after the acknowledgement."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Case
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, Resident

ANSWERS = ["yes", "18 to 34", "I'd rather not say", "Muslim", "no", "Bisexual", "yes"]


def _case(services) -> Case:
    with services.db.read() as session:
        [case] = session.scalars(select(Case)).all()
        return case


def test_victim_may_answer_and_answers_are_sealed_not_plain(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    resident.follow(VICTIM_DETAILS[:-1])
    assert resident.asked == "monitoring_offer"
    resident.follow([
        (ANSWERS[0], "monitoring_age"), (ANSWERS[1], "monitoring_ethnicity"),
        (ANSWERS[2], "monitoring_religion"), (ANSWERS[3], "monitoring_disability"),
        (ANSWERS[4], "monitoring_sexuality"), (ANSWERS[5], "monitoring_gender_identity"),
        (ANSWERS[6], None),
    ])
    assert resident.done and "Muslim" not in resident.said and "Bisexual" not in resident.said
    case = _case(services)
    assert not any(k.startswith("monitoring_") for k in case.answers)
    details = services.store.details(case)
    assert details["monitoring_religion"] == "muslim"
    assert details["monitoring_ethnicity"] == "prefer_not"
    assert details["monitoring_sexuality"] == "bisexual"


def test_declining_skips_every_question(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    resident.follow(VICTIM_DETAILS)
    details = services.store.details(_case(services))
    assert details["monitoring_offer"] == "no"
    assert not any(k.startswith("monitoring_") and k != "monitoring_offer" for k in details)


def test_someone_reporting_for_another_person_is_never_asked(services):
    resident = Resident(services)
    resident.follow([("no", "reporter_role"), (["witness"], "anonymous"),
                     (["anonymous"], "victim_details"), ("skip", "victim_aware"),
                     (["unaware"], "narrative")])
    seen = []
    for _ in range(60):
        if resident.done:
            break
        seen.append(resident.asked)
        last = resident.replies[-1]
        if resident.asked == "details_offer":
            resident.says(["add"])
            continue
        resident.says("Fictional text" if not last.choices or last.choices[0].id == "skip"
                      else [last.choices[0].id])
    assert resident.done and "consent_support" in seen
    assert not [s for s in seen if s.startswith("monitoring")]
