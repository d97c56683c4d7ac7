"""Backups, key rotation, retention and subject search on a realistically sized instance.

    python bench/maintenance.py [--cases 10000] [--postgres URL]

Fills a fresh SQLite database (and a PostgreSQL schema when --postgres is given) with
fictional cases, each with its conversation, ten kept replies, an officer's note and contact
details, every personal value sealed separately. Then times, and prints:
`reportbot backup`'s snapshot and restore (SQLite), `keys check`, a full `keys rotate`, a
retention run that erases half the cases, and finding a resident by phone number.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from bot import backup, key_usage, retention, rotation, subjects  # noqa: E402
from bot.crypto import Vault  # noqa: E402
from bot.db import Database, upgrade_database  # noqa: E402
from bot.models import (  # noqa: E402
    Case,
    CaseNote,
    Conversation,
    InboundMessage,
    SubjectIdentifier,
    utcnow,
)
from bot.reference import new_reference  # noqa: E402
from bot.services import build_services  # noqa: E402
from tests.conftest import TEST_SECRET, make_settings  # noqa: E402

NEW_SECRET = "bench-new-secret-key-0123456789abcdefghijklmnopqrstuv"  # noqa: S105 - fictional
CHUNK = 1000


def _fill(db: Database, vault: Vault, cases: int) -> None:
    now = utcnow()
    for start in range(0, cases, CHUNK):
        n = min(CHUNK, cases - start)
        with db.write() as session:
            conv_ids = session.execute(insert(Conversation).returning(Conversation.id), [{
                "channel": "sms", "sender_index": vault.index("sms", _phone(start + i)),
                "sender_enc": vault.seal(_phone(start + i)), "phase": "closed",
                "locale": "en", "created_at": now, "updated_at": now, "opted_out": False,
                "unreachable": False} for i in range(n)]).scalars().all()
            details = [{"reporter_name": "Sam Fictional", "narrative": "Shouted at on the "
                        "stairs by a neighbour. " * 8, "contact_details": _phone(start + i)}
                       for i in range(n)]
            case_ids = session.execute(insert(Case).returning(Case.id), [{
                "reference": new_reference(), "status": "closed", "priority": "high",
                "priority_rank": 0, "hate_related": True, "strands": ["religion"],
                "perceived_by": ["victim"], "prejudice_indicators": [],
                "reporter_role": "victim", "anonymous": False, "channel": "sms",
                "language": "en", "received_at": now - timedelta(days=3000),
                "counts_from": now - timedelta(days=3000), "out_of_hours": False,
                "first_contact_due": now, "action_plan_due": now, "incident_types": [],
                "immediate_danger": False, "repair_needed": False, "answers": {},
                "details_enc": vault.seal_json(d), "conversation_id": c,
                "closed_at": now - timedelta(days=(2900 if i % 2 else 100)),
                "created_at": now} for i, (d, c) in enumerate(zip(details, conv_ids,
                                                                   strict=True))]
            ).scalars().all()
            session.execute(insert(InboundMessage), [{
                "channel": "sms", "message_key": uuid.uuid4().hex, "conversation_id": c,
                "received_at": now, "replies_enc": vault.seal_json([{"text": "x" * 200}])}
                for c in conv_ids for _ in range(10)])
            session.execute(insert(CaseNote), [{
                "case_id": c, "at": now, "author": "officer", "kind": "note",
                "text_enc": vault.seal("Visited; spoke to the resident.")} for c in case_ids])
            session.execute(insert(SubjectIdentifier), [{
                "case_id": c, "kind": "phone", "role": "reporter",
                "value_index": vault.index("subject:phone", _phone(start + i))}
                for i, c in enumerate(case_ids)])


def _phone(i: int) -> str:
    return f"+4477009{i:05d}"


def _timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"  {label:<44} {time.perf_counter() - started:8.2f} s")
    return result


def run(url: str, cases: int, workdir: Path, name: str) -> None:
    print(f"{name}: {cases} cases, {cases} conversations, {10 * cases} kept replies, "
          f"{cases} notes")
    upgrade_database(url)
    services = build_services(make_settings(workdir, url))
    _timed("fill", lambda: _fill(services.db, services.vault, cases))
    usage = _timed("keys check", lambda: key_usage.check(services.db, services.vault))
    values = usage.sealed[0]
    if services.settings.is_sqlite:
        archive = workdir / "bench.tar.gz"
        _timed("backup (snapshot, check, archive)",
               lambda: backup.backup(services.settings, services.vault, archive))
        print(f"  {'backup size':<44} {archive.stat().st_size / 1e6:8.1f} MB "
              f"(database {Path(url[10:]).stat().st_size / 1e6:.1f} MB)")
        target = make_settings(workdir, f"sqlite:///{workdir / 'restored' / 'r.sqlite'}")
        _timed("restore", lambda: backup.restore(target, services.vault, archive))
    rotated = replace(services.settings, secret_keys=(NEW_SECRET, TEST_SECRET))
    vault = Vault(rotated.secret_keys)
    started = time.perf_counter()
    result = rotation.rotate(services.db, vault)
    took = time.perf_counter() - started
    print(f"  {'keys rotate (one pass + final check)':<44} {took:8.2f} s  "
          f"{result.resealed / took:,.0f} values/s, {values} values, "
          f"{result.reindexed} indexes")
    lookups = []
    with services.db.read() as session:
        for i in range(0, cases, max(1, cases // 200)):
            t0 = time.perf_counter()
            subjects.find(session, vault, subjects.Identifier("phone", _phone(i)))
            lookups.append((time.perf_counter() - t0) * 1000)
    print(f"  {'find a resident by phone (p50 / max)':<44} "
          f"{statistics.median(lookups):8.2f} / {max(lookups):.2f} ms")
    services_rotated = build_services(rotated, db=services.db)
    erased = _timed("retention run (erases half the cases)",
                    lambda: retention.run(services_rotated))
    print(f"  {'':<44} {erased.cases} cases erased")
    services.db.dispose()


def main() -> None:
    """Run the benchmark on SQLite, then PostgreSQL if asked."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        run(f"sqlite:///{work / 'bench.sqlite'}", args.cases, work, "SQLite")
    if args.postgres:
        base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = Database(base)
        with admin.write() as session:
            session.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            with tempfile.TemporaryDirectory() as tmp:
                joiner = "&" if "?" in base else "?"
                run(f"{base}{joiner}options=-csearch_path%3D{schema}", args.cases, Path(tmp),
                    "PostgreSQL")
        finally:
            with admin.write() as session:
                session.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

if __name__ == "__main__":
    main()
