"""API token scopes, audited reads, sensitive cases, and the migration of existing tokens.

On SQLite and PostgreSQL: the audit log and the scopes are storage.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text, update

from bot.app import create_app
from bot.db import alembic_config, make_engine, upgrade_database
from bot.models import ApiToken, AuditLog, Case
from bot.store import create_api_token
from tests.helpers import VICTIM_REPORT, Resident


def _report(services) -> str:
    resident = Resident(services)
    for message, _ in VICTIM_REPORT:
        resident.says(message)
    with services.db.read() as session:
        return session.scalars(select(Case.reference).order_by(Case.id.desc())).first()


def _token(services, *scopes: str) -> dict[str, str]:
    with services.db.write() as session:
        token = create_api_token(session, "crm", scopes)
    return {"Authorization": f"Bearer {token}"}


def _audit(services) -> list[tuple[str, str, int | None, dict]]:
    with services.db.read() as session:
        return [(a.actor, a.action, a.case_id, a.detail)
                for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_each_endpoint_needs_its_scope(any_services):
    services = any_services
    client = create_app(services=services).test_client()
    reference = _report(services)
    queue_only, cases_only = _token(services, "queue"), _token(services, "cases")
    assert client.get("/api/v1/cases", headers=queue_only).status_code == 200
    refused = client.get(f"/api/v1/cases/{reference}", headers=queue_only)
    assert refused.status_code == 403 and refused.json["error"] == "insufficient_scope"
    assert 'scope="cases"' in refused.headers["WWW-Authenticate"]
    assert client.get("/api/v1/cases", headers=cases_only).status_code == 403
    assert client.get(f"/api/v1/cases/{reference}", headers=cases_only).status_code == 200


def test_every_case_read_is_in_the_append_only_audit_log(any_services):
    services = any_services
    client = create_app(services=services).test_client()
    reference = _report(services)
    headers = _token(services, "queue", "cases")
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    assert client.get(f"/api/v1/cases/{reference}", headers=headers).status_code == 200
    with services.db.read() as session:
        case_id, token_id = session.scalar(select(Case.id)), session.scalar(select(ApiToken.id))
        last_used = session.scalar(select(ApiToken.last_used_at))
    assert _audit(services) == [
        ("api:crm", "api_queue_read", None, {"token_id": token_id, "references": [reference]}),
        ("api:crm", "api_case_viewed", case_id, {"token_id": token_id, "full": True}),
    ]
    assert last_used is not None
    # Append-only for any writer, not just the application.
    with pytest.raises(Exception, match="append-only"), services.db.write() as session:
        session.execute(text("DELETE FROM audit_log"))


def test_sensitive_cases_personal_details_need_the_sensitive_scope(any_services):
    services = any_services
    client = create_app(services=services).test_client()
    reference = _report(services)
    with services.db.write() as session:
        session.execute(update(Case).values(sensitive=True))
    plain = client.get(f"/api/v1/cases/{reference}", headers=_token(services, "cases"))
    assert plain.status_code == 200
    body = plain.json
    assert body["restricted"] is True and body["sensitive"] is True
    assert {"details", "answers", "consents", "timeline"}.isdisjoint(body)
    assert "Sam Fictional" not in plain.text and "flat 9" not in plain.text.lower()
    full = client.get(f"/api/v1/cases/{reference}",
                      headers=_token(services, "cases", "cases:sensitive"))
    assert full.json["restricted"] is False
    assert full.json["details"]["reporter_name"] == "Sam Fictional"
    assert [(action, detail["full"]) for _, action, _, detail in _audit(services)] == [
        ("api_case_viewed", False), ("api_case_viewed", True)]


def test_a_revoked_token_stops_working(any_services):
    services = any_services
    client = create_app(services=services).test_client()
    headers = _token(services, "queue")
    with services.db.write() as session:
        session.execute(update(ApiToken).values(revoked_at=text("CURRENT_TIMESTAMP")))
    assert client.get("/api/v1/cases", headers=headers).status_code == 401


@pytest.mark.parametrize("scopes", [(), ("everything",), ("cases:sensitive",)])
def test_bad_scopes_are_refused(services, scopes):
    with pytest.raises(ValueError, match="scope"), services.db.write() as session:
        create_api_token(session, "odd", scopes)


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres",
                                                           marks=pytest.mark.postgres)])
def test_tokens_made_before_scopes_keep_queue_and_cases(request, tmp_path, engine):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}" if engine == "sqlite" \
        else request.getfixturevalue("pg_url")
    upgrade_database(url, "0003_merge")
    db = make_engine(url)
    try:
        with db.begin() as conn:
            conn.execute(text("INSERT INTO api_tokens (name, token_hash, created_at) VALUES "
                              "('crm', :h, CURRENT_TIMESTAMP)"), {"h": "a" * 64})
        upgrade_database(url)
        with db.connect() as conn:
            assert conn.execute(text("SELECT scopes FROM api_tokens")).scalar_one() == \
                "queue cases"
    finally:
        db.dispose()


def test_migration_round_trip(tmp_path):
    url = f"sqlite:///{tmp_path / 'round.sqlite'}"
    upgrade_database(url)
    command.downgrade(alembic_config(url), "0003_merge")
    upgrade_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            columns = {row[1] for row in conn.execute(text("PRAGMA table_info(staff_users)"))}
    finally:
        engine.dispose()
    assert {"must_change_password", "temp_password_expires_at"} <= columns
    assert "locked_until" not in columns
