"""Subject access and erasure in the console: find a resident by phone, email, Telegram chat or
reference; export only their own data; erase on request with the ground; every step audited."""

from __future__ import annotations

import base64
import json
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot import subjects
from bot.app import create_app
from bot.cli import main
from bot.console import casework
from bot.db import Database
from bot.intake import CaseDraft
from bot.models import AuditLog, Case, Conversation, SubjectRequest, utcnow
from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from tests.console.conftest import ROLES, csrf_from, login
from tests.sealed_support import PHOTO, victim_report

AISHA_PHONE = "+447700900101"
AISHA = {"name": "Aisha Fictional", "contact": "aisha.fictional@example.org",
         "narrative": "Someone pushed a note through my door calling me names.",
         "perpetrator": "A tall man with a red van from the next block"}
BOB = {"name": "Bob Witness", "contact": "bob.witness@example.org",
       "narrative": "I saw a man shouting at my neighbour Aisha on the stairs."}
CHRIS = {"name": "Chris Other", "narrative": "My car was scratched with a slur."}


def _witness_report(services, victim_phone: str) -> str:
    """A witness's report entered by an officer, giving the victim's phone number."""
    draft = CaseDraft(
        hate_related=True, strands=["ethnic_origin"], perceived_by=["witness"],
        prejudice_indicators=[], reporter_role="witness", anonymous=False,
        incident_types=["verbal_abuse"], location_type="communal", immediate_danger=False,
        repair_needed=False, preserve_evidence=None, choice_answers={},
        personal={"reporter_name": BOB["name"], "contact_details": BOB["contact"],
                  "narrative": BOB["narrative"],
                  "victim_details": f"Aisha, flat 3, phone {victim_phone[3:]}"},
        consents=[])
    with services.db.write() as session:
        case = services.store.create(session, draft, channel="phone", language="en",
                                     received_at=utcnow(), actor="officer")
        return case.reference


@pytest.fixture
def people(services, staff):
    """Aisha's own report (SMS, with a photo), Bob's report naming her, Chris's report."""
    aisha = victim_report(services, "sms", AISHA_PHONE, narrative=AISHA["narrative"],
                          contact=AISHA["contact"], perpetrator=AISHA["perpetrator"],
                          name=AISHA["name"])
    bob = _witness_report(services, AISHA_PHONE)
    chris = victim_report(services, "sms", "+447700900103", narrative=CHRIS["narrative"],
                          name=CHRIS["name"], contact="07700 900103")
    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == aisha))
        casework.add_note(session, services, case, "boss", "Visited Aisha at home.")
    return {"aisha": aisha, "bob": bob, "chris": chris}


def _find(services, kind: str, value: str) -> dict[str, str]:
    with services.db.read() as session:
        found = subjects.find(session, services.vault, subjects.parse(kind, value))
        references = dict(session.execute(select(Case.id, Case.reference)).all())
    return {references[i]: role for i, role in found.cases.items()}


def test_found_by_phone_email_reference_and_telegram(services, people):
    by_phone = _find(services, "phone", "07700 900101")
    assert by_phone == {people["aisha"]: "reporter", people["bob"]: "named"}
    assert _find(services, "email", "Aisha.Fictional@example.org ") == {
        people["aisha"]: "reporter"}
    assert _find(services, "reference", people["aisha"].lower().replace("-", " ")) == {
        people["aisha"]: "reporter"}
    telegram = victim_report(services, "telegram", "424242")
    assert _find(services, "telegram", "424242") == {telegram: "reporter"}
    assert _find(services, "phone", "+447700900999") == {}
    with pytest.raises(subjects.BadIdentifier):
        subjects.parse("phone", "not a number")


def _results(client, kind: str, value: str):
    page = client.get("/console/subjects/")
    assert page.status_code == 200
    return client.post("/console/subjects/", data={
        "csrf_token": csrf_from(page.text), "kind": kind, "value": value})


def _selected(html: str) -> dict[str, list[str]]:
    return {"case": re.findall(r'name="case" value="(\d+)"', html),
            "conversation": re.findall(r'name="conversation" value="(\d+)"', html)}


def test_export_holds_the_residents_own_data_and_not_other_peoples(app, services, people):
    client = app.test_client()
    login(client, "boss")
    found = _results(client, "phone", "07700 900101")
    assert found.status_code == 200
    assert people["aisha"] in found.text and people["bob"] in found.text
    assert people["chris"] not in found.text
    response = client.post("/console/subjects/export", data={
        "csrf_token": csrf_from(found.text), "kind": "phone", "value": "07700 900101",
        "language": "en", **_selected(found.text)})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    html = response.text
    # Her own report: what she told us, her photo, her number, the note about her.
    for own in (AISHA["name"], AISHA["narrative"], AISHA["contact"], people["aisha"],
                AISHA_PHONE, "Visited Aisha at home.", base64.b64encode(PHOTO).decode()):
        assert own in html, own
    # Bob's report names her: only what it says about her, nothing about Bob.
    assert people["bob"] in html and "Aisha, flat 3" in html
    for other in (AISHA["perpetrator"], BOB["name"], BOB["contact"], BOB["narrative"],
                  CHRIS["name"], CHRIS["narrative"], people["chris"], "boss"):
        assert other not in html, other
    assert "[removed: about someone else]" in html


def _multilingual_app(services, tmp_path):
    """The same instance with the demo landlord's 13 languages (no rota, so no alerts)."""
    org = tmp_path / "org-all.toml"
    org.write_text(re.sub(r"^\[\[(duty_rota|managers)\]\]\n(?:[^\[\n].*\n|\n)*", "",
                          DEMO_ORG_FILE.read_text(), flags=re.M), encoding="utf-8")
    settings = services.settings.model_copy(update={"org_file": org})
    return create_app(services=build_services(settings, db=Database(settings.database_url)))


def test_export_is_in_the_residents_language(services, people, tmp_path):
    app = _multilingual_app(services, tmp_path)
    client = app.test_client()
    login(client, "admin")
    found = _results(client, "email", AISHA["contact"])
    response = client.post("/console/subjects/export", data={
        "csrf_token": csrf_from(found.text), "kind": "email", "value": AISHA["contact"],
        "language": "pl", **_selected(found.text)})
    html = response.text
    assert '<html lang="pl" dir="ltr">' in html
    assert "What you told us" not in html and AISHA["name"] in html
    arabic = client.post("/console/subjects/export", data={
        "csrf_token": csrf_from(found.text), "kind": "email", "value": AISHA["contact"],
        "language": "ar", **_selected(found.text)})
    assert '<html lang="ar" dir="rtl">' in arabic.text
    app.extensions["reportbot"].db.dispose()


def test_erasure_on_request_with_the_ground_and_every_step_audited(app, services, people):
    client = app.test_client()
    login(client, "boss")
    found = _results(client, "phone", AISHA_PHONE)
    form = {"csrf_token": csrf_from(found.text), "kind": "phone", "value": AISHA_PHONE,
            "ground": "consent_withdrawn", "note": "Asked by phone; identity checked "
            "against the tenancy record.", "confirm": "y", **_selected(found.text)}
    # Still open: nothing is erased.
    refused = client.post("/console/subjects/erase", data=form, follow_redirects=True)
    assert "still open" in refused.text
    with services.db.read() as session:
        assert session.scalar(select(func.count(Case.id)).where(
            Case.erased_at.is_not(None))) == 0
    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == people["aisha"]))
        casework.close(session, services, case, "boss", "withdrawn", "Victim withdrew.", True)
    done = client.post("/console/subjects/erase", data=form, follow_redirects=True)
    assert "erased the personal data of 1 case(s) and 1 conversation(s)" in done.text
    assert "1 report(s) made by someone else were kept" in done.text

    with services.db.read() as session:
        aisha = session.scalar(select(Case).where(Case.reference == people["aisha"]))
        bob = session.scalar(select(Case).where(Case.reference == people["bob"]))
        assert aisha.erased_at is not None and services.store.details(aisha) == {}
        assert session.get(Conversation, aisha.conversation_id).sender_enc is None
        assert bob.erased_at is None and services.store.details(bob)["reporter_name"] == \
            BOB["name"]
        request = session.scalar(select(SubjectRequest).where(
            SubjectRequest.kind == "erasure"))
        assert request.ground == "consent_withdrawn"
        assert "tenancy record" in services.vault.open_text(request.note_enc)
        actions = [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]
        details = json.dumps([a.detail for a in session.scalars(select(AuditLog))])
    for step in ("subject_search", "subject_erased", "case_erased"):
        assert step in actions, step
    # The audit log never holds the identifier searched for.
    assert "900101" not in details and "aisha" not in details.lower()
    # Found again by her number: only Bob's report remains linked, and her erased case
    # shows no personal data in a new export.
    assert _find(services, "phone", AISHA_PHONE) == {people["bob"]: "named"}
    by_reference = _results(client, "reference", people["aisha"])
    export = client.post("/console/subjects/export", data={
        "csrf_token": csrf_from(by_reference.text), "kind": "reference",
        "value": people["aisha"], "language": "en", **_selected(by_reference.text)})
    assert AISHA["name"] not in export.text and "were erased on" in export.text


def test_every_step_of_an_export_is_audited(app, services, people):
    client = app.test_client()
    login(client, "admin")
    found = _results(client, "phone", AISHA_PHONE)
    client.post("/console/subjects/export", data={
        "csrf_token": csrf_from(found.text), "kind": "phone", "value": AISHA_PHONE,
        "language": "en", **_selected(found.text)})
    with services.db.read() as session:
        rows = session.scalars(select(AuditLog).where(AuditLog.actor == "admin")).all()
        actions = [r.action for r in rows]
        exported = {r.case_id for r in rows if r.action == "case_exported_for_subject"}
        references = set(session.scalars(select(Case.reference).where(Case.id.in_(exported))))
        request = session.scalar(select(SubjectRequest))
    assert actions[-4:] == ["subject_search", "subject_access_exported",
                            "case_exported_for_subject", "case_exported_for_subject"]
    assert references == {people["aisha"], people["bob"]}
    assert request.kind == "access" and request.detail["cases"] == 2


@pytest.mark.parametrize("user", [None, *ROLES])
def test_only_managers_and_admins_handle_subject_requests(app, services, people, user):
    client = app.test_client()
    token = csrf_from(client.get("/console/login").text)
    if user is not None:
        landing = login(client, user).headers["Location"]
        token = csrf_from(client.get(landing).text)
    allowed = ROLES.get(user) in ("manager", "admin")
    data = {"csrf_token": token, "kind": "phone", "value": AISHA_PHONE, "language": "en",
            "ground": "objection", "note": "n", "confirm": "y"}
    for method, path in (("get", "/console/subjects/"), ("post", "/console/subjects/"),
                         ("post", "/console/subjects/export"),
                         ("post", "/console/subjects/erase")):
        response = getattr(client, method)(path, data=data if method == "post" else None)
        if user is None:
            assert response.status_code == 302 and "/console/login" in \
                response.headers["Location"], path
        elif allowed:
            assert response.status_code not in (401, 403), (user, path)
        else:
            assert response.status_code == 403, (user, path)
    with services.db.read() as session:
        assert session.scalar(select(func.count(Case.id)).where(
            Case.erased_at.is_not(None))) == 0  # the case is open: never erased here


def test_forms_need_the_csrf_token(app, services, people):
    client = app.test_client()
    login(client, "boss")
    assert client.post("/console/subjects/", data={"kind": "phone",
                                                   "value": AISHA_PHONE}).status_code == 400


def test_the_command_line_exports_and_erases(services, people, tmp_path):
    env = {"REPORTBOT_INSTANCE_DIR": str(services.settings.instance_dir),
           "REPORTBOT_DATABASE_URL": services.settings.database_url,
           "REPORTBOT_SECRET_KEY": services.settings.secret_keys[0],
           "REPORTBOT_ORG_FILE": str(services.settings.org_file)}
    runner = CliRunner()
    found = runner.invoke(main, ["subjects", "find", "--email", AISHA["contact"]], env=env)
    assert found.exit_code == 0 and f"case {people['aisha']}: new (reporter)" in found.output
    output = tmp_path / "aisha.html"
    exported = runner.invoke(main, ["subjects", "export", "--phone", AISHA_PHONE,
                                    "--output", str(output)], env=env)
    assert exported.exit_code == 0, exported.output
    assert AISHA["narrative"] in output.read_text() and BOB["name"] not in output.read_text()
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    refused = runner.invoke(main, ["subjects", "erase", "--phone", AISHA_PHONE, "--ground",
                                   "objection", "--note", "By letter.", "--yes"], env=env)
    assert refused.exit_code != 0 and "still open" in refused.output
