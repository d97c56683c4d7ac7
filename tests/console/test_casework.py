"""Working a case in the console: queue, claim, clocks, hate flag, priority, closing, audit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from bot.console import audit, casework
from bot.console.audit import AppendOnly
from bot.intake import CaseDraft
from bot.models import AuditLog, Case, CaseEvent, Evidence, OutboxMessage, utcnow
from tests.console.conftest import NARRATIVE, add_staff, login, post_form, report

XSS = '<img src=x onerror=alert(1)><script>alert("x")</script>'


def _case(services, reference: str) -> Case:
    with services.db.read() as session:
        return session.scalar(select(Case).where(Case.reference == reference))


def _medium(services, received_at: datetime, narrative: str = "fictional") -> str:
    draft = CaseDraft(
        hate_related=False, strands=[], perceived_by=[], prejudice_indicators=[],
        reporter_role="witness", anonymous=False, incident_types=["noise"],
        location_type="estate", immediate_danger=False, repair_needed=False,
        preserve_evidence=None, choice_answers={"reporter_role": "witness"},
        personal={"narrative": narrative}, consents=[])
    with services.db.write() as session:
        return services.store.create(session, draft, channel="webchat", language="en",
                                     received_at=received_at).reference


def _actions(services, reference: str) -> list[str]:
    case = _case(services, reference)
    with services.db.read() as session:
        return session.scalars(select(AuditLog.action).where(
            AuditLog.case_id == case.id).order_by(AuditLog.id)).all()


def test_queue_shows_the_new_hate_case_first_with_its_clock(client, services, staff):
    old = _medium(services, utcnow() - timedelta(days=20))
    reference = report(services)
    login(client, "duty1")
    page = client.get("/console/queue").text
    assert page.index(reference) < page.index(old)
    assert "state-overdue" in page and "overdue by" in page
    assert "Race or nationality, Religion or belief" in page and "sms" in page
    assert "Claim" in page
    overdue = client.get("/console/queue?overdue=1").text
    assert old in overdue and reference not in overdue
    assert reference in client.get("/console/queue?strand=religion").text
    assert client.get("/console/queue?status=bogus").status_code == 400


@pytest.mark.parametrize("workers", [8])
def test_simultaneous_claims_have_exactly_one_winner(any_services, workers):
    s = any_services
    reference = _medium(s, utcnow())
    case_id = _case(s, reference).id
    barrier = threading.Barrier(workers)
    results: list[bool] = []
    lock = threading.Lock()

    def claim(name: str) -> None:
        barrier.wait()
        with s.db.write() as session:
            won = casework.claim(session, case_id, name)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=claim, args=(f"officer{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False] * (workers - 1) + [True]
    case = _case(s, reference)
    assert case.assignee.startswith("officer") and case.status == "open"


def test_claim_over_http_second_officer_is_told(app, services, staff):
    reference = report(services)
    first, second = app.test_client(), app.test_client()
    login(first, "duty1")
    login(second, "duty2")
    token_page = second.get("/console/queue")  # second officer's page still shows "Claim"
    won = post_form(first, f"/console/cases/{reference}/claim", "/console/queue", {})
    assert won.status_code == 302 and reference in won.headers["Location"]
    from tests.console.conftest import csrf_from
    lost = second.post(f"/console/cases/{reference}/claim",
                       data={"csrf_token": csrf_from(token_page.text)})
    assert lost.status_code == 303
    assert "already claimed" in second.get("/console/queue").text
    assert _case(services, reference).assignee == "duty1"


def test_first_contact_and_action_plan_stop_their_clocks(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    when = datetime.now(UTC).astimezone().strftime("%Y-%m-%dT%H:%M")
    local_now = utcnow().astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    when = local_now.strftime("%Y-%m-%dT%H:%M")
    post_form(client, f"{page}/first-contact", page,
              {"fc-when": when, "fc-how": "phone", "fc-by": "Duty One"}, prefix="fc")
    case = _case(services, reference)
    assert case.first_contact_at is not None
    assert case.next_deadline == case.action_plan_due
    post_form(client, f"{page}/action-plan", page, {"ap-when": when}, prefix="ap")
    case = _case(services, reference)
    assert case.action_plan_at is not None and case.next_deadline is None
    with services.db.read() as session:
        kinds = session.scalars(select(CaseEvent.kind).where(
            CaseEvent.case_id == case.id)).all()
    assert "first_contact" in kinds and "action_plan_agreed" in kinds
    assert {"case_viewed", "first_contact", "action_plan_agreed"} <= set(
        _actions(services, reference))


def test_first_contact_in_the_future_is_refused(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    post_form(client, f"{page}/first-contact", page,
              {"fc-when": future, "fc-how": "phone", "fc-by": "Duty One"}, prefix="fc")
    assert _case(services, reference).first_contact_at is None
    assert "in the future" in client.get(page).text


def test_a_hate_case_is_never_lowered_to_medium(client, services, staff):
    reference = _medium(services, utcnow())
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/hate-related", page,
              {"hate-strands": ["disability"], "hate-perceived_by": ["staff"]}, prefix="hate")
    case = _case(services, reference)
    assert case.hate_related and case.priority == "high"
    assert case.strands == ["disability"] and case.perceived_by == ["staff"]
    response = post_form(client, f"{page}/priority", page, {"prio-priority": "medium"},
                         prefix="prio")
    assert response.status_code == 302
    assert "never lowered to medium priority" in client.get(page).text
    assert _case(services, reference).priority == "high"
    assert "priority_refused" in _actions(services, reference)
    with services.db.read() as session:
        alert = session.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith(f"staff_alert:high:{case.id}:")))
    assert alert is not None  # the newly high-priority case reaches the duty officers


def test_medium_case_priority_can_change(client, services, staff):
    reference = _medium(services, utcnow())
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/priority", page, {"prio-priority": "low"}, prefix="prio")
    assert _case(services, reference).priority == "low"


def test_closing_needs_an_outcome_a_reason_and_for_hate_a_full_investigation(app, services,
                                                                            staff):
    reference = report(services)
    page = f"/console/cases/{reference}"
    officer, cm = app.test_client(), app.test_client()
    login(officer, "duty1")
    assert post_form(officer, f"{page}/close", page, {"close-outcome": "resolved",
                     "close-reason": "All sorted out now."}, prefix="close").status_code == 403
    login(cm, "cm")
    post_form(cm, f"{page}/close", page, {"close-outcome": "resolved", "close-reason": ""},
              prefix="close")
    assert _case(services, reference).status != "closed"
    post_form(cm, f"{page}/close", page, {"close-outcome": "malicious_vexatious",
              "close-reason": "Fictional: found to be a vexatious complaint."}, prefix="close")
    assert _case(services, reference).status != "closed"
    assert "full investigation" in cm.get(page).text
    post_form(cm, f"{page}/close", page, {"close-outcome": "malicious_vexatious",
              "close-reason": "Fictional: found to be a vexatious complaint.",
              "close-investigated": "y"}, prefix="close")
    case = _case(services, reference)
    assert case.status == "closed" and case.outcome == "malicious_vexatious"
    assert case.next_deadline is None and case.closure_reason_enc is not None
    assert b"vexatious complaint" not in case.closure_reason_enc
    assert case.hate_related and case.priority == "high"


def test_resident_text_is_shown_inert_with_its_language(client, services, staff):
    reference = report(services, narrative=XSS)
    login(client, "duty1")
    page = client.get(f"/console/cases/{reference}").text
    assert XSS not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in page
    assert 'lang="en" dir="auto"' in page
    # Choices are shown as their labels, not their ids.
    from bot.console.forms import STRAND_CHOICES
    assert dict(STRAND_CHOICES)["ethnic_origin"] in page
    assert "Block B, Larkspur Court" in page


def test_notes_are_sealed_and_on_the_timeline(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/note", page, {"note-text": "Spoke to caretaker " + XSS},
              prefix="note")
    html = client.get(page).text
    assert "Spoke to caretaker &lt;img" in html and "note added" in html
    with services.db.read() as session:
        raw = session.execute(text("SELECT text_enc FROM case_notes")).scalar()
    assert b"caretaker" not in raw


def test_evidence_download_is_an_audited_attachment(client, services, staff):
    reference = report(services)
    case = _case(services, reference)
    with services.db.write() as session:
        item = Evidence(conversation_id=case.conversation_id, case_id=case.id, channel="sms",
                        content_type="text/html", size=20, status="stored",
                        data_enc=services.vault.seal(b"<script>alert(1)</script>"))
        session.add(item)
        session.flush()
        evidence_id = item.id
    login(client, "duty1")
    response = client.get(f"/console/cases/{reference}/evidence/{evidence_id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Not a kept type: never served as HTML, nor named .html.
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].endswith('.bin"')
    assert response.data == b"<script>alert(1)</script>"
    assert "evidence_downloaded" in _actions(services, reference)
    assert client.get(f"/console/cases/{reference}/evidence/999").status_code == 404


def test_manager_assigns_and_reassigns(client, services, staff):
    reference = report(services)
    login(client, "boss")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/assign", page, {"assign-assignee": "duty2"}, prefix="assign")
    assert _case(services, reference).assignee == "duty2"
    post_form(client, f"{page}/assign", page, {"assign-assignee": "cm"}, prefix="assign")
    assert _case(services, reference).assignee == "cm"
    post_form(client, f"{page}/assign", page, {"assign-assignee": "analyst"}, prefix="assign")
    assert _case(services, reference).assignee == "cm"


def test_the_audit_log_is_append_only(services):
    add_staff(services)
    with services.db.write() as session:
        audit.record(session, "duty1", "case_viewed")
    with pytest.raises(AppendOnly), services.db.write() as session:
        entry = session.scalar(select(AuditLog))
        entry.actor = "someone else"
    with pytest.raises(AppendOnly), services.db.write() as session:
        session.delete(session.scalar(select(AuditLog)))
    with pytest.raises(Exception, match="append-only"), services.db.write() as session:
        session.execute(update(AuditLog).values(actor="x"))
    with services.db.read() as session:
        assert session.scalar(select(AuditLog.actor).where(
            AuditLog.action == "case_viewed")) == "duty1"


def test_manager_sees_the_audit_log_without_personal_data(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    client.get(f"/console/cases/{reference}")
    manager = client.application.test_client()
    login(manager, "boss")
    page = manager.get("/console/audit").text
    assert "case_viewed" in page and reference in page and "duty1" in page
    assert NARRATIVE not in page and "Sam Fictional" not in page


def test_staff_entered_phone_report_gets_a_reference_and_deadlines(client, services, staff):
    login(client, "duty1")
    received = datetime(2026, 11, 21, 23, 40, tzinfo=UTC)  # a Saturday night
    response = post_form(client, "/console/reports/new", "/console/reports/new", {
        "channel": "phone", "received_at": "2026-11-21T23:40", "reporter_role": "witness",
        "anonymous": "named", "reporter_name": "Pat Example", "contact_method": "phone",
        "contact_details": "07700 900123", "leave_message": "no",
        "narrative": "Fictional: someone sprayed abuse on the lift door.",
        "incident_types": ["graffiti"], "location_type": "communal",
        "location": "Lift, Example House", "perception": "yes", "strands": ["religion"],
        "perceived_by": ["reporter"], "repair_needed": "yes"})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[1]
    case = _case(services, reference)
    assert case.channel == "phone" and case.out_of_hours and case.hate_related
    assert case.received_at == received
    expected = services.calendar.deadlines(received)
    assert case.first_contact_due == expected.first_contact_due
    assert case.action_plan_due == expected.action_plan_due
    details = services.store.details(case)
    assert details["narrative"].startswith("Fictional") and details["reporter_name"]
    assert "report_entered" in _actions(services, reference)
