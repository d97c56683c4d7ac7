"""Monitoring figures (policy 13) against a known set of cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import monitoring, profiles
from bot.console import casework
from bot.intake import CaseDraft
from bot.models import Case, Conversation, ProfileCount, SatisfactionSurvey
from bot.suppression import Cell, suppress

TZ = "Europe/London"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Known:
    """One fictional case of the known set."""

    received: datetime
    hate: bool = True
    strands: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    area: str | None = None
    channel: str = "sms"
    language: str = "en"
    role: str = "victim"
    sender: str | None = None
    personal: dict = field(default_factory=dict)
    contact: datetime | None = None


def _utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _victim(age: str, ethnicity: str) -> dict:
    return {"narrative": "fictional", "monitoring_age": age, "monitoring_ethnicity": ethnicity}


KNOWN = [
    # 1: Wed 15 Jan 2025, contacted an hour later.
    Known(_utc(2025, 1, 15, 10), strands=["ethnic_origin", "religion"],
          types=["name_calling", "threats"], area="Larkspur Court", sender="+447700900801",
          personal=_victim("18_34", "white"), contact=_utc(2025, 1, 15, 11)),
    # 2: contacted on the Wednesday, after its deadline (18 working hours).
    Known(_utc(2025, 1, 20, 10), strands=["ethnic_origin"], types=["graffiti"],
          area="Riverside", channel="webchat", language="pl", sender="web-token-2",
          personal=_victim("18_34", "white"), contact=_utc(2025, 1, 22, 12)),
    # 3: the same SMS sender as case 1 again; never contacted.
    Known(_utc(2025, 3, 3, 10), strands=["disability"], types=["name_calling"],
          sender="+447700900801", personal=_victim("18_34", "white")),
    # 4: 23:30 UTC on 30 June is 00:30 on 1 July in London (summer time): July.
    Known(_utc(2025, 6, 30, 23, 30), strands=["ethnic_origin"], types=["threats"],
          area="Larkspur Court", channel="telegram", language="ar", sender="5550001",
          personal=_victim("18_34", "white"), contact=_utc(2025, 7, 1, 8, 30)),
    # 5: the last half hour of 2025 in London (winter time, so UTC too).
    Known(_utc(2025, 12, 31, 23, 30), strands=["religion"], types=["name_calling"],
          area="Riverside", sender="+447700900802", personal=_victim("18_34", "white")),
    # 6: received on the early May bank holiday; counts from Tuesday 09:00.
    Known(_utc(2025, 5, 5, 10), strands=["age"], types=["harassment"], area="Eastgate",
          channel="whatsapp", language="so", sender="+447700900803",
          personal=_victim("75_plus", "asian"), contact=_utc(2025, 5, 6, 12)),
    # 7: a witness, so no victim's answers.
    Known(_utc(2025, 5, 6, 10), strands=["ethnic_origin"], types=["threats"],
          area="Eastgate", role="witness", sender="+447700900804",
          personal={"narrative": "fictional"}, contact=_utc(2025, 5, 6, 13)),
    # 8: not hate-related, taken by phone.
    Known(_utc(2025, 3, 10, 10), hate=False, types=["harassment"], channel="phone",
          role="witness", personal={"narrative": "fictional"}),
    # 9: 2024, outside the year.
    Known(_utc(2024, 12, 31, 23, 30), strands=["ethnic_origin"], types=["threats"],
          sender="+447700900805", personal=_victim("18_34", "black")),
]


def _load(services) -> list[Case]:
    cases = []
    with services.db.write() as session:
        for k in KNOWN:
            conversation_id = None
            if k.sender:
                conv = Conversation(channel=k.channel, sender_index=services.vault.index(
                    k.channel, k.sender), sender_enc=services.vault.seal(k.sender),
                    phase="submitted", locale=k.language)
                existing = session.scalar(select(Conversation).where(
                    Conversation.channel == conv.channel,
                    Conversation.sender_index == conv.sender_index))
                if existing is None:
                    session.add(conv)
                    session.flush()
                conversation_id = (existing or conv).id
            draft = CaseDraft(
                hate_related=k.hate, strands=k.strands,
                perceived_by=["victim"] if k.hate else [], prejudice_indicators=[],
                reporter_role=k.role, anonymous=False, incident_types=k.types,
                location_type="estate", immediate_danger=False, repair_needed=False,
                preserve_evidence=None,
                choice_answers={"reporter_role": k.role,
                                "ongoing": "ongoing" if k.types == ["threats"] else "one_off"},
                personal=k.personal, consents=[], area=k.area)
            case = services.store.create(session, draft, channel=k.channel,
                                         language=k.language, received_at=k.received,
                                         conversation_id=conversation_id)
            if k.contact:
                casework.record_first_contact(session, services, case, "duty1", k.contact,
                                              "phone", "Duty One")
            cases.append(case)
        first = cases[0]
        casework.record_action_plan(session, services, first, "cm", _utc(2025, 1, 20, 10))
        casework.set_perpetrator(session, services, first, "cm",
                                 {"age": "35_54", "gender": "male"})
        casework.close(session, services, first, "cm", "resolved",
                       "Fictional: resolved with the family.", investigated=True)
        casework.close(session, services, cases[5], "cm", "no_further_action",
                       "Fictional: full investigation, nothing more to do.",
                       investigated=True)
        for case, score in ((first, 4), (cases[5], 5)):
            session.add(SatisfactionSurvey(
                case_id=case.id, conversation_id=case.conversation_id, locale="en",
                status="answered", asked_at=_utc(2025, 8, 1), satisfaction=score,
                report_again="yes", answered_at=_utc(2025, 8, 2), misunderstood=0))
    return cases


def _figures(services, p, scope="hate"):
    with services.db.read() as session:
        return monitoring.figures(session, p, TZ, NOW, scope)


def test_a_year_of_known_cases_adds_up(any_services):
    s = any_services
    _load(s)
    f = _figures(s, monitoring.year_period(2025, TZ))

    assert (f.cases, f.hate_cases) == (7, 7)
    # Eight strand mentions among seven cases: said as both, never confused.
    assert (f.cases_with_strand, f.strand_mentions) == (7, 8)
    assert f.strands == [("ethnic_origin", 4), ("religion", 2), ("age", 1),
                         ("disability", 1)]
    assert f.types == [("name_calling", 3), ("threats", 3), ("graffiti", 1),
                       ("harassment", 1)]
    assert f.strand_types == {
        "ethnic_origin": {"name_calling": 1, "threats": 3, "graffiti": 1},
        "religion": {"name_calling": 2, "threats": 1},
        "disability": {"name_calling": 1}, "age": {"harassment": 1}}
    assert f.areas == [("Eastgate", 2), ("Larkspur Court", 2), ("Riverside", 2), ("", 1)]
    assert f.channels == [("sms", 4), ("telegram", 1), ("webchat", 1), ("whatsapp", 1)]
    assert f.languages == [("en", 4), ("ar", 1), ("pl", 1), ("so", 1)]
    # Months in London time: case 4 arrived at 00:30 BST on 1 July, not in June.
    assert [(m, n) for m, n, _h in f.trend] == [
        ("2025-01", 2), ("2025-02", 0), ("2025-03", 1), ("2025-04", 0), ("2025-05", 2),
        ("2025-06", 0), ("2025-07", 1), ("2025-08", 0), ("2025-09", 0), ("2025-10", 0),
        ("2025-11", 0), ("2025-12", 1)]
    assert f.first_contact == {"met": 4, "missed": 3, "pending": 0}
    assert monitoring.within(f, f.first_contact) == 57.1
    # Working hours to first contact: 1, 18, 0.5, 4 (bank holiday skipped), 3.
    assert f.median_hours_to_contact == 3.0
    assert f.action_plan == {"met": 1, "missed": 6, "pending": 0}
    assert f.outcomes == [("no_further_action", 1), ("resolved", 1)]
    assert (f.repeat_people, f.repeat_people_cases) == (1, 2)
    assert f.said_happened_before == 2

    # Victims: five aged 18-34 are shown; the one aged 75+ and the one witness report are
    # fewer than 5, two hidden counts that cannot be worked out from each other.
    assert f.victims["age"] == [Cell("18_34", 5), Cell("75_plus", None),
                                Cell("not_answered", None)]
    assert f.victims["ethnicity"] == [Cell("asian", None), Cell("not_answered", None),
                                      Cell("white", 5)]
    # Perpetrators: one recorded, six not: the one is hidden, and so is the six, or the
    # one could be worked out from the year's total.
    assert f.perpetrators["age"] == [Cell("35_54", None), Cell("not_recorded", None)]
    assert [c.value for c in f.satisfaction] == ["1", "2", "3", "4", "5"]
    assert [c.count for c in f.satisfaction] == [0, 0, 0, None, None]
    assert (f.surveys_asked, f.surveys_answered, f.average_satisfaction) == (2, 2, None)
    # Both said yes: beside only zeros, the zeros are hidden too.
    assert f.report_again == [Cell("no", None), Cell("not_sure", None), Cell("yes", None)]


def test_all_cases_a_date_range_and_another_year(any_services):
    s = any_services
    _load(s)
    everything = _figures(s, monitoring.year_period(2025, TZ), scope="all")
    assert (everything.cases, everything.hate_cases) == (8, 7)
    assert ("phone", 1) in everything.channels
    assert dict((m, (n, h)) for m, n, h in everything.trend)["2025-03"] == (2, 1)

    january = _figures(s, monitoring.period(date(2025, 1, 1), date(2025, 1, 31), TZ))
    assert january.cases == 2 and [m for m, _n, _h in january.trend] == ["2025-01"]
    assert january.period.years == (2025,)

    before = _figures(s, monitoring.year_period(2024, TZ))
    assert before.cases == 1 and before.strands == [("ethnic_origin", 1)]
    # A single victim in 2024: every answer of the year is hidden.
    assert before.victims["age"] == [Cell("18_34", None)]


def test_profile_counts_follow_the_sealed_answers(any_services):
    s = any_services
    cases = _load(s)
    with s.db.read() as session:
        kept = {(r.year, r.hate_related, r.subject, r.dimension, r.value): r.n
                for r in session.scalars(select(ProfileCount))}
    # Rebuilt from the sealed answers alone, the counts are the same.
    with s.db.write() as session:
        assert profiles.rebuild(session, s.vault, TZ) == len(KNOWN)
    with s.db.read() as session:
        rebuilt = {(r.year, r.hate_related, r.subject, r.dimension, r.value): r.n
                   for r in session.scalars(select(ProfileCount)) if r.n}
    assert rebuilt == {k: n for k, n in kept.items() if n}
    # A case flagged hate-related later moves its answers to the hate-related counts.
    with s.db.write() as session:
        medium = session.get(Case, cases[7].id)
        casework.mark_hate_related(session, s, medium, "duty1", ["age"], ["staff"])
    with s.db.read() as session:
        n = session.scalar(select(ProfileCount.n).where(
            ProfileCount.year == 2025, ProfileCount.hate_related.is_(True),
            ProfileCount.subject == "perpetrator", ProfileCount.dimension == "age",
            ProfileCount.value == "not_recorded"))
    assert n == 7
    # Clearing the perpetrator profile moves its count back to "not recorded".
    with s.db.write() as session:
        casework.set_perpetrator(session, s, session.get(Case, cases[0].id), "cm", {})
    f = _figures(s, monitoring.year_period(2025, TZ))
    assert f.perpetrators["age"] == [Cell("not_recorded", 8)]


def test_small_counts_are_hidden_and_cannot_be_worked_out():
    assert suppress({"a": 7, "b": 6}) == [Cell("a", 7), Cell("b", 6)]
    assert suppress({"a": 7, "b": 2, "c": 9}) == [Cell("a", None), Cell("b", None),
                                                  Cell("c", 9)]
    assert suppress({"a": 7, "b": 2, "c": 1}) == [Cell("a", 7), Cell("b", None),
                                                  Cell("c", None)]
    assert suppress({"a": 0, "b": 3}) == [Cell("b", None)]
    assert suppress({"a": 0, "b": 3}, keep_zeros=True) == [Cell("a", None), Cell("b", None)]
    assert suppress({"a": 5, "b": 0}, keep_zeros=True) == [Cell("a", 5), Cell("b", 0)]


def test_a_period_is_whole_local_days():
    p = monitoring.period(date(2025, 6, 1), date(2025, 6, 30), TZ)
    assert p.start == datetime(2025, 5, 31, 23, tzinfo=UTC)
    assert p.end == datetime(2025, 6, 30, 23, tzinfo=UTC)
    assert p.label == "1 Jun 2025 to 30 Jun 2025"
    with pytest.raises(ValueError):
        monitoring.period(date(2025, 6, 2), date(2025, 6, 1), TZ)
    year = monitoring.year_period(2025, TZ)
    assert (year.start, year.end - timedelta(days=365)) == (
        datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
