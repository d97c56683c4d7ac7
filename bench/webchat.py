"""Full web chat reports over HTTP against `reportbot serve`, beside a bare Flask baseline.

    python bench/webchat.py [--clients 16] [--reports 4] [--workers 2] [--postgres URL]

Serves the real app with gunicorn (2 workers by default) on a fresh SQLite database (and on
PostgreSQL when a URL is given or TEST_DATABASE_URL is set), drives complete conversations
from many concurrent residents, and in the same run serves a bare Flask endpoint on the
same server stack. Prints turns/s, p50/p99 latency, the ratio to the bare rate, peak
worker memory and start-up time. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import BIN, Figures, drive, free_port, start, timed  # noqa: E402
from tests.conftest import english_only_org  # noqa: E402
from tests.helpers import VICTIM_REPORT  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - a fictional key for a throwaway instance


def bare_baseline(clients: int, requests_each: int, workers: int) -> tuple[Figures, float]:
    """Serve bench.bare_app with gunicorn and hammer it; return figures and peak memory."""
    port = free_port()
    # The same server stack as `reportbot serve`: gthread workers with 4 threads each.
    server = start([str(BIN / "gunicorn"), "-w", str(workers), "--threads", "4",
                    "-k", "gthread", "-b", f"127.0.0.1:{port}", "bench.bare_app:app"], {},
                   port, ready_path="/bare", ready_method="POST")

    def work(client, figures):
        for _ in range(requests_each):
            timed(figures, lambda: client.post(f"{server.url}/bare", json={"text": "no"}))

    try:
        figures = drive(clients, work)
        return figures, server.peak_worker_memory_mb()
    finally:
        server.stop()


def conversations(database_url: str, clients: int, reports_each: int, workers: int,
                  instance: Path) -> tuple[Figures, float, float, int]:
    """Serve reportbot and drive full reports; return figures, memory, start-up, reports."""
    port = free_port()
    env = {"REPORTBOT_DATABASE_URL": database_url, "REPORTBOT_SECRET_KEY": SECRET,
           "REPORTBOT_INSTANCE_DIR": str(instance),
           "REPORTBOT_ORG_FILE": str(english_only_org(instance))}
    if not database_url.startswith("sqlite"):
        import subprocess

        subprocess.run([str(BIN / "reportbot"), "db", "upgrade"], env={**os.environ, **env},  # noqa: S603 - our own command, fixed arguments
                       check=True, capture_output=True)
    server = start([str(BIN / "reportbot"), "serve", "--port", str(port), "--workers",
                    str(workers)], env, port)
    answers = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]
    completed = []

    def work(client, figures):
        for _ in range(reports_each):
            opened = client.post(f"{server.url}/api/chat/sessions", json={})
            token = opened.json()["session"]
            url = f"{server.url}/api/chat/sessions/{token}/messages"
            last = None
            for text in answers:
                last = timed(figures, lambda t=text, u=url: client.post(
                    u, json={"text": t, "client_id": uuid.uuid4().hex}))
            if last is not None and last.json().get("done"):
                completed.append(1)

    try:
        figures = drive(clients, work)
        return figures, server.peak_worker_memory_mb(), server.started_in, len(completed)
    finally:
        server.stop()


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reports", type=int, default=3, help="reports per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    turns = len(VICTIM_REPORT)
    print(f"reportbot web chat benchmark: {args.clients} concurrent residents x "
          f"{args.reports} full reports ({turns} turns each), gunicorn {args.workers} workers")
    bare, bare_mem = bare_baseline(args.clients, args.reports * turns, args.workers)
    print(bare.line("bare Flask endpoint (baseline)") + f"  peak worker {bare_mem:.0f} MB")
    engines = [("sqlite", None)]
    if args.postgres:
        engines.append(("postgresql", args.postgres))
    for name, url in engines:
        with tempfile.TemporaryDirectory() as tmp:
            instance = Path(tmp)
            db_url = url or f"sqlite:///{instance / 'bench.sqlite'}"
            if url:
                db_url = _fresh_pg_schema(url)
            figures, mem, startup, done = conversations(db_url, args.clients, args.reports,
                                                        args.workers, instance)
            ratio = figures.rate / bare.rate if bare.rate else float("nan")
            print(figures.line(f"full turns ({name})") + f"  peak worker {mem:.0f} MB")
            print(f"{'':34} ratio to bare {ratio:.2f}; {done} reports acknowledged; "
                  f"start-up to first response {startup:.2f} s")


def _fresh_pg_schema(url: str) -> str:
    """Create an empty schema for this run and return a URL that uses it."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options=-csearch_path%3D{schema}"


if __name__ == "__main__":
    main()
