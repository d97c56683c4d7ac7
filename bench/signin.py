"""Console sign-in timing: unknown name, throttled account, wrong and right password.

A figure, not a test. With the production argon2 cost, each kind of failed attempt should
take the same time, so that nobody can tell from the answer's timing which names exist or
which accounts are being held up. Runs in-process (the Flask test client) on SQLite, and
on PostgreSQL with --postgres URL. Each attempt comes from its own client address so that
the per-address limit does not mix the kinds.

    .venv/bin/python bench/signin.py [--rounds 30] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import create_app  # noqa: E402
from bot.console.staff import create_user  # noqa: E402
from bot.db import Database, upgrade_database  # noqa: E402
from bot.models import LoginThrottle, utcnow  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.settings import Settings  # noqa: E402

PASSWORD = "quiet orchard lantern 42"  # noqa: S105 - a fictional account on a throwaway database
SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - throwaway


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _attempt(app, username: str, password: str, address: str) -> tuple[int, float]:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    token = _csrf(client.get("/console/login").text)
    started = time.perf_counter()
    response = client.post("/console/login", data={"username": username, "password": password,
                                                   "csrf_token": token})
    return response.status_code, (time.perf_counter() - started) * 1000


def run(url: str, rounds: int, workdir: Path) -> None:
    """Print p50/p90/max milliseconds per kind of attempt on the database at `url`."""
    upgrade_database(url)
    settings = Settings.from_env({"REPORTBOT_INSTANCE_DIR": str(workdir / "instance"),
                                  "REPORTBOT_DATABASE_URL": url, "REPORTBOT_SECRET_KEY": SECRET})
    services = build_services(settings, db=Database(url))
    with services.db.write() as session:
        for name in ("duty1", "duty9"):
            create_user(session, services, name, "duty_officer", PASSWORD)
    app = create_app(services=services)
    for n in range(5):  # duty9 is held up by a stranger's guesses
        _attempt(app, "duty9", "a stranger's guess", f"198.51.100.{n}")
    kinds = {"unknown name": ("nobody.{i}", "a guess at it"),
             "throttled account": ("duty9", "a stranger's guess"),
             "wrong password": ("duty1", "a guess at it"),
             "right password": ("duty1", PASSWORD)}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    codes: dict[str, set[int]] = {k: set() for k in kinds}
    for i in range(rounds):
        with services.db.write() as session:
            # The stranger keeps at it: duty9's delay never runs out during the run.
            session.execute(update(LoginThrottle).where(
                LoginThrottle.kind == "account", LoginThrottle.failures >= 5).values(
                blocked_until=utcnow() + timedelta(hours=1)))
        for kind, (name, password) in kinds.items():
            name = name.format(i=i)
            if kind == "wrong password" and i % 4 == 3:
                # Keep duty1 under its free failures, so "wrong" stays a plain failure.
                _attempt(app, "duty1", PASSWORD, f"10.9.{i}.9")
            code, ms = _attempt(app, name, password, f"10.{list(kinds).index(kind)}.{i}.1")
            times[kind].append(ms)
            codes[kind].add(code)
    engine = services.db.engine.dialect.name
    print(f"{engine}: {rounds} attempts of each kind, argon2 default cost, ms per POST")
    print(f"  {'kind':<18} {'status':>7} {'p50':>7} {'p90':>7} {'max':>7}")
    for kind, values in times.items():
        values.sort()
        p90 = values[int(0.9 * (len(values) - 1))]
        status = "/".join(str(c) for c in sorted(codes[kind]))
        print(f"  {kind:<18} {status:>7} {statistics.median(values):7.1f} {p90:7.1f} "
              f"{values[-1]:7.1f}")
    services.db.dispose()


def main() -> None:
    """Run on SQLite, then on PostgreSQL if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL URL; a scratch schema is used")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/signin.sqlite", args.rounds, Path(tmp))
    if args.postgres:
        base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            joiner = "&" if "?" in base else "?"
            with tempfile.TemporaryDirectory() as tmp:
                run(f"{base}{joiner}options=-csearch_path%3D{schema}", args.rounds, Path(tmp))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
