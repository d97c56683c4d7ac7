"""Sensitive cases (policy 8.3): only the assignee and managers see them, claim them,
reassign them; the pages offer nobody else an action on them. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from bot.app import create_app
from bot.console import casework
from bot.models import AuditLog, Case
from tests.console.conftest import NARRATIVE, csrf_from, login, post_form, report


def _signed_in(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def _case(services, reference: str) -> Case:
    with services.db.read() as session:
        return session.scalar(select(Case).where(Case.reference == reference))


def _queue_row(html: str, reference: str) -> str:
    match = re.search(rf'<tr[^>]*data-reference="{reference}".*?</tr>', html, re.S)
    assert match, f"{reference} not in the queue"
    return match.group(0)


def _audit(services, action: str) -> list[tuple[str, int | None, dict]]:
    with services.db.read() as session:
        return [(a.actor, a.case_id, a.detail) for a in session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))]


def test_replay_second_duty_officer_claims_a_case_flagged_sensitive(any_console):
    """The finding: duty1 flags an unclaimed case sensitive; duty2 POSTs claim anyway."""
    services = any_console
    app = create_app(services=services)
    reference = report(services)
    officer, colleague = _signed_in(app, "duty1"), _signed_in(app, "duty2")

    flagged = post_form(officer, f"/console/cases/{reference}/flags",
                        f"/console/cases/{reference}", {"flags-sensitive": "y"},
                        prefix="flags")
    assert flagged.status_code == 302
    case = _case(services, reference)
    # Flagging it gave it to the officer who flagged it: they are not locked out.
    assert case.sensitive and case.assignee == "duty1" and case.status == "open"
    assert NARRATIVE in officer.get(f"/console/cases/{reference}").text

    # The colleague sees the outline, and no Claim button anywhere.
    queue = colleague.get("/console/queue").text
    assert "Claim" not in _queue_row(queue, reference)
    page = colleague.get(f"/console/cases/{reference}").text
    assert "marked sensitive" in page and NARRATIVE not in page
    assert "/claim" not in page and "Claim" not in page

    # The replayed POST is refused, shows nothing, changes nothing, and is on record.
    response = colleague.post(f"/console/cases/{reference}/claim",
                              data={"csrf_token": csrf_from(queue)})
    assert response.status_code == 403
    assert NARRATIVE not in response.text and "Sam Fictional" not in response.text
    assert _case(services, reference).assignee == "duty1"
    assert NARRATIVE in officer.get(f"/console/cases/{reference}").text
    assert NARRATIVE not in colleague.get(f"/console/cases/{reference}").text
    assert [(actor, detail) for actor, _, detail in _audit(services, "claim_refused")] == [
        ("duty2", {"reason": "sensitive"})]


def test_an_unassigned_sensitive_case_is_claimed_only_by_a_manager(any_console):
    """A sensitive case nobody holds (as earlier versions could leave one): managers only."""
    services = any_console
    app = create_app(services=services)
    reference = report(services)
    with services.db.write() as session:
        session.execute(update(Case).where(Case.reference == reference).values(sensitive=True))
    duty, case_manager, boss = (_signed_in(app, u) for u in ("duty2", "cm", "boss"))

    for client in (duty, case_manager):
        queue = client.get("/console/queue").text
        assert "Claim" not in _queue_row(queue, reference)
        refused = client.post(f"/console/cases/{reference}/claim",
                              data={"csrf_token": csrf_from(queue)})
        assert refused.status_code == 403
    assert _case(services, reference).assignee is None
    assert [actor for actor, _, _ in _audit(services, "claim_refused")] == ["duty2", "cm"]

    queue = boss.get("/console/queue").text
    assert "Claim" in _queue_row(queue, reference)
    assert "Claim this case" in boss.get(f"/console/cases/{reference}").text
    claimed = boss.post(f"/console/cases/{reference}/claim",
                        data={"csrf_token": csrf_from(queue)})
    assert claimed.status_code == 302 and claimed.headers["Location"].endswith(reference)
    assert _case(services, reference).assignee == "boss"


def test_a_claim_racing_with_the_sensitive_flag_loses(any_console):
    """Flagged after the officer looked: the claim's UPDATE itself refuses it."""
    services = any_console
    reference = report(services)
    case = _case(services, reference)
    with services.db.write() as session:
        session.execute(update(Case).where(Case.id == case.id).values(sensitive=True))
    with services.db.write() as session:
        assert not casework.claim(session, case.id, "duty2")
    with services.db.write() as session:
        assert casework.claim(session, case.id, "boss", allow_sensitive=True)
    assert _case(services, reference).assignee == "boss"


def test_only_managers_reassign_or_unflag_a_sensitive_case(app, services, staff):
    reference = report(services)
    officer, case_manager, boss = (_signed_in(app, u) for u in ("duty1", "cm", "boss"))
    post_form(officer, f"/console/cases/{reference}/flags", f"/console/cases/{reference}",
              {"flags-sensitive": "y"}, prefix="flags")
    assert _case(services, reference).assignee == "duty1"

    page = officer.get(f"/console/cases/{reference}").text
    assert 'id="assign"' not in page
    # The flag is kept by a hidden field; there is no box the officer could untick.
    assert 'name="flags-sensitive" value="y"' in page and 'id="flags-sensitive"' not in page
    unflag = post_form(officer, f"/console/cases/{reference}/flags",
                       f"/console/cases/{reference}", {}, prefix="flags")
    assert unflag.status_code == 302 and _case(services, reference).sensitive

    for client in (officer, case_manager):
        response = client.post(f"/console/cases/{reference}/assign", data={
            "assign-csrf_token": csrf_from(client.get("/console/queue").text),
            "assign-assignee": "duty2"})
        assert response.status_code == 403
    assert _case(services, reference).assignee == "duty1"

    page = boss.get(f"/console/cases/{reference}").text
    assert 'id="assign"' in page and 'id="flags-sensitive"' in page
    moved = post_form(boss, f"/console/cases/{reference}/assign",
                      f"/console/cases/{reference}", {"assign-assignee": "duty2"},
                      prefix="assign")
    assert moved.status_code == 302 and _case(services, reference).assignee == "duty2"
    assert NARRATIVE not in officer.get(f"/console/cases/{reference}").text


def test_flagging_a_case_someone_holds_leaves_it_with_them(app, services, staff):
    reference = report(services)
    holder, colleague = _signed_in(app, "duty1"), _signed_in(app, "duty2")
    post_form(holder, f"/console/cases/{reference}/claim", "/console/queue", {})
    post_form(colleague, f"/console/cases/{reference}/flags", f"/console/cases/{reference}",
              {"flags-sensitive": "y"}, prefix="flags")
    case = _case(services, reference)
    assert case.sensitive and case.assignee == "duty1"
