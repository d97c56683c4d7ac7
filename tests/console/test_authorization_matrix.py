"""Every role against every console route; session fixation; hostile resident text."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from bot.models import Case, utcnow
from tests.console.conftest import ROLES, csrf_from, login, report

CASEWORK = {"duty1", "duty2", "cm", "boss"}
GETS = {
    "/console/queue": CASEWORK,
    "/console/cases/{ref}": CASEWORK,
    "/console/reports/new": CASEWORK,
    "/console/audit": {"boss", "admin"},
    "/console/reports": {"boss", "analyst"},
    "/console/reports.csv": {"boss", "analyst"},
    "/console/accounts": {"admin"},
    "/console/password": set(ROLES),
    "/console/reports.xlsx": {"boss", "analyst"},
    "/console/reports/annual": {"boss", "analyst"},
    "/console/queue/live?since=0": CASEWORK,
    "/console/queue?ref={ref}": CASEWORK,
}
POSTS = {
    "claim": CASEWORK, "first-contact": CASEWORK, "action-plan": CASEWORK,
    "note": CASEWORK, "hate-related": CASEWORK, "priority": CASEWORK, "flags": CASEWORK,
    "message": CASEWORK, "repair": CASEWORK,
    "assign": {"boss"}, "close": {"cm", "boss"}, "area": CASEWORK, "perpetrator": CASEWORK,
}
# Staff accounts and API tokens: admins only. Each is a form post whose own checks answer
# after the role check, so a permitted user may get 303 or 400 here, never 401/403.
ADMIN_POSTS = ["/console/accounts", "/console/accounts/duty2/role",
               "/console/accounts/duty2/deactivate", "/console/accounts/duty2/activate",
               "/console/accounts/duty2/reset-password", "/console/api-tokens",
               "/console/api-tokens/1/revoke"]
# Claiming a sensitive case nobody holds opens it (8.3): managers only.
SENSITIVE_POSTS = {"claim": {"boss"}, "note": {"boss"}, "flags": {"boss"},
                   "assign": {"boss"}, "close": {"boss"}}
OTHER_POSTS = {"/console/reports/new/applies": CASEWORK}


def _client_for(app, user):
    client = app.test_client()
    if user is None:
        return client, csrf_from(client.get("/console/login").text)
    landing = login(client, user).headers["Location"]
    return client, csrf_from(client.get(landing).text)


def test_every_role_against_every_route(app, services, staff):
    ref = report(services)
    for user in [None, *ROLES]:
        client, token = _client_for(app, user)
        for path, allowed in GETS.items():
            response = client.get(path.format(ref=ref))
            _check(user, allowed, response, f"GET {path}")
        for action, allowed in POSTS.items():
            response = client.post(f"/console/cases/{ref}/{action}",
                                   data={"csrf_token": token})
            _check(user, allowed, response, f"POST {action}")
        for path in ADMIN_POSTS:
            _check(user, {"admin"}, client.post(path, data={"csrf_token": token}),
                   f"POST {path}")
        for path, allowed in OTHER_POSTS.items():
            response = client.post(path, data={"csrf_token": token})
            _check(user, allowed, response, f"POST {path}")


def test_every_role_against_a_sensitive_case_nobody_holds(app, services, staff):
    ref = report(services)
    with services.db.write() as session:
        session.execute(update(Case).where(Case.reference == ref).values(sensitive=True))
    for user in [None, *ROLES]:
        client, token = _client_for(app, user)
        for action, allowed in SENSITIVE_POSTS.items():
            response = client.post(f"/console/cases/{ref}/{action}",
                                   data={"csrf_token": token})
            _check(user, allowed, response, f"POST {action} (sensitive)")
        with services.db.read() as session:
            assignee = session.scalar(select(Case.assignee).where(Case.reference == ref))
        assert assignee in (None, "boss"), f"{user} took the sensitive case"


def _check(user, allowed, response, what):
    if user is None:
        assert response.status_code == 302, what
        assert "/console/login" in response.headers["Location"], what
    elif user in allowed:
        assert response.status_code not in (401, 403), f"{user} refused {what}"
        if response.status_code in (302, 303):
            assert "/console/login" not in response.headers["Location"], what
    else:
        assert response.status_code == 403, f"{user} allowed {what}: {response.status_code}"


def test_post_without_csrf_token_is_refused(app, services, staff):
    ref = report(services)
    client, _ = _client_for(app, "boss")
    assert client.post(f"/console/cases/{ref}/claim").status_code == 400


def test_session_is_renewed_at_sign_in(app, services, staff):
    client = app.test_client()
    client.get("/console/login")
    before = client.get_cookie("session")
    login(client, "duty1")
    after = client.get_cookie("session")
    assert after is not None and (before is None or after.value != before.value)
    # A session cookie captured before sign-in grants nothing afterwards.
    attacker = app.test_client()
    if before is not None:
        attacker.set_cookie("session", before.value)
    assert attacker.get("/console/queue").status_code == 302


HOSTILE = [
    "<script>alert('x')</script>",
    "\"><img src=x onerror=alert(1)>",
    "'; DROP TABLE cases; --",
    "Robert'); DELETE FROM staff_users WHERE ('1'='1",
    "{{7*7}} ${7*7} %(org)s",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_resident_text_is_stored_verbatim_and_shown_inert(app, services, staff,
                                                                  payload):
    ref = report(services, narrative=f"It happened again. {payload}")
    client, _ = _client_for(app, "boss")
    page = client.get(f"/console/cases/{ref}").text
    if any(c in payload for c in "<>\"'&"):
        assert payload not in page  # escaped, so the browser shows it as text
        assert escape(payload) in page
    else:
        assert payload in page  # shown as written, never evaluated
        assert "It happened again. 49" not in page
    with services.db.read() as session:
        case = services.store.get(session, ref)
        assert payload in services.store.details(case)["narrative"]
    queue = client.get("/console/queue")
    assert queue.status_code == 200 and ref in queue.text


def test_analysts_see_the_victims_profile_only_as_suppressed_counts(app, services, staff):
    from tests.helpers import VICTIM_DETAILS, VICTIM_REPORT, Resident

    ages = ["18 to 34"] * 5 + ["75 or over", "55 to 74"]
    for n, age in enumerate(ages):
        resident = Resident(services, channel="sms", sender=f"+44770090{n:04d}")
        resident.follow(VICTIM_REPORT)
        resident.follow(VICTIM_DETAILS[:-1])
        resident.follow([("yes", "monitoring_age")])
        resident.says(age)
        for answer in ("White", "No religion", "no", "Straight", "yes"):
            resident.says(answer)
        assert resident.done
    client, _ = _client_for(app, "analyst")
    page = client.get("/console/reports").text
    assert "18 to 34" in page and "fewer than 5" in page
    export = client.get("/console/reports.csv").text
    rows = list(csv.reader(io.StringIO(export)))
    age = f"Victims' profile, {utcnow().astimezone(ZoneInfo('Europe/London')).year}: Age"
    assert [age, "18 to 34", "People", "5"] in rows
    assert [age, "75 or over", "People", "fewer than 5"] in rows
    assert [age, "55 to 74", "People", "fewer than 5"] in rows
    assert "+44770090" not in page + export
