"""Console sign-in throttling: per account, per address, per trusted browser; no enumeration.

Replays the review's findings: a password spray over several accounts from one address, a
colleague locked out by anyone who knows their name, and names told apart by how they fail.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import event, select, update

from bot.app import create_app
from bot.console import throttle
from bot.console.auth import DEVICE_COOKIE, authenticate
from bot.console.staff import create_user
from bot.db import Database
from bot.models import AuditLog, LoginThrottle, StaffUser, utcnow
from bot.services import build_services
from tests.console.conftest import PASSWORD, ROLES, csrf_from, login


def _client(app, address: str = "192.0.2.10"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _unblock(services) -> None:
    """Let every current delay run out, as if its time had passed."""
    with services.db.write() as session:
        session.execute(update(LoginThrottle).values(blocked_until=utcnow()))


def test_delays_grow_from_fifteen_seconds_to_at_most_fifteen_minutes():
    rule = throttle.RULES["account"]
    assert [rule.delay(n) for n in range(5)] == [None] * 5
    assert [rule.delay(n).total_seconds() for n in range(5, 13)] == [
        15, 30, 60, 120, 240, 480, 900, 900]
    assert rule.delay(10_000) == timedelta(minutes=15)
    assert throttle.RULES["address"].delay(9) is None
    assert throttle.RULES["address"].delay(10) == timedelta(seconds=15)


def test_each_failure_past_the_free_ones_doubles_the_wait(any_console):
    services = any_console
    app = create_app(services=services)
    client = _client(app)
    waits = []
    for _ in range(8):
        response = login(client, "duty2", "not the password")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            _unblock(services)
            assert login(client, "duty2", "not the password").status_code == 401
    # Five free failures, then 15 s; each later failure doubles it.
    with services.db.read() as session:
        row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == "account"))
    assert row.failures == 8
    assert row.blocked_until - row.last_failure_at == timedelta(seconds=15 * 2 ** 3)
    assert waits and all(0 < w <= 16 * 2 ** 3 for w in waits)
    # An attempt while waiting is refused without counting, even with the right password.
    assert login(client, "duty2").status_code == 429
    with services.db.read() as session:
        assert session.get(LoginThrottle, row.id).failures == 8
    _unblock(services)
    assert login(client, "duty2").status_code == 302
    with services.db.read() as session:
        assert session.get(LoginThrottle, row.id).failures == 0


def test_replay_password_spray_over_six_accounts_from_one_address(any_console):
    """24 attempts over 6 accounts from one address: only the first 10 are even checked."""
    services = any_console
    app = create_app(services=services)
    sprayer = _client(app, "198.51.100.7")
    codes = [login(sprayer, name, f"Spring{year}!").status_code
             for year in range(2021, 2025) for name in ROLES]
    assert codes == [401] * 10 + [429] * 14
    # Each account had at most 4 tries, so the accounts themselves are not held up: their
    # owners sign in from their own addresses as usual.
    assert login(_client(app, "192.0.2.20"), "duty1").status_code == 302
    with services.db.read() as session:
        actions = session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("login%"))).all()
    assert actions.count("login_failed") == 10 and actions.count("login_refused") == 14


def test_unknown_names_are_throttled_and_answered_like_real_ones(any_console):
    services = any_console
    app = create_app(services=services)
    seen = {}
    for name, address in (("duty2", "192.0.2.31"), ("no.such.person", "192.0.2.32")):
        client = _client(app, address)
        answers = [login(client, name, "not the password") for _ in range(6)]
        seen[name] = [(r.status_code, r.headers.get("Retry-After") is not None,
                       "That user name and password" in r.text, "Please wait" in r.text)
                      for r in answers]
    assert seen["duty2"] == seen["no.such.person"] == [(401, False, True, False)] * 5 + [
        (429, True, False, True)]


def test_a_stranger_cannot_shut_a_colleague_out_of_their_own_browser(any_console):
    services = any_console
    app = create_app(services=services)
    own = _client(app, "192.0.2.40")
    assert login(own, "duty1").status_code == 302
    assert own.get_cookie(DEVICE_COOKIE, path="/console") is not None
    own.post("/console/logout", data={"csrf_token": _token(own)})

    # Someone else, anywhere (even on the same office address), hammers duty1's name.
    for address in ("203.0.113.9", "192.0.2.40"):
        stranger = _client(app, address)
        codes = {login(stranger, "duty1", "guess guess guess").status_code
                 for _ in range(12)}
        assert 429 in codes
        assert login(stranger, "duty1").status_code == 429  # the right password, too

    # duty1's own browser is judged on its own failures only.
    assert login(own, "duty1").status_code == 302
    # A new browser still faces the account's delay.
    assert login(_client(app, "192.0.2.41"), "duty1").status_code == 429


def test_a_trusted_browser_has_its_own_delay_and_vouches_for_no_one_else(any_console):
    services = any_console
    app = create_app(services=services)
    own = _client(app, "192.0.2.50")
    assert login(own, "duty1").status_code == 302
    own.post("/console/logout", data={"csrf_token": _token(own)})
    codes = [login(own, "duty1", "wrong wrong wrong").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    # Its cookie is for duty1 only: duty2's attempts from it count on duty2's name and the
    # address, never on this browser.
    assert login(own, "duty2", "wrong wrong wrong").status_code == 401
    with services.db.read() as session:
        rows = session.scalars(select(LoginThrottle)).all()
    assert sorted((r.kind, r.failures) for r in rows) == [
        ("account", 1), ("account", 5), ("address", 6), ("device", 5)]


def _token(client) -> str:
    return csrf_from(client.get("/console/queue").text)


def test_unknown_throttled_and_wrong_attempts_do_the_same_work(any_console, monkeypatch):
    """One argon2 verification and the same SQL statements, whichever way it fails."""
    services = any_console
    verified = []
    original = argon2.PasswordHasher.verify

    def counting_verify(self, stored, password):
        verified.append(1)
        return original(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    # The throttled account and every address already have rows, as in steady use.
    for _ in range(5):
        authenticate(services, "duty1", "not it", "192.0.2.60")
    for name, address in (("nobody.here", "192.0.2.61"), ("duty2", "192.0.2.62")):
        authenticate(services, name, "not it", address)
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    outcomes, work = {}, {}
    event.listen(services.db.engine, "before_cursor_execute", capture)
    try:
        for label, name, address in (("throttled", "duty1", "192.0.2.60"),
                                     ("unknown", "nobody.here", "192.0.2.61"),
                                     ("wrong", "duty2", "192.0.2.62")):
            statements.clear()
            verified.clear()
            result = authenticate(services, name, "not it", address)
            outcomes[label] = (result.staff is None, result.retry_at is not None)
            work[label] = (len(verified), list(statements))
    finally:
        event.remove(services.db.engine, "before_cursor_execute", capture)
    assert outcomes == {"throttled": (True, True), "unknown": (True, False),
                        "wrong": (True, False)}
    assert work["throttled"][0] == work["unknown"][0] == work["wrong"][0] == 1
    assert work["throttled"][1] == work["unknown"][1] == work["wrong"][1]
    assert any(s.startswith("INSERT INTO audit_log") for s in work["wrong"][1])


def test_an_inactive_account_fails_like_a_wrong_password(client, services, staff):
    with services.db.write() as session:
        session.execute(update(StaffUser).where(StaffUser.username == "cm")
                        .values(active=False))
    response = login(client, "cm")
    assert response.status_code == 401 and "did not work" in response.text


def test_the_throttle_holds_across_workers(any_console, tmp_path):
    """Two app instances (two workers) on one database share the counts."""
    services = any_console
    other = build_services(services.settings, db=Database(services.settings.database_url))
    try:
        first, second = create_app(services=services), create_app(services=other)
        for n in range(5):
            app = first if n % 2 else second
            assert login(_client(app), "cm", "not the password").status_code == 401
        assert login(_client(first), "cm").status_code == 429
        assert login(_client(second), "cm").status_code == 429
    finally:
        other.db.dispose()


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "Password1234!", "boss.larkspur",
                                      "short"])
def test_weak_passwords_are_refused(services, password):
    with pytest.raises(ValueError, match="at least 12|too easy to guess"), \
            services.db.write() as session:
        create_user(session, services, "boss", "manager", password)


def test_a_strong_password_is_accepted(services):
    with services.db.write() as session:
        user = create_user(session, services, "kim", "analyst", PASSWORD)
    assert user.password_hash.startswith("$argon2id$")


def test_simultaneous_failures_are_all_counted(any_console):
    """Eight wrong attempts at once, as from eight workers: none of them is lost."""
    services = any_console
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def attempt(n: int) -> None:
        try:
            barrier.wait()
            authenticate(services, "boss", "not it either", f"192.0.2.{100 + n}")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with services.db.read() as session:
        row = session.scalar(select(LoginThrottle).where(LoginThrottle.kind == "account"))
    # Five counted (the fifth started a delay) and the rest refused while it ran: none was
    # lost, none counted twice.
    assert row.failures == 5 and row.blocked_until is not None
    with services.db.read() as session:
        outcomes = session.scalars(select(AuditLog.action).where(
            AuditLog.action.like("login%"))).all()
    assert sorted(outcomes) == ["login_failed"] * 5 + ["login_refused"] * 3
