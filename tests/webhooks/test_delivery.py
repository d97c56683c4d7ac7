"""Outbound webhooks through the real delivery path (outbox, worker sender, httpx, a local
receiver verifying signatures), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import webhooks
from bot.console import casework
from bot.models import Case, OutboxMessage
from tests.helpers import VICTIM_REPORT, Resident
from tests.webhooks.conftest import Clock, Worker, hook
from tests.webhooks.receiver import as_json

OFFICER_CHANGES = ["claimed", "first_contact", "flags_changed", "closed"]


def _report(services) -> str:
    resident = Resident(services)
    resident.follow(VICTIM_REPORT)
    with services.db.read() as session:
        return session.scalars(select(Case.reference).order_by(Case.id.desc())).first()


def _officer_works(services, reference: str) -> None:
    """Claim, record first contact, flag, close: each in its own transaction, as the
    console does."""
    with services.db.write() as session:
        case = services.store.get(session, reference)
        assert casework.claim(session, case.id, "duty1")
        services.store.record(session, case, "claimed", "duty1")
    with services.db.write() as session:
        case = services.store.get(session, reference)
        casework.record_first_contact(session, services, case, "duty1",
                                      datetime.now(UTC) - timedelta(minutes=5), "visit",
                                      "Duty One")
    with services.db.write() as session:
        case = services.store.get(session, reference)
        casework.set_flags(session, services, case, "duty1", "duty_officer",
                           vulnerable_victim=True, vulnerable_perpetrator=False,
                           sensitive=False)
    with services.db.write() as session:
        case = services.store.get(session, reference)
        casework.close(session, services, case, "boss", "resolved",
                       "Fictional closure note naming Alex Fictional", investigated=True)


def test_case_events_reach_each_receiver_signed_in_order(hooked, asb, crm):
    services = hooked(hook("asb", asb) + hook("crm", crm, personal_details="true",
                                              events='["case.created", "case.closed"]'))
    asb.start()
    crm.start()
    reference = _report(services)
    _officer_works(services, reference)
    Worker(services, Clock()).run()

    assert asb.by_case() == {reference: ["received", *OFFICER_CHANGES]}
    assert [e["type"] for e in asb.stored()] == ["case.created", "case.updated",
                                                "case.updated", "case.updated",
                                                "case.closed"]
    assert crm.by_case() == {reference: ["received", "closed"]}
    assert asb.forged == crm.forged == 0

    created, claimed, contact, flags, closed = asb.stored()
    assert created["data"]["case"]["hate_related"] is True
    assert created["data"]["case"]["priority"] == "high"
    assert claimed["data"]["case"]["assignee"] == "duty1"
    assert claimed["data"]["case"]["status"] == "open"
    assert contact["data"]["case"]["first_contact_at"] is not None
    assert contact["data"]["case"]["next_deadline"] == \
        contact["data"]["case"]["action_plan_due"]
    assert flags["data"]["case"]["vulnerable_victim"] is True
    assert closed["data"]["case"]["status"] == "closed"
    assert closed["data"]["case"]["outcome"] == "resolved"
    # By default: references, codes and times only.
    for event in asb.stored():
        text = as_json(event)
        assert "personal" not in event["data"]
        assert "Sam Fictional" not in text and "Alex Fictional" not in text
    # The CRM may have personal details: the resident's fields, never monitoring answers.
    crm_created, crm_closed = crm.stored()
    assert crm_created["data"]["personal"]["reporter_name"] == "Sam Fictional"
    assert not set(crm_created["data"]["personal"]) & {"ethnicity", "religion_belief",
                                                        "sexual_orientation"}
    assert crm_closed["data"]["personal"] == {
        "closure_reason": "Fictional closure note naming Alex Fictional"}


def test_a_receiver_down_for_hours_then_back_loses_nothing_and_doubles_nothing(hooked, asb):
    """The receiver is down (nothing listens), then answers 503 and 500 a few times, then
    recovers; a worker also dies once between the receiver's answer and recording it.
    Every event arrives, each case's in order; the only repeat is that one delivery, with
    the same webhook-id."""
    services = hooked(hook("asb", asb))
    clock = Clock()
    worker = Worker(services, clock)
    references = [_report(services) for _ in range(3)]
    for reference in references[:2]:
        _officer_works(services, reference)

    worker.run()
    with services.db.read() as session:
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == webhooks.CHANNEL)).all()
    assert len(rows) == 3 + 2 * 4 and all(r.status == "pending" for r in rows)
    tried = [r for r in rows if r.attempts]
    # Only each case's first event was tried; the later ones wait for it.
    assert {r.case_id for r in tried} == {r.case_id for r in rows} and len(tried) == 3
    assert {r.last_error for r in tried} <= {"ConnectError", "endpoint unreachable"}

    for hours in (1, 2, 3):  # still down: retried with backoff, never given up
        clock.advance(hours=hours)
        worker.run()
    asb.start()
    # A worker dies after the receiver stored an event but before recording it: the lease
    # runs out and the event goes again, with its id.
    clock.advance(hours=1)
    [envelope] = worker.outbox.claim(limit=1, now=clock.now())
    assert worker.outbox.senders[webhooks.CHANNEL](envelope).status == "sent"
    # Then the receiver stumbles a few times before it is fully back.
    asb.refuse = [(503, {"Retry-After": "120"}), (500, {}), (500, {})]
    for _ in range(8):
        clock.advance(hours=1)
        worker.run()

    expected = {references[0]: ["received", *OFFICER_CHANGES],
                references[1]: ["received", *OFFICER_CHANGES],
                references[2]: ["received"]}
    assert asb.by_case() == expected
    assert len(asb.events) == 11 and asb.forged == 0
    repeats = [i for i in set(asb.deliveries) if asb.deliveries.count(i) > 1]
    assert envelope.payload["id"] in repeats
    with services.db.read() as session:
        statuses = session.scalars(select(OutboxMessage.status).where(
            OutboxMessage.channel == webhooks.CHANNEL)).all()
    assert statuses and set(statuses) == {"sent"}


def test_retry_after_is_honoured(hooked, asb):
    services = hooked(hook("asb", asb))
    asb.refuse = [(429, {"Retry-After": "90"})]
    asb.start()
    _report(services)
    clock = Clock()
    Worker(services, clock).run()
    with services.db.read() as session:
        row = session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == webhooks.CHANNEL)).one()
    assert row.status == "pending" and row.last_error == "http 429"
    wait = (row.next_attempt_at - clock.now()).total_seconds()
    assert 80 <= wait <= 91
    clock.advance(seconds=91)
    Worker(services, clock).run()
    assert len(asb.stored()) == 1


def test_events_are_queued_with_the_change_and_only_with_it(hooked, asb):
    """The event row is written in the change's transaction: a change that is rolled back
    leaves no event, and the resident's turn sends nothing itself."""
    services = hooked(hook("asb", asb))
    asb.start()
    reference = _report(services)
    assert asb.deliveries == []  # the turn queued the event; only the worker sends
    try:
        with services.db.write() as session:
            case = services.store.get(session, reference)
            casework.set_flags(session, services, case, "duty1", "duty_officer",
                               vulnerable_victim=True, vulnerable_perpetrator=False,
                               sensitive=False)
            raise RuntimeError("the officer's request failed after the change")
    except RuntimeError:
        pass
    with services.db.read() as session:
        kinds = session.scalars(select(OutboxMessage.kind).where(
            OutboxMessage.channel == webhooks.CHANNEL)).all()
    assert kinds == ["webhook:asb"]


def test_two_workers_never_send_a_case_s_events_out_of_order(hooked, asb):
    services = hooked(hook("asb", asb))
    reference = _report(services)
    _officer_works(services, reference)
    clock = Clock()
    first, second = Worker(services, clock), Worker(services, clock)
    taken = first.outbox.claim(now=clock.now())
    assert [e.payload["body"]["data"]["change"] for e in taken] == ["received"]
    assert second.outbox.claim(now=clock.now()) == []


def test_a_sensitive_case_s_personal_details_are_never_sent(hooked, crm):
    services = hooked(hook("crm", crm, personal_details="true"))
    crm.start()
    reference = _report(services)
    with services.db.write() as session:
        case = services.store.get(session, reference)
        casework.set_flags(session, services, case, "boss", "manager",
                           vulnerable_victim=False, vulnerable_perpetrator=False,
                           sensitive=True)
    with services.db.write() as session:
        case = services.store.get(session, reference)
        casework.close(session, services, case, "boss", "resolved", "Closed (fictional)",
                       investigated=True)
    Worker(services, Clock()).run()
    # Flagging an unclaimed case sensitive also assigns it to the flagger (its own entry).
    created, flagged, claimed, closed = crm.stored()
    assert "personal" in created["data"]
    assert flagged["data"]["case"]["sensitive"] is True
    assert claimed["data"]["change"] == "claimed"
    assert claimed["data"]["case"]["assignee"] == "boss"
    assert all("personal" not in e["data"] for e in (flagged, claimed, closed))
