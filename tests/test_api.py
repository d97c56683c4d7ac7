"""The duty queue API: bearer tokens, queue order, case JSON, audit of views."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.models import CaseEvent
from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, Resident

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

REQUIRED = {"reference", "status", "priority", "hate_related", "strands", "perceived_by",
            "reporter_role", "anonymous", "channel", "language", "received_at",
            "out_of_hours", "first_contact_due", "action_plan_due", "incident_types",
            "immediate_danger", "repair_needed"}


def _report(services, details=VICTIM_DETAILS):
    resident = Resident(services)
    for message, _ in (*VICTIM_REPORT, *details):
        resident.says(message, at=MONDAY_10)
    return resident


def test_no_token_or_wrong_token_is_401(client):
    assert client.get("/api/v1/cases").status_code == 401
    response = client.get("/api/v1/cases", headers={"Authorization": "Bearer rbt_wrong"})
    assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]
    assert client.get("/api/v1/cases/ABCDE-FGHJK").status_code == 401


def test_queue_lists_the_new_case_with_its_deadlines(client, services, api_token):
    _report(services)
    response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 200
    [case] = response.json["cases"]
    assert set(case) >= REQUIRED
    assert case["hate_related"] is True and case["priority"] == "high"
    assert case["strands"] == ["ethnic_origin", "religion"]
    assert case["channel"] == "webchat" and case["language"] == "en"
    due = datetime.fromisoformat(case["first_contact_due"])
    # Working time: Monday 10:00 is due Tuesday 10:00 (UK time, with its offset).
    assert due.utcoffset() is not None and due == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert case["deadline_rule"] == "working_time"
    assert "details" not in case  # the list carries no personal fields


def test_case_detail_has_details_and_records_the_view(client, services, api_token):
    _report(services)
    headers = {"Authorization": f"Bearer {api_token}"}
    reference = client.get("/api/v1/cases", headers=headers).json["cases"][0]["reference"]
    body = client.get(f"/api/v1/cases/{reference.lower()}", headers=headers).json
    assert body["reference"] == reference
    assert body["details"]["reporter_name"] == "Sam Fictional"
    assert {c["recipient"] for c in body["consents"]} == {"police", "local_authority",
                                                          "support_services"}
    assert [e["kind"] for e in body["timeline"]][:2] == ["received", "flagged_hate_related"]
    assert body["consents_not_asked"] == [] and body["details_pending"] == []
    assert body["answer_times"]["consent_police"] == MONDAY_10.isoformat()
    with services.db.read() as session:
        views = session.scalars(select(CaseEvent).where(CaseEvent.kind == "viewed")).all()
    assert [v.actor for v in views] == ["api:tests"]


def test_details_not_given_are_listed_and_consent_is_not_asked_yet(client, services,
                                                                   api_token):
    _report(services, details=[("not now", None)])
    headers = {"Authorization": f"Bearer {api_token}"}
    reference = client.get("/api/v1/cases", headers=headers).json["cases"][0]["reference"]
    body = client.get(f"/api/v1/cases/{reference}", headers=headers).json
    assert body["consents"] == []
    assert body["consents_not_asked"] == ["police", "local_authority", "support_services"]
    assert body["details_pending"] == [
        "incident_types", "perpetrator_known", "evidence", "impact", "safe_times",
        "language_needs", "interview", "consent_police", "consent_council",
        "consent_support"]


def test_unknown_reference_is_404(client, api_token):
    response = client.get("/api/v1/cases/23456-78ACD",
                          headers={"Authorization": f"Bearer {api_token}"})
    assert response.status_code == 404


def test_bad_filters_are_400(client, api_token):
    headers = {"Authorization": f"Bearer {api_token}"}
    for query in ("status=bogus", "strand=height", "limit=100000", "offset=-1"):
        assert client.get(f"/api/v1/cases?{query}", headers=headers).status_code == 400


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}
