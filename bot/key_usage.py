"""Which configured keys the data still needs: sealed values and blind indexes, per key.

Only signatures are checked for sealed values (nothing is decrypted); a blind index is
attributed to a key by recomputing it from the value it hashes, so conversations' senders
and cases' contact details are opened. Used by `reportbot keys check`, at the end of a
rotation, and to write a backup's manifest.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import and_, select

from bot import sealed, subjects
from bot.crypto import Vault
from bot.db import Database
from bot.models import Case, Conversation, SubjectIdentifier


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


def check(db: Database, vault: Vault, *, batch_rows: int = 1000) -> KeyUsage:
    """Count the sealed values and blind indexes under each configured key."""
    usage = KeyUsage(vault.fingerprints)
    with db.engine.connect() as conn:
        tables = sealed.reflect(conn)
    for table, columns in tables:
        counter = usage.by_table.setdefault(table.name, Counter())
        for keys in sealed.pk_batches(db, table, columns, batch_rows):
            with db.read() as session:
                rows = session.execute(select(*[table.c[n] for n in columns]).where(
                    sealed.pk_of(table).in_(keys))).all()
            for row in rows:
                for token in row:
                    if token is None:
                        continue
                    position = vault.key_position(sealed.as_bytes(token))
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
            if vault.key_position(sealed.as_bytes(row.sender_enc)) is None:
                continue  # counted as unreadable above
            candidates = vault.indexes(row.channel, vault.open(sealed.as_bytes(row.sender_enc))
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
