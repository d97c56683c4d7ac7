"""The duty queue, a case page and the monitoring page with up to 1,000,000 cases.

    python bench/scale.py [--postgres URL] [--sizes 10000,100000,300000,1000000]

Fills a fresh PostgreSQL schema with fictional cases over three years (2024-2026) in steps
(COPY; each step in the order its cases were received), and at each size times the
queue's first page (`GET /api/v1/cases`), a case page (`GET /api/v1/cases/<ref>`) and the
monitoring page for the year 2025 as an analyst sees it (`GET /console/reports?year=2025`:
every figure, every chart) through the real application, next to a bare `SELECT 1` round
trip in the same process. Prints p50/p99 per size, how many cases the year holds, and the
growth from the smallest to the largest size.
The aim for the monitoring page is at most 1 s for a year of 100,000 cases.
Then, for systems that sync, a page from the middle of the list: the queue by `cursor` and
by `offset`, and every case in the received order by `cursor`.
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
from bot.console.auth import create_user  # noqa: E402
from bot.db import Database, upgrade_database  # noqa: E402
from bot.models import Case  # noqa: E402
from bot.profiles import PERPETRATOR_FIELDS, VICTIM_DIMENSIONS  # noqa: E402
from bot.reference import new_reference  # noqa: E402
from bot.services import build_services  # noqa: E402
from bot.store import Position, create_api_token  # noqa: E402
from flows.report import MONITORING_STEPS  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, login  # noqa: E402

STRANDS = ["ethnic_origin", "religion", "gender", "sexual_orientation", "age", "disability"]
TYPES = ["name_calling", "threats", "harassment", "assault_person", "damage_property",
         "graffiti", "abusive_communication", "other"]
AREAS = ["Larkspur Court", "Riverside", "Eastgate", None]
CHANNELS = ["sms", "webchat", "telegram", "whatsapp", "phone"]
LANGUAGES = ["en"] * 6 + ["pl", "ar", "so", "bn", "ro", "tr"]
OUTCOMES = ["resolved", "no_further_action", "enforcement", "referred", "withdrawn"]
COLUMNS = ("reference", "status", "priority", "priority_rank", "hate_related", "strands",
           "perceived_by", "prejudice_indicators", "reporter_role", "anonymous", "channel",
           "language", "received_at", "counts_from", "out_of_hours", "first_contact_due",
           "action_plan_due", "next_deadline", "incident_types", "immediate_danger",
           "repair_needed", "answers", "details_enc", "created_at", "area",
           "first_contact_at", "first_contact_hours", "action_plan_at", "outcome",
           "closed_at", "conversation_id")
REPORT_ANSWERS = {
    "immediate_danger": "no", "reporter_role": "victim", "anonymous": "named",
    "incident_types": ["name_calling", "threats"], "incident_when": "yesterday",
    "location_type": "communal", "perception": "yes", "strands": ["ethnic_origin"],
    "perpetrator_known": "known", "evidence": ["photos", "police"], "repair_needed": "yes",
    "repair_keep": "keep", "impact": ["unsafe_home"], "contact_method": "phone",
    "leave_message": "no", "language_needs": "none", "interview": "visit",
    "consent_police": "yes", "consent_council": "yes", "consent_support": "no",
    "monitoring_offer": "yes", "victim_aware": "agrees", "safe_times": None,
}
# One conversation for every few cases: some residents report more than once.
CASES_PER_CONVERSATION = 3


def _rows(count: int, sealed: bytes, rng: random.Random, seen: set[str],
          conversations: int):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    # Each batch is written in the order its cases were received, as cases arrive in life.
    times = sorted(start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
                   for _ in range(count))
    for received in times:
        reference = new_reference(rng)
        while reference in seen:
            reference = new_reference(rng)
        seen.add(reference)
        hate = rng.random() < 0.6
        status = rng.choices(["closed", "open", "new"], weights=[90, 8, 2])[0]
        due1, due10 = received + timedelta(days=1), received + timedelta(days=14)
        strands = rng.sample(STRANDS, rng.randint(1, 2)) if hate else []
        contacted = received + timedelta(hours=rng.uniform(0.5, 40)) \
            if status != "new" else None
        planned = received + timedelta(days=rng.uniform(2, 16)) \
            if status == "closed" else None
        channel = rng.choice(CHANNELS)
        # The choice answers of a whole report, as a chat report stores them.
        answers = {**REPORT_ANSWERS,
                   "ongoing": rng.choice(["one_off", "ongoing", "not_sure"])}
        yield (reference, status, "high" if hate else "medium", 0 if hate else 1, hate,
               json.dumps(strands), json.dumps(["victim"] if hate else []), "[]",
               rng.choice(["victim", "victim", "witness", "third_party"]),
               False, channel, rng.choice(LANGUAGES),
               received, received, False, due1, due10,
               None if status == "closed" else due1,
               json.dumps(rng.sample(TYPES, rng.randint(1, 2))), False, False,
               json.dumps(answers), "\\x" + sealed.hex(), received, rng.choice(AREAS),
               contacted, round(rng.uniform(0.5, 16), 2) if contacted else None, planned,
               rng.choice(OUTCOMES) if status == "closed" else None,
               planned + timedelta(days=5) if planned else None,
               None if channel == "phone" else rng.randint(1, conversations))


def _conversations(raw, first: int, last: int) -> None:
    with raw.cursor() as cur, cur.copy(
            "COPY conversations (id, channel, sender_index, phase, locale, created_at, "
            "updated_at, opted_out, unreachable) FROM STDIN") as copy:
        now = datetime(2026, 11, 1, tzinfo=UTC)
        for i in range(first, last + 1):
            copy.write_row((i, "sms", uuid.uuid4().hex, "closed", "en", now, now, False,
                            False))


def _profiles(raw, rng: random.Random) -> None:
    """Fill the yearly profile counts (their size does not grow with the cases)."""
    victim = {d: [o.id for o in s.options] for s in MONITORING_STEPS
              for d, step_id in VICTIM_DIMENSIONS.items() if step_id == s.id}
    rows = []
    for year in (2024, 2025, 2026):
        for hate in (True, False):
            for dimension, values in victim.items():
                rows += [(year, hate, "victim", dimension, v, rng.randint(0, 400))
                         for v in [*values, "not_answered"]]
            for dimension, options in PERPETRATOR_FIELDS.items():
                rows += [(year, hate, "perpetrator", dimension, code, rng.randint(0, 400))
                         for code, _label in [*options, ("not_recorded", "")]]
    with raw.cursor() as cur:
        cur.execute("DELETE FROM profile_counts")
        with cur.copy("COPY profile_counts (year, hate_related, subject, dimension, value, "
                      "n) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def fill(db: Database, count: int, sealed: bytes, rng: random.Random, seen: set[str]) -> float:
    """COPY `count` more cases (and their conversations) in; return the seconds it took."""
    started = time.monotonic()
    raw = db.engine.raw_connection()
    try:
        had = len(seen) // CASES_PER_CONVERSATION
        conversations = (len(seen) + count) // CASES_PER_CONVERSATION
        _conversations(raw, had + 1, conversations)
        with raw.cursor() as cur, cur.copy(
                f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(count, sealed, rng, seen, conversations):
                copy.write_row(row)
        with raw.cursor() as cur:
            # Residents who were asked how we did, and answered (13.1).
            cur.execute("INSERT INTO satisfaction_surveys (case_id, conversation_id, locale, "
                        "status, asked_at, satisfaction, report_again, answered_at, "
                        "misunderstood) SELECT id, conversation_id, 'en', 'answered', "
                        "closed_at, 1 + id % 5, 'yes', closed_at, 0 FROM cases WHERE "
                        "status = 'closed' AND conversation_id IS NOT NULL AND id % 20 = 0 "
                        "ON CONFLICT (case_id) DO NOTHING")
        _profiles(raw, rng)
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
    parser.add_argument("--sizes", default="10000,100000,300000,1000000")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--monitoring-runs", type=int, default=12)
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
            settings = make_settings(Path(tmp), url, **CHEAP_ARGON2)
            services = build_services(settings)
            app = create_app(services=services)
            client = app.test_client()
            with services.db.write() as session:
                token = create_api_token(session, "bench")
                create_user(session, services, "analyst", "analyst", PASSWORD)
            headers = {"Authorization": f"Bearer {token}"}
            analyst = app.test_client()
            login(analyst, "analyst")
            sealed = services.vault.seal_json({"narrative": "fictional " * 40})
            rng, seen, have = random.Random(7), set(), 0  # noqa: S311 - reproducible test data
            print(f"{'cases':>9} {'fill s':>7} {'SELECT 1 p50/p99':>18} "
                  f"{'queue page p50/p99':>20} {'case page p50/p99':>19} "
                  f"{'cases in 2025':>13} {'monitoring 2025 p50/p99':>24}")
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
                with services.db.read() as session:
                    in_year = session.execute(text(
                        "SELECT count(*) FROM cases WHERE received_at >= '2025-01-01' "
                        "AND received_at < '2026-01-01'")).scalar_one()
                page = analyst.get("/console/reports?year=2025&scope=all")
                if page.status_code != 200 or "Cases by strand" not in page.text:
                    raise SystemExit(f"monitoring page failed: {page.status_code}")
                monitor = timings(lambda: analyst.get("/console/reports?year=2025&scope=all"),
                                  args.monitoring_runs)
                results[size] = (queue, case, monitor)
                deep[size] = _deep_pages(services, client, headers, size, args.runs)
                print(f"{size:>9} {took:>7.1f} {bare[0]:>8.2f}/{bare[1]:<8.2f} ms "
                      f"{queue[0]:>9.2f}/{queue[1]:<8.2f} ms {case[0]:>8.2f}/{case[1]:<8.2f} ms"
                      f" {in_year:>13} {monitor[0]:>11.0f}/{monitor[1]:<8.0f} ms", flush=True)
            print(f"\n{'cases':>9} {'middle of the queue':>40} {'middle of every case':>22}")
            print(f"{'':>9} {'cursor p50/p99':>19} {'offset p50/p99':>20} "
                  f"{'received, cursor p50/p99':>25}")
            for size, (queue_cursor, queue_offset, received) in deep.items():
                print(f"{size:>9} {queue_cursor[0]:>8.2f}/{queue_cursor[1]:<8.2f} ms "
                      f"{queue_offset[0]:>8.2f}/{queue_offset[1]:<8.2f} ms "
                      f"{received[0]:>12.2f}/{received[1]:<8.2f} ms")
            small, large = results[sizes[0]], results[sizes[-1]]
            print(f"growth {sizes[0]} -> {sizes[-1]}: queue p50 x{large[0][0] / small[0][0]:.2f}"
                  f", case page p50 x{large[1][0] / small[1][0]:.2f}"
                  f", monitoring p50 x{large[2][0] / small[2][0]:.2f}")
            services.db.dispose()
    finally:
        with admin.write() as session:
            session.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
