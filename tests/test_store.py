"""The case store and duty queue, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from bot.errors import HateFlagRemovalRefused, PriorityDowngradeRefused
from bot.intake import CaseDraft
from bot.models import Case, Conversation, utcnow
from bot.reference import is_valid
from bot.store import QueueFilter
from tests.helpers import VICTIM_REPORT, Resident

NARRATIVE = "Zebra-quartz-marmalade: the neighbour in flat 7 threw eggs at my window"


def _draft(hate: bool, strands=None, narrative: str = "fictional") -> CaseDraft:
    return CaseDraft(
        hate_related=hate, strands=strands or (["religion"] if hate else []),
        perceived_by=["victim"] if hate else [], prejudice_indicators=[],
        reporter_role="victim", anonymous=False, incident_types=["harassment"],
        location_type="home", immediate_danger=False, repair_needed=False,
        preserve_evidence=None, choice_answers={"reporter_role": "victim"},
        personal={"narrative": narrative}, consents=[],
    )


def _create(services, draft, received_at):
    with services.db.write() as session:
        case = services.store.create(session, draft, channel="webchat", language="en",
                                     received_at=received_at)
        return case.reference


def test_queue_is_high_priority_first_then_earliest_deadline(any_services):
    s = any_services
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    medium_early = _create(s, _draft(False), monday)
    high_late = _create(s, _draft(True), monday + timedelta(days=2))
    high_early = _create(s, _draft(True), monday)
    medium_late = _create(s, _draft(False), monday + timedelta(days=3))
    with s.db.read() as session:
        order = [c.reference for c in s.store.queue(session)]
    assert order == [high_early, high_late, medium_early, medium_late]


def test_queue_filters(any_services):
    s = any_services
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    religion = _create(s, _draft(True, ["religion"]), now)
    disability = _create(s, _draft(True, ["disability", "age"]), now - timedelta(days=10))
    with s.db.read() as session:
        by_strand = [c.reference for c in s.store.queue(session, QueueFilter(strand="age"))]
        overdue = [c.reference for c in s.store.queue(session, QueueFilter(overdue=True),
                                                       now=now)]
    assert by_strand == [disability]
    assert overdue == [disability] and religion not in overdue


def test_hate_related_case_cannot_be_lowered_by_the_model(any_services):
    s = any_services
    reference = _create(s, _draft(True), utcnow())
    with s.db.write() as session:
        case = s.store.get(session, reference)
        with pytest.raises(PriorityDowngradeRefused) as caught:
            case.priority = "medium"
        assert reference in str(caught.value) and "4.11" in str(caught.value)
        with pytest.raises(HateFlagRemovalRefused):
            case.hate_related = False
    with s.db.read() as session:
        assert s.store.get(session, reference).priority == "high"


def test_hate_related_case_cannot_be_lowered_by_a_raw_update(any_services):
    s = any_services
    reference = _create(s, _draft(True), utcnow())
    with pytest.raises(IntegrityError), s.db.write() as session:
        session.execute(update(Case).where(Case.reference == reference)
                        .values(priority="medium"))
    with s.db.read() as session:
        assert s.store.get(session, reference).priority == "high"


def test_marking_hate_related_later_raises_priority(any_services):
    s = any_services
    reference = _create(s, _draft(False), utcnow())
    with s.db.write() as session:
        case = s.store.get(session, reference)
        assert case.priority == "medium"
        case.mark_hate_related(["sexual_orientation"], ["duty_officer"])
    with s.db.read() as session:
        case = s.store.get(session, reference)
        assert case.hate_related and case.priority == "high" and case.priority_rank == 0
        assert case.perceived_by == ["duty_officer"]
        assert case.strands == ["sexual_orientation"]


def test_references_are_unique_under_concurrent_submissions(any_services):
    s = any_services
    references: list[str] = []
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            for _ in range(n):
                references.append(_create(s, _draft(True), utcnow()))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(10,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(references) == 60 == len(set(references))
    assert all(is_valid(r) for r in references)


def test_loose_reference_lookup(any_services):
    s = any_services
    reference = _create(s, _draft(False), utcnow())
    with s.db.read() as session:
        assert s.store.get(session, reference.lower().replace("-", " ")).reference == reference


def test_resident_retrying_concurrently_creates_one_case(any_services):
    s = any_services
    resident = Resident(s)
    for message, _ in VICTIM_REPORT[:-1]:
        resident.says(message)
    results = []

    def submit() -> None:
        results.append(resident.runner.handle(_inbound(resident, "submit", "final-1")))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with s.db.read() as session:
        assert len(session.scalars(select(Case)).all()) == 1
    assert len({tuple(r.text for r in res.replies) for res in results}) == 1
    assert sum(not res.duplicate for res in results) == 1


def _inbound(resident, text_: str, message_id: str):
    from flows.messages import Inbound

    return Inbound(channel=resident.channel, sender=resident.sender, message_id=message_id,
                   text=text_)


def test_personal_fields_are_not_in_the_database_file_in_clear(services, settings):
    resident = Resident(services, channel="sms", sender="+447700900321")
    for message, _ in VICTIM_REPORT[:4]:
        resident.says(message)
    resident.says(NARRATIVE)
    for message, _ in VICTIM_REPORT[5:]:
        resident.says(message)
    services.db.dispose()
    db_file = Path(settings.database_url[len("sqlite:///"):])
    raw = b"".join(p.read_bytes() for p in db_file.parent.glob(db_file.name + "*"))
    for secret in (NARRATIVE, "Sam Fictional", "07700 900456", "+447700900321",
                   "Block B, Larkspur Court", "CR/0000/26"):
        assert secret.encode() not in raw, secret
    with services.db.read() as session:
        [case] = session.scalars(select(Case)).all()
        [conversation] = session.scalars(select(Conversation)).all()
    assert services.store.details(case)["narrative"] == NARRATIVE
    assert services.vault.open_text(conversation.sender_enc) == "+447700900321"


@pytest.mark.postgres
def test_postgres_schema_has_the_hate_priority_constraint(pg_url):
    from bot.db import Database, upgrade_database

    upgrade_database(pg_url)
    db = Database(pg_url)
    with db.read() as session:
        names = set(session.scalars(text(
            "SELECT conname FROM pg_constraint WHERE conname LIKE 'ck_cases%'")))
    db.dispose()
    assert "ck_cases_hate_is_high" in names
