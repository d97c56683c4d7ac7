"""Key rotation: re-seal every personal field and recompute every blind index under the new key.

The new key goes first in the configured list (REPORTBOT_SECRET_KEY, or the instance's key
file) on every process before `rotate` runs: then the service reads rows under either key,
writes under the new one, and finds a resident by an index made with either key. `rotate`
walks every table of the live schema that has sealed columns (see `bot.sealed`), a small
batch per transaction, and re-seals what is not yet under the first key:

- Resumable: a batch is committed whole or not at all, and a row already under the first
  key is skipped, so after a crash (even SIGKILL) running it again carries on.
- Safe while serving: on SQLite each batch holds the writer lock, so no turn interleaves;
  on PostgreSQL the batch's rows are locked with SKIP LOCKED, so a turn holding one is never
  waited for or deadlocked with; the rows skipped are picked up by the next pass. Passes
  repeat until `bot.key_usage.check` finds nothing left under an old key, which is when the
  old key can be removed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import key_usage, sealed, subjects
from bot.crypto import Vault
from bot.db import Database
from bot.models import (
    Case,
    Conversation,
    FollowUpAttempt,
    LoginThrottle,
    RateCount,
    TelegramChat,
)
from bot.ratelimit import ADDRESS_KINDS

BATCH_ROWS = 200
MAX_PASSES = 10
TELEGRAM = "telegram"

Report = Callable[[str], None]


class RotationRefused(Exception):
    """Rotation cannot start; the message says what to do first."""


@dataclass
class RotationResult:
    """What a rotation did, and what is left."""

    resealed: int = 0
    reindexed: int = 0
    conflicts: int = 0
    passes: int = 0
    usage: key_usage.KeyUsage | None = None


# ---- rotation ----------------------------------------------------------------------------

def rotate(db: Database, vault: Vault, *, batch_rows: int = BATCH_ROWS, pause: float = 0.0,
           report: Report | None = None) -> RotationResult:
    """Re-seal and re-index everything under the first configured key; resumable."""
    say = report or (lambda _line: None)
    if len(vault.fingerprints) < 2:
        raise RotationRefused(
            "only one key is configured: put a new key first in the list (reportbot keys "
            "add, or REPORTBOT_SECRET_KEY=new,old), restart every serve and worker process, "
            "then run this again")
    with db.engine.connect() as conn:
        unknown = sealed.live_unknown_indexes(conn)
        tables = sealed.reflect(conn)
    if unknown:
        names = ", ".join(f"{t}.{c}" for t, c in unknown)
        raise RotationRefused(f"blind index column(s) {names} are not covered by "
                              "bot/sealed.py BLIND_INDEXES; nothing was changed")
    result = RotationResult()
    for _ in range(MAX_PASSES):
        result.passes += 1
        result.conflicts = 0  # the rows still in conflict after the last pass
        before = result.resealed + result.reindexed
        for table in tables:
            _reseal_table(db, vault, *table, batch_rows, pause, result, say)
        _reindex_subjects(db, vault, batch_rows, pause, result, say)
        with db.write() as session:
            # Keyed by hashes of names and addresses we never stored: start the counts again.
            session.execute(delete(LoginThrottle))
            session.execute(delete(RateCount).where(RateCount.kind.in_(ADDRESS_KINDS)))
            session.execute(delete(FollowUpAttempt))
        result.usage = key_usage.check(db, vault)
        if not result.usage.old_keys_in_use or result.resealed + result.reindexed == before:
            break  # done, or nothing more this command can change (see `conflicts`)
        # Rows a turn held locked were skipped (PostgreSQL); go round for them.
        say(f"pass {result.passes}: some rows were busy; going round again")
        time.sleep(1.0)
    return result


def _reseal_table(db: Database, vault: Vault, table: Table, columns: tuple[str, ...],
                  batch_rows: int, pause: float, result: RotationResult, say: Report) -> None:
    checked = changed = 0
    is_conversations = table.name == Conversation.__tablename__
    for keys in sealed.pk_batches(db, table, columns, batch_rows):
        with db.write() as session:
            rows = session.execute(select(*table.primary_key.columns,
                                          *[table.c[n] for n in columns],
                                          *_extra_columns(table, is_conversations))
                                   .where(sealed.pk_of(table).in_(keys))
                                   .with_for_update(skip_locked=True)).all()
            updates = []
            for row in rows:
                values = {name: vault.rotate(token) for name in columns
                          if (token := sealed.as_bytes(row._mapping[name])) is not None
                          and vault.key_position(token) not in (0, None)}
                if is_conversations:
                    _new_index(vault, row, values)
                if values:
                    updates.append((row, values))
            changed += _save(session, vault, table, updates, result)
            checked += len(rows)
        say(f"{table.name}: {checked} rows checked, {changed} re-sealed or re-indexed")
        if pause:
            time.sleep(pause)


def _extra_columns(table: Table, is_conversations: bool) -> list:
    return [table.c.channel, table.c.sender_index] if is_conversations else []


def _new_index(vault: Vault, row, values: dict) -> None:
    """Add the conversation's index under the first key to `values`, if it changes."""
    token = values.get("sender_enc") or sealed.as_bytes(row.sender_enc)
    if token is None or vault.key_position(token) is None:
        return
    current = vault.index(row.channel, vault.open(token).decode())
    if row.sender_index != current:
        values["sender_index"] = current


def _save(session: Session, vault: Vault, table: Table, updates: list,
          result: RotationResult) -> int:
    """Write the batch with one statement per set of changed columns; return rows saved.

    A new conversation index can collide with a conversation a process without the new
    key created for the same sender; then the batch is saved row by row and that row is
    left as it was (counted in `conflicts`; `check` keeps reporting the old key).
    """
    if not updates:
        return 0
    try:
        with session.begin_nested():
            _execute_many(session, table, updates)
        saved = updates
    except IntegrityError:
        saved = []
        for item in updates:
            try:
                with session.begin_nested():
                    _execute_many(session, table, [item])
                saved.append(item)
            except IntegrityError:
                result.conflicts += 1
    for _row, values in saved:
        result.resealed += sum(1 for name in values if name.endswith(sealed.SEALED_SUFFIX))
        if "sender_index" in values:
            result.reindexed += 1
    moved = [(row, values) for row, values in saved if "sender_index" in values]
    if moved:
        _follow_conversations(session, vault, moved)
    return len(saved)


def _execute_many(session: Session, table: Table, updates: list) -> None:
    pk = list(table.primary_key.columns)
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row, values in updates:
        params = {f"pk_{c.name}": row._mapping[c.name] for c in pk}
        params.update({f"new_{name}": value for name, value in values.items()})
        groups.setdefault(tuple(sorted(values)), []).append(params)
    for names, params in groups.items():
        statement = (update(table)
                     .where(*[c == bindparam(f"pk_{c.name}") for c in pk])
                     .values({name: bindparam(f"new_{name}") for name in names}))
        session.execute(statement, params)


def _follow_conversations(session: Session, vault: Vault, moved: list) -> None:
    """Move the rows keyed by a conversation's old index: rate counters, Telegram chats."""
    older: dict[str, list[str]] = {}
    for row, values in moved:
        plain = vault.open(values.get("sender_enc") or sealed.as_bytes(row.sender_enc)).decode()
        candidates = vault.indexes(row.channel, plain)[1:]
        older.setdefault(row.channel, []).extend(candidates)
        if row.channel == TELEGRAM:
            _move_telegram_chat(session, candidates, values["sender_index"])
    # Per-minute counters are short-lived: dropping the old ones restarts one minute's
    # count for these senders rather than risk two rows for one window.
    for channel, indexes in older.items():
        session.execute(delete(RateCount).where(RateCount.kind == channel,
                                                RateCount.key_index.in_(indexes)))


def _move_telegram_chat(session: Session, older: list[str], current: str) -> None:
    """Re-key the chat's bookkeeping row; if the service already made a new one, keep that."""
    if session.get(TelegramChat, current) is not None:
        session.execute(delete(TelegramChat).where(TelegramChat.chat_index.in_(older)))
        return
    session.execute(update(TelegramChat).where(TelegramChat.chat_index.in_(older))
                    .values(chat_index=current))


def _reindex_subjects(db: Database, vault: Vault, batch_rows: int, pause: float,
                      result: RotationResult, say: Report) -> None:
    """Recompute the contact-detail indexes of every case under the first key."""
    checked = changed = 0
    after = 0
    while True:
        with db.write() as session:
            cases = session.scalars(
                select(Case).where(Case.id > after).order_by(Case.id).limit(batch_rows)
                .with_for_update(skip_locked=True)).all()
            if not cases:
                break
            for case in cases:
                changed += subjects.index_case(session, vault, case)
            checked += len(cases)
            after = cases[-1].id
        say(f"subject_identifiers: {checked} cases checked, {changed} re-indexed")
        if pause:
            time.sleep(pause)
    result.reindexed += changed


