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
  repeat until `check` finds nothing left under an old key.

`check` counts, for every configured key, the sealed values and blind indexes still under
it, so an operator knows when the old key can be removed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import sealed, subjects
from bot.crypto import Vault
from bot.db import Database
from bot.models import Case, Conversation, SenderRate, SubjectIdentifier, TelegramChat

BATCH_ROWS = 200
BATCH_BYTES = 16 * 1024 * 1024
MAX_PASSES = 10
TELEGRAM = "telegram"

Report = Callable[[str], None]


class RotationRefused(Exception):
    """Rotation cannot start; the message says what to do first."""


@dataclass
class KeyUsage:
    """What is still sealed or indexed under each configured key."""

    fingerprints: tuple[str, ...]
    sealed: Counter = field(default_factory=Counter)      # key position -> values
    indexes: Counter = field(default_factory=Counter)     # key position -> blind indexes
    by_table: dict[str, Counter] = field(default_factory=dict)
    unreadable: int = 0

    def in_use(self, position: int) -> bool:
        """Return whether anything is still sealed or indexed under key `position`."""
        return bool(self.sealed[position] or self.indexes[position])

    @property
    def old_keys_in_use(self) -> list[str]:
        """Return the fingerprints of the older keys that something still needs."""
        return [fp for i, fp in enumerate(self.fingerprints) if i and self.in_use(i)]

    @property
    def fingerprints_in_use(self) -> list[str]:
        """Return the fingerprints of every key that something still needs."""
        return [fp for i, fp in enumerate(self.fingerprints) if self.in_use(i)]


@dataclass
class RotationResult:
    """What a rotation did, and what is left."""

    resealed: int = 0
    reindexed: int = 0
    conflicts: int = 0
    passes: int = 0
    usage: KeyUsage | None = None


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
        tables = _reflect(conn)
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
        result.usage = check(db, vault)
        if not result.usage.old_keys_in_use or result.resealed + result.reindexed == before:
            break  # done, or nothing more this command can change (see `conflicts`)
        # Rows a turn held locked were skipped (PostgreSQL); go round for them.
        say(f"pass {result.passes}: some rows were busy; going round again")
        time.sleep(1.0)
    return result


def _reflect(conn: Connection) -> list[tuple[Table, tuple[str, ...]]]:
    """Return the live tables with sealed columns; conversations first (they lead indexes)."""
    metadata = MetaData()
    found = []
    for info in sealed.live_sealed_tables(conn):
        table = Table(info.name, metadata, autoload_with=conn)
        found.append((table, info.sealed))
    found.sort(key=lambda item: item[0].name != Conversation.__tablename__)
    return found


def _pk(table: Table):
    columns = list(table.primary_key.columns)
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def _pk_value(table: Table, row) -> object:
    names = [c.name for c in table.primary_key.columns]
    values = tuple(row._mapping[n] for n in names)
    return values[0] if len(values) == 1 else values


def _batches(db: Database, table: Table, columns: tuple[str, ...],
             batch_rows: int) -> Iterator[list]:
    """Yield primary keys in order, a batch at a time, cut to a byte budget."""
    pk = _pk(table)
    size = sum((func.coalesce(func.length(table.c[name]), 0) for name in columns),
               start=0)
    after = None
    while True:
        query = select(*table.primary_key.columns, size.label("size")).order_by(
            *table.primary_key.columns).limit(batch_rows)
        if after is not None:
            query = query.where(pk > after)
        with db.read() as session:
            rows = session.execute(query).all()
        if not rows:
            return
        batch, total = [], 0
        for row in rows:
            if batch and total + (row.size or 0) > BATCH_BYTES:
                break
            batch.append(_pk_value(table, row))
            total += row.size or 0
        yield batch
        after = batch[-1]


def _reseal_table(db: Database, vault: Vault, table: Table, columns: tuple[str, ...],
                  batch_rows: int, pause: float, result: RotationResult, say: Report) -> None:
    checked = changed = 0
    is_conversations = table.name == Conversation.__tablename__
    for keys in _batches(db, table, columns, batch_rows):
        with db.write() as session:
            rows = session.execute(select(*table.primary_key.columns,
                                          *[table.c[n] for n in columns],
                                          *_extra_columns(table, is_conversations))
                                   .where(_pk(table).in_(keys))
                                   .with_for_update(skip_locked=True)).all()
            updates = []
            for row in rows:
                values = {name: vault.rotate(token) for name in columns
                          if (token := _bytes(row._mapping[name])) is not None
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
    token = values.get("sender_enc") or _bytes(row.sender_enc)
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
        plain = vault.open(values.get("sender_enc") or _bytes(row.sender_enc)).decode()
        candidates = vault.indexes(row.channel, plain)[1:]
        older.setdefault(row.channel, []).extend(candidates)
        if row.channel == TELEGRAM:
            _move_telegram_chat(session, candidates, values["sender_index"])
    # Per-minute counters are short-lived: dropping the old ones restarts one minute's
    # count for these senders rather than risk two rows for one window.
    for channel, indexes in older.items():
        session.execute(delete(SenderRate).where(SenderRate.channel == channel,
                                                 SenderRate.sender_index.in_(indexes)))


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


def _bytes(value) -> bytes | None:
    return bytes(value) if value is not None else None


# ---- checking ----------------------------------------------------------------------------

def check(db: Database, vault: Vault, *, batch_rows: int = 1000) -> KeyUsage:
    """Count the sealed values and blind indexes under each configured key."""
    usage = KeyUsage(vault.fingerprints)
    with db.engine.connect() as conn:
        tables = _reflect(conn)
    for table, columns in tables:
        counter = usage.by_table.setdefault(table.name, Counter())
        for keys in _batches(db, table, columns, batch_rows):
            with db.read() as session:
                rows = session.execute(select(*[table.c[n] for n in columns]).where(
                    _pk(table).in_(keys))).all()
            for row in rows:
                for token in row:
                    if token is None:
                        continue
                    position = vault.key_position(_bytes(token))
                    if position is None:
                        usage.unreadable += 1
                        counter["unreadable"] += 1
                    else:
                        usage.sealed[position] += 1
                        counter[position] += 1
    _count_conversation_indexes(db, vault, usage, batch_rows)
    _count_subject_indexes(db, vault, usage, batch_rows)
    return usage


def _count_conversation_indexes(db: Database, vault: Vault, usage: KeyUsage,
                                batch_rows: int) -> None:
    after = 0
    while True:
        with db.read() as session:
            rows = session.execute(
                select(Conversation.id, Conversation.channel, Conversation.sender_index,
                       Conversation.sender_enc)
                .where(Conversation.id > after, Conversation.sender_enc.is_not(None))
                .order_by(Conversation.id).limit(batch_rows)).all()
        if not rows:
            return
        for row in rows:
            if vault.key_position(_bytes(row.sender_enc)) is None:
                continue  # counted as unreadable above
            candidates = vault.indexes(row.channel, vault.open(_bytes(row.sender_enc))
                                       .decode())
            _count_index(usage, candidates, row.sender_index)
        after = rows[-1].id


def _count_subject_indexes(db: Database, vault: Vault, usage: KeyUsage,
                           batch_rows: int) -> None:
    after = 0
    while True:
        with db.read() as session:
            cases = session.scalars(select(Case).where(Case.id > after).order_by(Case.id)
                                    .limit(batch_rows)).all()
            if not cases:
                return
            stored = session.execute(select(SubjectIdentifier).where(and_(
                SubjectIdentifier.case_id >= cases[0].id,
                SubjectIdentifier.case_id <= cases[-1].id))).scalars().all()
        by_case: dict[int, list] = {}
        for item in stored:
            by_case.setdefault(item.case_id, []).append(item)
        for case in cases:
            items = by_case.get(case.id)
            if not items or vault.key_position(case.details_enc) is None:
                continue
            wanted = {}
            for kind, _role, value in subjects.identifiers_of(vault.open_json(
                    case.details_enc) or {}):
                wanted.update({index: position for position, index in enumerate(
                    vault.indexes(f"subject:{kind}", value))})
            for item in items:
                position = wanted.get(item.value_index)
                if position is None:
                    usage.unreadable += 1
                else:
                    usage.indexes[position] += 1
        after = cases[-1].id


def _count_index(usage: KeyUsage, candidates: tuple[str, ...], stored: str) -> None:
    if stored in candidates:
        usage.indexes[candidates.index(stored)] += 1
    elif not stored.startswith("erased:"):
        usage.unreadable += 1
