"""Staff sign-in, throttling, sessions, CSRF and who may see what."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Blueprint
from sqlalchemy import select

from bot.cli import main
from bot.models import AuditLog, LoginThrottle, StaffUser
from tests.console.conftest import CHEAP_ARGON2, NARRATIVE, PASSWORD, login, post_form, report


def test_sign_in_lands_on_the_queue_and_a_wrong_password_does_not(client, staff):
    assert client.get("/console/queue").headers["Location"].startswith("/console/login")
    assert login(client, "duty1", "wrong password here").status_code == 401
    response = login(client, "duty1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/queue"
    assert client.get("/console/queue").status_code == 200


def test_password_is_stored_as_argon2_only(services, staff):
    with services.db.read() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "duty1"))
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_five_failures_make_the_account_wait_even_with_the_right_password(client, services,
                                                                         staff):
    for _ in range(5):
        assert login(client, "duty2", "not the password").status_code == 401
    with services.db.read() as session:
        rows = session.scalars(select(LoginThrottle)).all()
        actions = session.scalars(select(AuditLog.action)).all()
    assert {r.kind: r.failures for r in rows} == {"account": 5, "address": 5}
    assert actions.count("login_failed") == 5
    refused = login(client, "duty2")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 16
    assert "Please wait" in refused.text
    # Other accounts are unaffected.
    assert login(client, "duty1").status_code == 302


def test_unknown_user_is_refused_like_a_wrong_password(client, staff):
    assert login(client, "nobody", PASSWORD).status_code == 401


def test_sign_out_ends_the_session_even_for_a_copied_cookie(app, client, staff):
    login(client, "duty1")
    stolen = client.get_cookie("session")
    assert stolen is not None
    response = post_form(client, "/console/logout", "/console/queue", {})
    assert response.status_code == 302
    thief = app.test_client()
    thief.set_cookie(stolen.key, stolen.value, domain=stolen.domain or "localhost")
    assert thief.get("/console/queue").status_code == 302


def test_session_is_new_after_sign_in(client, staff):
    client.get("/console/login")
    before = client.get_cookie("session").value
    login(client, "duty1")
    assert client.get_cookie("session").value != before


def test_posts_without_a_csrf_token_are_refused(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    assert client.post(f"/console/cases/{reference}/claim").status_code == 400
    assert client.post(f"/console/cases/{reference}/claim",
                       data={"csrf_token": "forged"}).status_code == 400
    assert client.post("/console/logout").status_code == 400
    with services.db.read() as session:
        assert session.scalar(select(StaffUser.id)) is not None  # still signed in elsewhere
    assert client.get("/console/queue").status_code == 200


def test_login_form_itself_needs_a_csrf_token(client, staff):
    response = client.post("/console/login", data={"username": "duty1", "password": PASSWORD})
    assert response.status_code == 400


def test_only_the_registered_channels_webhooks_are_exempt(app):
    assembly = app.extensions["reportbot.assembly"]
    names = {c.blueprint.name for c in assembly.channels if c.blueprint is not None}
    assert names == {"webchat", "twilio"}
    # A blueprint registered later is protected unless the app factory listed it, even if
    # its name looks like a channel's.
    hook = Blueprint("telegram_late", __name__)
    other = Blueprint("other_forms", __name__)
    hook.add_url_rule("/late-hook", "hook", lambda: "ok", methods=["POST"])
    other.add_url_rule("/other-form", "form", lambda: "ok", methods=["POST"])
    app.register_blueprint(hook)
    app.register_blueprint(other)
    client = app.test_client()
    assert client.post("/late-hook").status_code == 400
    assert client.post("/other-form").status_code == 400
    # The signed webhook answers for itself (403: no signature), not the CSRF check (400).
    assert client.post("/webhooks/twilio/messaging").status_code == 403


def test_web_chat_json_still_works_without_csrf(client):
    assert client.post("/api/chat/sessions", json={}).status_code in (200, 201)


def test_analyst_sees_figures_but_never_a_case(client, services, staff):
    reference = report(services)
    login(client, "analyst")
    assert client.get(f"/console/cases/{reference}").status_code == 403
    assert client.get("/console/queue").status_code == 403
    assert client.get("/console/audit").status_code == 403
    figures = client.get("/console/reports")
    assert figures.status_code == 200
    assert reference not in figures.text and "flat 9" not in figures.text
    assert "Race or nationality" in figures.text
    export = client.get("/console/reports.csv")
    assert export.headers["Content-Disposition"].startswith("attachment")
    assert "Cases by strand,Race or nationality,Cases,1" in export.text


def test_admin_reads_the_audit_log_but_not_cases(client, services, staff):
    reference = report(services)
    login(client, "admin")
    assert client.get(f"/console/cases/{reference}").status_code == 403
    assert client.get("/console/audit").status_code == 200


def test_duty_officer_cannot_read_the_audit_log_or_assign(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    assert client.get("/console/audit").status_code == 403
    response = post_form(client, f"/console/cases/{reference}/assign",
                         f"/console/cases/{reference}", {"assign-assignee": "duty1"},
                         prefix="assign")
    assert response.status_code == 403


def test_sensitive_case_is_in_full_only_for_its_officer_and_managers(app, services, staff):
    reference = report(services)
    officer, colleague, manager = app.test_client(), app.test_client(), app.test_client()
    login(officer, "duty1")
    post_form(officer, f"/console/cases/{reference}/claim", "/console/queue", {})
    post_form(officer, f"/console/cases/{reference}/flags", f"/console/cases/{reference}",
              {"flags-sensitive": "y"}, prefix="flags")
    assert NARRATIVE in officer.get(f"/console/cases/{reference}").text
    login(colleague, "duty2")
    page = colleague.get(f"/console/cases/{reference}")
    assert page.status_code == 200
    assert NARRATIVE not in page.text and "Sam Fictional" not in page.text
    assert "marked sensitive" in page.text
    login(manager, "boss")
    assert NARRATIVE in manager.get(f"/console/cases/{reference}").text


def test_create_user_command(tmp_path, services, settings):
    env = {"REPORTBOT_INSTANCE_DIR": str(settings.instance_dir),
           "REPORTBOT_DATABASE_URL": settings.database_url,
           "REPORTBOT_SECRET_KEY": settings.secret_keys[0],
           "REPORTBOT_ORG_FILE": str(settings.org_file), **CHEAP_ARGON2}
    runner = CliRunner()
    result = runner.invoke(main, ["create-user", "--username", "Jo.Duty", "--role",
                                  "duty_officer", "--name", "Jo Duty", "--password-stdin"],
                           input=PASSWORD + "\n", env=env)
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["create-user", "--username", "jo.duty", "--role",
                                 "manager", "--password-stdin"], input=PASSWORD + "\n",
                          env=env)
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(main, ["create-user", "--username", "kim", "--role", "analyst",
                                 "--password-stdin"], input="short\n", env=env)
    assert short.exit_code != 0 and "at least" in short.output
    with services.db.read() as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "jo.duty"))
    assert user.display_name == "Jo Duty" and user.role == "duty_officer"
