"""The staff report form is the report flow's own questions: every one of them, consent per
recipient given to the named officer, the resident's language, evidence files, and the
time received setting the deadlines."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.intake import CONSENT_STEPS
from bot.models import Case, Consent, Evidence
from bot.settings import Settings
from flows.report import build_flow
from tests.conftest import make_settings
from tests.console.conftest import console_env, csrf_from, login
from tests.test_languages import multilingual_org


@pytest.fixture
def settings(tmp_path, smtp) -> Settings:
    return make_settings(tmp_path, REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path)),
                         **console_env(smtp.port))


PNG = b"\x89PNG\r\n\x1a\n" + b"fictional evidence photo" * 20


def _fields(html: str) -> set[str]:
    return set(re.findall(r'name="([a-z_]+)"', html))


def _submit(client, data: dict, files=None):
    token = csrf_from(client.get("/console/reports/new").text)
    payload = {"csrf_token": token, **data}
    if files:
        payload["evidence_files"] = files
    return client.post("/console/reports/new", data=payload,
                       content_type="multipart/form-data")


BASE = {
    "channel": "phone", "received_at": "2026-11-20T16:50", "report_language": "pl",
    "immediate_danger": "no", "reporter_role": "victim", "anonymous": "named",
    "reporter_name": "Ola Fikcyjna", "narrative": "Fictional: words shouted at my door.",
    "incident_types": ["name_calling", "threats"], "incident_when": "yesterday",
    "location_type": "home", "location": "2 Example Row, London E14 3AA",
    "perception": "yes", "strands": ["ethnic_origin"], "contact_method": "phone",
    "contact_details": "07700 900654", "leave_message": "no",
    "consent_police": "yes", "consent_council": "no", "consent_support": "yes",
    "consent_given_to": "Dana Fictional",
}


def test_the_form_asks_every_question_of_the_flow(client, services, staff):
    login(client, "duty1")
    page = client.get("/console/reports/new").text
    asked = {s.id for s in build_flow().steps} - {"danger_advice", "review"}
    assert asked <= _fields(page)
    # Each question shows what to ask the caller, in the flow's words.
    assert "Ask: “Are you in danger right now?”" in page
    # "Message me here" only makes sense in a chat.
    assert 'value="this_chat"' not in page
    for step in CONSENT_STEPS:
        assert f'name="{step}"' in page
    assert 'name="consent_given_to"' in page and 'type="file"' in page


def test_phone_report_with_consent_given_verbally_language_evidence_and_area(
        client, services, staff):
    login(client, "duty1")
    response = _submit(client, BASE, files=[(io.BytesIO(PNG), "door.png", "image/png")])
    assert response.status_code == 302, response.text
    reference = response.headers["Location"].rsplit("/", 1)[1]
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        consents = {c.recipient: c for c in session.scalars(select(Consent))}
        [evidence] = session.scalars(select(Evidence)).all()
    assert case.language == "pl" and case.channel == "phone" and case.hate_related
    assert case.area == "Riverside"  # from the postcode E14
    received = datetime(2026, 11, 20, 16, 50, tzinfo=UTC)
    assert case.received_at == received
    assert case.first_contact_due == services.calendar.deadlines(received).first_contact_due
    assert {r: c.granted for r, c in consents.items()} == {
        "police": True, "local_authority": False, "support_services": True}
    for consent in consents.values():
        assert (consent.given_to, consent.method) == ("Dana Fictional", "verbal")
        assert consent.answered_at == received
    assert evidence.case_id == case.id and evidence.conversation_id is None
    assert evidence.sha256 == hashlib.sha256(PNG).hexdigest()
    assert evidence.data_enc and PNG not in evidence.data_enc
    download = client.get(f"/console/cases/{reference}/evidence/{evidence.id}")
    assert download.data == PNG and download.headers["Content-Type"] == "image/png"
    page = client.get(f"/console/cases/{reference}").text
    assert "police: <strong>yes</strong>" in page and "given verbally to Dana Fictional" in page


def test_a_letter_records_consent_in_writing(client, services, staff):
    login(client, "duty1")
    response = _submit(client, {**BASE, "channel": "post"})
    assert response.status_code == 302
    with services.db.read() as session:
        methods = set(session.scalars(select(Consent.method)))
    assert methods == {"written"}


def test_answers_to_questions_that_do_not_apply_are_dropped(client, services, staff):
    login(client, "duty1")
    response = _submit(client, {**BASE, "anonymous": "anonymous", "perception": "no",
                                "contact_method": "", "consent_council": ""})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[1]
    with services.db.read() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        recipients = set(session.scalars(select(Consent.recipient)))
    details = services.store.details(case)
    # Anonymous: no name, no contact details; no perception: no strands.
    assert "reporter_name" not in details and "contact_details" not in details
    assert case.anonymous and not case.hate_related and case.strands == []
    # A consent question left unasked is recorded as nothing at all.
    assert recipients == {"police", "support_services"}


def test_a_needed_answer_missing_is_marked_and_nothing_is_stored(client, services, staff):
    login(client, "duty1")
    response = _submit(client, {**BASE, "narrative": "", "reporter_name": ""})
    assert response.status_code == 400
    assert 'id="error-narrative"' in response.text
    assert 'id="error-reporter_name"' in response.text
    # What was typed is kept.
    assert "07700 900654" in response.text
    with services.db.read() as session:
        assert session.scalars(select(Case)).all() == []


def test_which_questions_apply_follows_the_flow(client, services, staff):
    login(client, "duty1")
    token = csrf_from(client.get("/console/reports/new").text)
    named = client.post("/console/reports/new/applies", data={
        "csrf_token": token, "reporter_role": "victim", "anonymous": "named"}).json
    anonymous = client.post("/console/reports/new/applies", data={
        "csrf_token": token, "reporter_role": "witness", "anonymous": "anonymous"}).json
    assert "reporter_name" in named["applies"] and "contact_method" in named["applies"]
    assert "reporter_name" not in anonymous["applies"]
    assert "victim_details" in anonymous["applies"]
    assert "monitoring_offer" in named["applies"]
    assert "monitoring_offer" not in anonymous["applies"]


def test_an_upload_that_is_not_a_kept_type_is_refused_whatever_it_is_called(
        client, services, staff):
    login(client, "duty1")
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    response = _submit(client, BASE, files=[(io.BytesIO(page), "door.png", "image/png")])
    assert response.status_code == 400
    assert "door.png: not a photo, video, audio recording or PDF" in response.text
    with services.db.read() as session:
        assert session.scalars(select(Case)).all() == []
        assert session.scalars(select(Evidence)).all() == []
