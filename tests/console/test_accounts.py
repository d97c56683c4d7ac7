"""The staff accounts page and its CLI twins: create, role, deactivate, reset, API tokens."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from bot.cli import main
from bot.models import AuditLog, StaffUser, utcnow
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, csrf_from, login, report

NEW_PASSWORD = "marmalade lighthouse tuesday"


def _admin(app):
    client = app.test_client()
    assert login(client, "admin").headers["Location"] == "/console/accounts"
    return client


def _post(client, url: str, data: dict | None = None, prefix: str | None = None):
    token = csrf_from(client.get("/console/accounts").text)
    key = f"{prefix}-csrf_token" if prefix else "csrf_token"
    return client.post(url, data={key: token, **(data or {})})


def _secret(html: str) -> str:
    match = re.search(r'<code class="secret" id="secret">([^<]+)</code>', html)
    assert match, "no secret shown"
    return match.group(1)


def _audit(services) -> list[tuple[str, str, dict]]:
    with services.db.read() as session:
        return [(a.actor, a.action, a.detail) for a in session.scalars(
            select(AuditLog).where(AuditLog.action.not_in(
                ("login", "login_failed", "accounts_viewed", "logout")))
            .order_by(AuditLog.id))]


def _user(services, username: str) -> StaffUser:
    with services.db.read() as session:
        return session.scalar(select(StaffUser).where(StaffUser.username == username))


def _change_password(client, current: str, new: str = NEW_PASSWORD, repeat: str | None = None):
    token = csrf_from(client.get("/console/password").text)
    return client.post("/console/password", data={
        "csrf_token": token, "current": current, "new": new, "repeat": repeat or new})


def test_admin_creates_an_account_whose_temporary_password_must_be_changed(app, services,
                                                                           staff):
    admin = _admin(app)
    created = _post(admin, "/console/accounts", {"new-username": "Jo.Duty",
                                                 "new-display_name": "Jo Duty",
                                                 "new-role": "duty_officer"}, prefix="new")
    assert created.status_code == 200
    temporary = _secret(created.text)
    assert "shown only this once" in created.text
    listing = admin.get("/console/accounts").text
    assert "jo.duty" in listing and temporary not in listing
    with services.db.read() as session:
        assert temporary not in session.scalar(select(StaffUser.password_hash).where(
            StaffUser.username == "jo.duty"))

    jo = app.test_client()
    assert login(jo, "jo.duty", temporary).headers["Location"] == "/console/password"
    # Nothing else is reachable until a password of their own is chosen.
    for path in ("/console/queue", "/console/reports/new"):
        assert jo.get(path).headers["Location"] == "/console/password"
    weak = _change_password(jo, temporary, "aaaaaaaaaaaa")
    assert weak.status_code == 400 and "too easy to guess" in weak.text
    differ = _change_password(jo, temporary, NEW_PASSWORD, "something else entirely")
    assert differ.status_code == 400
    wrong = _change_password(jo, "not the temporary one")
    assert wrong.status_code == 400 and "current password was not right" in wrong.text
    done = _change_password(jo, temporary)
    assert done.headers["Location"] == "/console/queue"
    assert jo.get("/console/queue").status_code == 200
    assert login(app.test_client(), "jo.duty", temporary).status_code == 401
    assert login(app.test_client(), "jo.duty", NEW_PASSWORD).status_code == 302
    assert [(actor, action) for actor, action, _ in _audit(services)] == [
        ("admin", "user_created"), ("jo.duty", "password_changed")]


def test_an_unused_temporary_password_expires(app, services, staff):
    admin = _admin(app)
    temporary = _secret(_post(admin, "/console/accounts/cm/reset-password").text)
    with services.db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "cm")
                        .values(temp_password_expires_at=utcnow()))
    assert login(app.test_client(), "cm", temporary).status_code == 401


def test_reset_password_ends_the_users_sessions_and_shows_a_temporary_one(app, services,
                                                                          staff):
    officer = app.test_client()
    login(officer, "duty1")
    assert officer.get("/console/queue").status_code == 200
    admin = _admin(app)
    reset = _post(admin, "/console/accounts/duty1/reset-password")
    temporary = _secret(reset.text)
    assert officer.get("/console/queue").status_code == 302
    assert login(app.test_client(), "duty1", PASSWORD).status_code == 401
    assert login(app.test_client(), "duty1", temporary).headers["Location"] == \
        "/console/password"
    assert ("admin", "password_reset", {"username": "duty1"}) in _audit(services)


def test_change_role_applies_at_once(app, services, staff):
    officer = app.test_client()
    login(officer, "duty2")
    assert officer.get("/console/audit").status_code == 403
    admin = _admin(app)
    user_id = _user(services, "duty2").id
    response = _post(admin, "/console/accounts/duty2/role", {f"role-{user_id}-role": "manager"},
                     prefix=f"role-{user_id}")
    assert response.status_code == 303
    assert officer.get("/console/audit").status_code == 200
    assert ("admin", "role_changed", {"username": "duty2", "role": "manager",
                                      "previous": "duty_officer"}) in _audit(services)


def test_deactivate_signs_out_and_refuses_sign_in_until_reactivated(app, services, staff):
    officer = app.test_client()
    login(officer, "cm")
    admin = _admin(app)
    assert _post(admin, "/console/accounts/cm/deactivate").status_code == 303
    assert officer.get("/console/queue").status_code == 302
    assert login(app.test_client(), "cm").status_code == 401
    assert "deactivated" in admin.get("/console/accounts").text
    assert _post(admin, "/console/accounts/cm/activate").status_code == 303
    assert login(app.test_client(), "cm").status_code == 302
    actions = [action for _, action, _ in _audit(services)]
    assert actions == ["user_deactivated", "user_activated"]


def test_the_last_admin_cannot_be_removed(app, services, staff):
    admin = _admin(app)
    user_id = _user(services, "admin").id
    assert "You cannot deactivate your own account" in admin.post(
        "/console/accounts/admin/deactivate", data={"csrf_token": csrf_from(
            admin.get("/console/accounts").text)}, follow_redirects=True).text
    demoted = _post(admin, "/console/accounts/admin/role", {f"role-{user_id}-role": "analyst"},
                    prefix=f"role-{user_id}")
    assert demoted.status_code == 303
    assert "only active admin" in admin.get("/console/accounts").text
    assert _user(services, "admin").role == "admin" and _user(services, "admin").active


def test_admin_creates_lists_and_revokes_api_tokens(app, services, staff):
    reference = report(services)
    admin = _admin(app)
    made = _post(admin, "/console/api-tokens", {"token-name": "crm",
                                                "token-scopes": ["queue", "cases"]},
                 prefix="token")
    token = _secret(made.text)
    assert token.startswith("rbt_") and "crm (queue cases)" in made.text
    listing = admin.get("/console/accounts").text
    assert "crm" in listing and "queue cases" in listing and token not in listing
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/cases/{reference}", headers=headers).status_code == 200
    assert "Last used" in listing
    token_id = int(re.search(r'data-token="(\d+)"', listing).group(1))
    assert _post(admin, f"/console/api-tokens/{token_id}/revoke").status_code == 303
    assert api.get(f"/api/v1/cases/{reference}", headers=headers).status_code == 401
    assert "revoked" in admin.get("/console/accounts").text
    bad = _post(admin, "/console/api-tokens", {"token-name": "odd",
                                               "token-scopes": ["cases:sensitive"]},
                prefix="token")
    assert bad.status_code == 400 and "needs the scope cases" in bad.text
    assert [action for _, action, _ in _audit(services)
            if action.startswith("api_token")] == ["api_token_created", "api_token_revoked"]


def _env(settings) -> dict[str, str]:
    return {"REPORTBOT_INSTANCE_DIR": str(settings.instance_dir),
            "REPORTBOT_DATABASE_URL": settings.database_url,
            "REPORTBOT_SECRET_KEY": settings.secret_keys[0],
            "REPORTBOT_ORG_FILE": str(settings.org_file), **CHEAP_ARGON2}


def test_cli_manages_accounts_and_tokens(services, settings, staff):
    runner, env = CliRunner(), _env(settings)

    def run(*args):
        result = runner.invoke(main, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    made = run("staff", "create", "--username", "kim", "--role", "analyst", "--name", "Kim")
    temporary = made.strip().splitlines()[-1]
    assert re.fullmatch(r"[\w]{4}-[\w]{4}-[\w]{4}-[\w]{4}", temporary)
    assert _user(services, "kim").must_change_password
    assert re.search(r"kim\s+analyst\s+temporary password", run("staff", "list"))
    run("staff", "set-role", "kim", "manager")
    run("staff", "deactivate", "kim")
    assert not _user(services, "kim").active
    run("staff", "activate", "kim")
    again = run("staff", "reset-password", "kim").strip().splitlines()[-1]
    assert again != temporary
    refused = runner.invoke(main, ["staff", "set-role", "admin", "analyst"], env=env)
    assert refused.exit_code != 0 and "only active admin" in refused.output

    token = run("api-tokens", "create", "--name", "crm", "--scope", "queue").strip()
    assert token.splitlines()[-1].startswith("rbt_")
    listed = run("api-tokens", "list")
    assert re.search(r"\d+\s+crm\s+queue\s+live", listed)
    token_id = re.search(r"(\d+)\s+crm", listed).group(1)
    run("api-tokens", "revoke", token_id)
    assert "revoked" in run("api-tokens", "list")
    actions = [(actor, action) for actor, action, _ in _audit(services)]
    assert actions == [("cli", a) for a in (
        "user_created", "role_changed", "user_deactivated", "user_activated",
        "password_reset", "api_token_created", "api_token_revoked")]


@pytest.mark.parametrize("user", ["duty1", "cm", "boss", "analyst"])
def test_nobody_but_admins_reaches_the_accounts_page(app, staff, user):
    client = app.test_client()
    login(client, user)
    assert client.get("/console/accounts").status_code == 403
    assert client.post("/console/accounts/duty2/deactivate", data={
        "csrf_token": csrf_from(client.get("/console/password").text)}).status_code == 403


def test_every_member_of_staff_can_change_their_own_password(app, services, staff):
    client = app.test_client()
    login(client, "analyst")
    other = app.test_client()
    login(other, "analyst")
    assert _change_password(client, PASSWORD).headers["Location"] == "/console/reports"
    # Their other sessions end; this one carries on.
    assert client.get("/console/reports").status_code == 200
    assert other.get("/console/reports").status_code == 302
