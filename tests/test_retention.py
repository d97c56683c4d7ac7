"""Retention: closed cases lose their personal data after the organisation's period, exactly
those and exactly that; the monitoring figures stay the same; every erasure is audited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot import monitoring, retention, worker
from bot.app import assemble
from bot.console import casework, messaging
from bot.errors import ConfigError
from bot.models import (
    AuditLog,
    Case,
    CaseEvent,
    CaseNote,
    Conversation,
    Evidence,
    InboundMessage,
    OutboxMessage,
    SubjectIdentifier,
    utcnow,
)
from bot.org import load_organisation
from bot.settings import DEMO_ORG_FILE
from flows.messages import Inbound, Media
from tests.helpers import VICTIM_REPORT, Resident
from tests.sealed_support import PHOTO, victim_report

NOW = utcnow()
YEAR = timedelta(days=365)


def _close(services, reference: str, closed_at: datetime) -> Case:
    """Close the case as if at `closed_at`, received a month before."""
    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        casework.add_note(session, services, case, "officer", "Visited; the neighbour "
                          "in flat 9 was warned.")
        casework.close(session, services, case, "officer", "resolved", "Perpetrator moved "
                       "away.", True)
        case.closed_at = closed_at
        case.received_at = closed_at - timedelta(days=30)
        return case


def _snapshot(services, reference: str) -> dict:
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        conv = session.get(Conversation, case.conversation_id)
        return {
            "details": services.store.details(case),
            "closure": services.vault.open_text(case.closure_reason_enc),
            "notes": [services.vault.open_text(n.text_enc) for n in session.scalars(
                select(CaseNote).where(CaseNote.case_id == case.id))],
            "files": [e.data_enc is not None for e in session.scalars(
                select(Evidence).where(Evidence.case_id == case.id))],
            "sender": services.vault.open_text(conv.sender_enc) if conv.sender_enc else None,
            "phase": conv.phase,
            "identifiers": session.scalar(select(func.count(SubjectIdentifier.id)).where(
                SubjectIdentifier.case_id == case.id)),
            "erased_at": case.erased_at,
        }


def _figures(services) -> tuple:
    """Every monitoring figure over the whole history, for all cases and hate cases."""
    timezone = services.org.timezone
    every_year = monitoring.period(date(2000, 1, 1), (NOW + timedelta(days=1)).date(),
                                   timezone)
    with services.db.read() as session:
        return tuple(monitoring.figures(session, every_year, timezone, NOW, scope=scope)
                     for scope in monitoring.SCOPES)


def test_retention_erases_exactly_what_is_due_and_the_figures_stay(any_services):
    s = any_services
    due = victim_report(s, "sms", "+447700900001")
    recent = victim_report(s, "sms", "+447700900002")
    still_open = victim_report(s, "sms", "+447700900003")
    # One resident, two reports: the old one is due, the newer one keeps the conversation.
    shared_old = victim_report(s, "sms", "+447700900004")
    shared_new = victim_report(s, "sms", "+447700900004")
    _close(s, due, retention.years_before(NOW, 6) - timedelta(days=2))
    _close(s, recent, NOW - 5 * YEAR)
    _close(s, shared_old, NOW - 7 * YEAR)
    with s.db.write() as session:
        session.execute(update(Case).where(Case.reference == still_open)
                        .values(received_at=NOW - 9 * YEAR))
        due_case = session.scalar(select(Case).where(Case.reference == due))
        queued = OutboxMessage(dedupe_key="test:due", kind="resident_message", channel="sms",
                               case_id=due_case.id, conversation_id=due_case.conversation_id,
                               payload_enc=s.vault.seal_json({"text": "Please call us."}),
                               status="sent")
        session.add(queued)
    kept = {ref: _snapshot(s, ref) for ref in (recent, still_open, shared_new)}
    before = _figures(s)

    result = retention.run(s, now=NOW)

    assert result.cases == 2
    assert _figures(s) == before
    for ref, snapshot in kept.items():
        assert _snapshot(s, ref) == snapshot, ref
    gone = _snapshot(s, due)
    assert gone["details"] == {} and gone["sender"] is None and gone["phase"] == "erased"
    assert gone["files"] == [False] and gone["identifiers"] == 0
    assert gone["closure"] == f"[erased on {NOW.date().isoformat()}: retention: 6 years " \
                              "after closure]"
    assert gone["notes"] == [gone["closure"]]
    with s.db.read() as session:
        due_case = session.scalar(select(Case).where(Case.reference == due))
        conv = session.get(Conversation, due_case.conversation_id)
        assert conv.sender_index.startswith("erased:") and conv.state_enc is None
        for message in session.scalars(select(InboundMessage).where(
                InboundMessage.conversation_id == conv.id)):
            assert s.vault.open_json(message.replies_enc) == []
        assert s.vault.open_json(session.scalar(select(OutboxMessage.payload_enc).where(
            OutboxMessage.dedupe_key == "test:due"))) == {}
        # The facts monitoring counts stay on the case.
        assert due_case.hate_related and due_case.strands == ["ethnic_origin", "religion"]
        assert due_case.incident_types and due_case.outcome == "resolved"
        # The old report of a resident still reporting: its details go, the
        # conversation stays for the newer report.
        old = session.scalar(select(Case).where(Case.reference == shared_old))
        assert old.erased_at is not None and s.store.details(old) == {}
        shared_conv = session.get(Conversation, old.conversation_id)
        assert s.vault.open_text(shared_conv.sender_enc) == "+447700900004"
        # Audited, with the reason, on the audit log and on the case's timeline.
        audited = session.scalars(select(AuditLog).where(AuditLog.action == "case_erased")
                                  ).all()
        assert sorted(a.case_id for a in audited) == sorted([due_case.id, old.id])
        assert all(a.actor == "retention" and "6 years" in a.detail["reason"]
                   for a in audited)
        assert session.scalar(select(func.count(CaseEvent.id)).where(
            CaseEvent.kind == "personal_data_erased")) == 2
    # Running again erases nothing more.
    assert retention.run(s, now=NOW).cases == 0


def test_a_resident_whose_conversation_was_erased_starts_afresh(services):
    due = victim_report(services, "sms", "+447700900011")
    _close(services, due, NOW - 7 * YEAR)
    retention.run(services, now=NOW)
    resident = Resident(services, channel="sms", sender="+447700900011", opened=False)
    resident.says("hello")
    assert resident.asked == "immediate_danger"
    resident.follow(VICTIM_REPORT)
    with services.db.read() as session:
        assert session.scalar(select(func.count(Conversation.id))) == 2


def test_files_of_abandoned_conversations_are_erased(services):
    abandoned = Resident(services, channel="sms", sender="+447700900021")
    abandoned.follow(VICTIM_REPORT[:3])
    old = utcnow() - timedelta(days=30)
    abandoned.runner.handle(Inbound(
        channel="sms", sender="+447700900021", message_id="photo-1", text="",
        media=(Media("image/png", data=PHOTO),), received_at=old))
    current = Resident(services, channel="sms", sender="+447700900022")
    current.follow(VICTIM_REPORT[:3])
    current.says("", media=(Media("image/png", data=PHOTO),))

    result = retention.run(services)

    assert result.orphan_files == 1
    with services.db.read() as session:
        files = {e.conversation_id: e for e in session.scalars(select(Evidence))}
    statuses = sorted((e.status, e.data_enc is None) for e in files.values())
    assert statuses == [("erased", True), ("stored", False)]


def test_the_worker_applies_retention(services):
    due = victim_report(services, "sms", "+447700900031")
    _close(services, due, utcnow() - 7 * YEAR)
    worker.run(assemble(services), interval=0.01, stop_after=0.05)
    with services.db.read() as session:
        assert session.scalar(select(Case.erased_at).where(Case.reference == due)) is not None


def test_retention_period_comes_from_the_organisation_file(tmp_path):
    assert load_organisation(DEMO_ORG_FILE).retention_years == 6
    for bad in ("0", "\"six\"", "101", "true"):
        path = tmp_path / "org.toml"
        path.write_text(DEMO_ORG_FILE.read_text().replace(
            "closed_cases_years = 6", f"closed_cases_years = {bad}"))
        with pytest.raises(ConfigError, match=r"retention\.closed_cases_years"):
            load_organisation(path)
    path.write_text(DEMO_ORG_FILE.read_text().replace("closed_cases_years = 6",
                                                      "closed_cases_years = 2"))
    assert load_organisation(path).retention_years == 2
    path.write_text(DEMO_ORG_FILE.read_text().replace("closed_cases_years = 6",
                                                      "keep_for = 2"))
    with pytest.raises(ConfigError, match=r"retention\.keep_for: unknown setting"):
        load_organisation(path)


def test_years_before_handles_the_leap_day():
    assert retention.years_before(datetime(2032, 2, 29, tzinfo=UTC), 6) == \
        datetime(2026, 2, 28, tzinfo=UTC)


def test_an_erased_conversation_cannot_be_messaged(services):
    due = victim_report(services, "sms", "+447700900041")
    _close(services, due, NOW - 7 * YEAR)
    retention.run(services, now=NOW)
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == due))
        reach = messaging.reachability(case, casework.conversation_of(session, case), {},
                                       frozenset({"sms"}))
    assert not reach.possible and "erased" in reach.refusals[0]
