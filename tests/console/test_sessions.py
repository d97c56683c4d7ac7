"""Console sessions end when idle and at an absolute age; HSTS behind https; client addresses
from proxies only when configured; the instance folder's files private."""

from __future__ import annotations

import os
import stat
import time

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.db import Database, upgrade_database
from bot.errors import ConfigError
from bot.models import AuditLog
from bot.services import build_services
from bot.settings import Settings
from tests.conftest import make_settings
from tests.console.conftest import CHEAP_ARGON2, add_staff, login


def _age(client, **seconds_ago: float) -> None:
    """Move the session's own timestamps into the past, as if that much time had passed."""
    with client.session_transaction() as session:
        for key, ago in seconds_ago.items():
            session[key] = time.time() - ago


def _expired(services) -> list[dict]:
    with services.db.read() as session:
        return [a.detail for a in session.scalars(select(AuditLog).where(
            AuditLog.action == "session_expired"))]


def test_an_idle_session_ends_after_thirty_minutes(client, services, staff):
    login(client, "duty1")
    _age(client, last_seen=29 * 60)
    assert client.get("/console/queue").status_code == 200  # and the clock restarts
    _age(client, last_seen=31 * 60)
    response = client.get("/console/queue")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    assert "without activity" in client.get("/console/login").text
    assert client.get("/console/queue").status_code == 302
    assert _expired(services) == [{"reason": "idle"}]


def test_the_queue_poll_does_not_keep_an_idle_session_alive(client, services, staff):
    login(client, "duty1")
    _age(client, last_seen=29 * 60)
    assert client.get("/console/queue/live?since=0").status_code == 200
    _age(client, last_seen=31 * 60)  # the poll did not restart the clock: 31 min idle now
    assert client.get("/console/queue/live?since=0").status_code == 302
    assert _expired(services) == [{"reason": "idle"}]


def test_a_request_soon_after_another_leaves_the_cookie_alone(client, staff):
    """A background request answered after a form's redirect must not put back a cookie
    without the form's message; so requests within a minute of the last rewrite set none."""
    login(client, "duty1")
    client.get("/console/queue")  # the first page with a form adds the CSRF token
    _age(client, last_seen=5)
    assert "Set-Cookie" not in client.get("/console/queue/live?since=0").headers
    assert "Set-Cookie" not in client.get("/console/queue").headers
    _age(client, last_seen=61)
    assert "Set-Cookie" in client.get("/console/queue").headers


def test_replay_a_thirty_day_old_cookie_no_longer_works(client, services, staff):
    login(client, "duty1")
    _age(client, signed_in_at=30 * 86400, last_seen=30 * 86400)
    assert client.get("/console/queue").status_code == 302
    assert _expired(services) == [{"reason": "absolute"}]


def test_a_busy_session_still_ends_at_its_absolute_age(client, services, staff):
    login(client, "boss")
    _age(client, signed_in_at=12 * 3600 - 60)
    assert client.get("/console/queue").status_code == 200
    _age(client, signed_in_at=12 * 3600 + 60)
    assert client.get("/console/queue").status_code == 302


def test_a_session_from_before_the_limits_existed_is_ended(client, services, staff):
    login(client, "duty1")
    with client.session_transaction() as session:
        del session["signed_in_at"], session["last_seen"]
    assert client.get("/console/queue").status_code == 302


def test_the_limits_are_configurable(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_IDLE_TIMEOUT_MINUTES="5",
                             REPORTBOT_SESSION_MAX_HOURS="1", **CHEAP_ARGON2)
    assert (settings.idle_timeout_minutes, settings.session_max_hours) == (5, 1)
    services = _built(settings)
    try:
        client = create_app(services=services).test_client()
        login(client, "duty1")
        _age(client, last_seen=4 * 60)
        assert client.get("/console/queue").status_code == 200
        _age(client, last_seen=6 * 60)
        assert client.get("/console/queue").status_code == 302
    finally:
        services.db.dispose()


def _built(settings: Settings):
    upgrade_database(settings.database_url)
    services = build_services(settings)
    add_staff(services)
    return services


@pytest.mark.parametrize(("env", "message"), [
    ({"REPORTBOT_IDLE_TIMEOUT_MINUTES": "never"}, "REPORTBOT_IDLE_TIMEOUT_MINUTES"),
    ({"REPORTBOT_SESSION_MAX_HOURS": "0"}, "REPORTBOT_SESSION_MAX_HOURS"),
    ({"REPORTBOT_TRUSTED_PROXIES": "yes"}, "REPORTBOT_TRUSTED_PROXIES"),
])
def test_bad_session_settings_name_the_setting(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        make_settings(tmp_path, **env)


def test_hsts_only_when_the_public_url_is_https(tmp_path):
    for url, expected in (("https://report.example.org", "max-age=31536000"),
                          ("http://127.0.0.1:8000", None)):
        folder = tmp_path / url.split(":")[0]
        folder.mkdir()
        settings = make_settings(folder, REPORTBOT_PUBLIC_URL=url)
        services = build_services(settings)
        try:
            client = create_app(services=services).test_client()
            for path in ("/console/login", "/chat", "/healthz"):
                response = client.get(path, base_url=url)
                assert response.headers.get("Strict-Transport-Security") == expected, path
        finally:
            services.db.dispose()


def test_forwarded_addresses_are_ignored_unless_proxies_are_trusted(client, staff):
    """Without REPORTBOT_TRUSTED_PROXIES a client cannot pose as many addresses."""
    forged = [f"203.0.113.{n}" for n in range(11)]
    # Five free failures per account: the account's delay starts first either way, so use
    # a different name each time to see the address counter alone.
    codes = []
    for n, address in enumerate(forged):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = address
        codes.append(login(client, f"nobody{n}", "not the password at all").status_code)
    assert codes == [401] * 10 + [429]
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.99"
    assert login(client, "duty1").status_code == 429


def test_behind_a_trusted_proxy_each_forwarded_address_counts_alone(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_TRUSTED_PROXIES="1", **CHEAP_ARGON2)
    assert settings.trusted_proxies == 1
    services = _built(settings)
    try:
        client = create_app(services=services).test_client()
        codes = []
        for n in range(11):
            client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.50"
            codes.append(login(client, f"nobody{n}", "not the password").status_code)
        assert codes == [401] * 10 + [429]
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.51"
        assert login(client, "duty1").status_code == 302
    finally:
        services.db.dispose()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_instance_folder_files_are_private(tmp_path):
    settings = Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(tmp_path / "instance")})
    services = _built(settings)
    try:
        database = tmp_path / "instance" / "reportbot.sqlite"
        with services.db.write() as session:
            session.execute(select(1))
        files = sorted(p.name for p in database.parent.iterdir())
        assert {"reportbot.sqlite", "reportbot.sqlite-wal", "reportbot.sqlite-shm",
                "secret.key"} <= set(files)
        assert {name: _mode(database.parent / name) for name in files} == {
            name: 0o600 for name in files}
        assert _mode(database.parent) == 0o700
    finally:
        services.db.dispose()


def test_a_database_made_by_an_older_version_is_narrowed_to_0600(tmp_path):
    database = tmp_path / "old" / "reportbot.sqlite"
    database.parent.mkdir()
    for suffix in ("", "-wal", "-shm"):
        path = database.parent / f"reportbot.sqlite{suffix}"
        path.touch()
        path.chmod(0o644)
    Database(f"sqlite:///{database}").dispose()
    for suffix in ("", "-wal", "-shm"):
        assert _mode(database.parent / f"reportbot.sqlite{suffix}") == 0o600
