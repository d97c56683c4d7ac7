"""The duty queue and a case page with up to 1,000,000 cases in PostgreSQL.

    python bench/scale.py [--postgres URL] [--sizes 10000,100000,1000000]

Fills a fresh schema with fictional cases in steps (COPY), and at each size times the
queue's first page (`GET /api/v1/cases`) and a case page (`GET /api/v1/cases/<ref>`)
through the real application, next to a bare `SELECT 1` round trip in the same process.
Prints p50/p99 per size and the growth from the smallest to the largest size. Then, for
systems that sync, a page from the middle of the list: the queue by `cursor` and by
`offset`, and every case in the received order by `cursor`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.db import Database, upgrade_database  # noqa: E402
from bot.models import Case  # noqa: E402
from bot.reference import new_reference  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.store import Position, create_api_token  # noqa: E402
from tests.conftest import make_settings  # noqa: E402

STRANDS = ["ethnic_origin", "religion", "gender", "sexual_orientation", "age", "disability"]
COLUMNS = ("reference", "status", "priority", "priority_rank", "hate_related", "strands",
           "perceived_by", "prejudice_indicators", "reporter_role", "anonymous", "channel",
           "language", "received_at", "counts_from", "out_of_hours", "first_contact_due",
           "action_plan_due", "next_deadline", "incident_types", "immediate_danger",
           "repair_needed", "answers", "details_enc", "created_at")


def _rows(count: int, sealed: bytes, rng: random.Random, seen: set[str]):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(count):
        reference = new_reference(rng)
        while reference in seen:
            reference = new_reference(rng)
        seen.add(reference)
        hate = rng.random() < 0.6
        received = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        status = rng.choices(["closed", "open", "new"], weights=[90, 8, 2])[0]
        due1, due10 = received + timedelta(days=1), received + timedelta(days=14)
        strands = rng.sample(STRANDS, rng.randint(1, 2)) if hate else []
        yield (reference, status, "high" if hate else "medium", 0 if hate else 1, hate,
               json.dumps(strands), json.dumps(["victim"] if hate else []), "[]", "victim",
               False, rng.choice(["sms", "webchat", "telegram", "whatsapp"]), "en",
               received, received, False, due1, due10,
               None if status == "closed" else due1, '["harassment"]', False, False,
               "{}", "\\x" + sealed.hex(), received)


def fill(db: Database, count: int, sealed: bytes, rng: random.Random, seen: set[str]) -> float:
    """COPY `count` more cases in; return the seconds it took."""
    started = time.monotonic()
    raw = db.engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(
                f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(count, sealed, rng, seen):
                copy.write_row(row)
        raw.commit()
        with raw.cursor() as cur:
            cur.execute("ANALYZE cases")
        raw.commit()
    finally:
        raw.close()
    return time.monotonic() - started


def timings(call, runs: int) -> tuple[float, float]:
    """Return p50 and p99 of `call` in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * .99))]


def _deep_pages(services, client, headers, size: int, runs: int):
    """Time a page from the middle of the queue (cursor, offset) and of every case."""
    with services.db.read() as session:
        open_cases = session.scalar(select(func.count()).select_from(Case).where(
            Case.status != "closed"))
        depth = open_cases // 2
        middle = services.store.queue(session, limit=1, offset=depth)[0]
        halfway = session.scalar(select(Case).order_by(Case.id).offset(size // 2).limit(1))
    by_queue = Position.of(middle, "queue").encode()
    by_received = Position.of(halfway, "received").encode()
    return (timings(lambda: client.get(f"/api/v1/cases?limit=50&cursor={by_queue}",
                                       headers=headers), runs),
            timings(lambda: client.get(f"/api/v1/cases?limit=50&offset={depth + 1}",
                                       headers=headers), runs),
            timings(lambda: client.get(f"/api/v1/cases?order=received&limit=50&cursor="
                                       f"{by_received}", headers=headers), runs))


def main() -> None:
    """Fill, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"scale_{uuid.uuid4().hex[:8]}"
    admin = Database(base)
    with admin.write() as session:
        session.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        upgrade_database(url)
        with tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(Path(tmp), url)
            services = build_services(settings)
            app = create_app(services=services)
            client = app.test_client()
            with services.db.write() as session:
                token = create_api_token(session, "bench")
            headers = {"Authorization": f"Bearer {token}"}
            sealed = services.vault.seal_json({"narrative": "fictional " * 40})
            rng, seen, have = random.Random(7), set(), 0
            print(f"{'cases':>9} {'fill s':>7} {'SELECT 1 p50/p99':>18} "
                  f"{'queue page p50/p99':>20} {'case page p50/p99':>19}")
            results, deep = {}, {}
            for size in sizes:
                took = fill(services.db, size - have, sealed, rng, seen)
                have = size
                refs = rng.sample(sorted(seen), 200)
                with services.db.read() as session:
                    bare = timings(lambda s=session: s.execute(text("SELECT 1")), args.runs)
                queue = timings(lambda: client.get("/api/v1/cases?limit=50",
                                                   headers=headers), args.runs)
                case = timings(lambda r=refs: client.get(f"/api/v1/cases/{rng.choice(r)}",
                                                  headers=headers), args.runs)
                results[size] = (queue, case)
                deep[size] = _deep_pages(services, client, headers, size, args.runs)
                print(f"{size:>9} {took:>7.1f} {bare[0]:>8.2f}/{bare[1]:<8.2f} ms "
                      f"{queue[0]:>9.2f}/{queue[1]:<8.2f} ms {case[0]:>8.2f}/{case[1]:<8.2f} ms")
            print(f"\n{'cases':>9} {'middle of the queue':>40} {'middle of every case':>22}")
            print(f"{'':>9} {'cursor p50/p99':>19} {'offset p50/p99':>20} "
                  f"{'received, cursor p50/p99':>25}")
            for size, (queue_cursor, queue_offset, received) in deep.items():
                print(f"{size:>9} {queue_cursor[0]:>8.2f}/{queue_cursor[1]:<8.2f} ms "
                      f"{queue_offset[0]:>8.2f}/{queue_offset[1]:<8.2f} ms "
                      f"{received[0]:>12.2f}/{received[1]:<8.2f} ms")
            small, large = results[sizes[0]], results[sizes[-1]]
            print(f"growth {sizes[0]} -> {sizes[-1]}: queue p50 x{large[0][0] / small[0][0]:.2f}"
                  f", case page p50 x{large[1][0] / small[1][0]:.2f}")
            services.db.dispose()
    finally:
        with admin.write() as session:
            session.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
