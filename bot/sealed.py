"""Where personal data lives in the schema, found by inspection rather than by a list.

A sealed column is any column named ``*_enc`` (bytes sealed by `bot.crypto.Vault`); a blind
index is any column named ``*_index`` (a keyed hash). Key rotation and backups read the live
database's own schema, so a table added later is covered without anyone remembering to add
it; a blind index cannot be recomputed without knowing what it hashes, so each one is named
in `BLIND_INDEXES` and an unknown one stops a rotation before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, Table, func, inspect, select, tuple_

from bot.db import Database

SEALED_SUFFIX = "_enc"
INDEX_SUFFIX = "_index"
BATCH_BYTES = 16 * 1024 * 1024

# Every blind index and how `bot.rotation` recomputes it under the new key. A new
# `*_index` column must be added here (tests/test_sealed_coverage.py fails until it is).
BLIND_INDEXES: dict[tuple[str, str], str] = {
    ("conversations", "sender_index"): "recomputed from the conversation's sealed sender",
    ("subject_identifiers", "value_index"): "recomputed from the case's sealed contact "
                                            "details",
    ("telegram_chats", "chat_index"): "follows its Telegram conversation's sender_index",
    ("rate_counts", "key_index"): "per-sender counts (kind = the channel) follow their "
                                  "conversation's sender_index; others (client addresses) "
                                  "are dropped and counted again under the new key",
    ("follow_up_attempts", "reference_index"): "cleared: wrong follow-up codes are counted "
                                               "again under the new key (typed references "
                                               "are not kept to recompute it)",
    ("login_throttle", "key_index"): "cleared: failed sign-ins are counted again under the "
                                     "new key (names and addresses are not kept to recompute "
                                     "it)",
}


@dataclass(frozen=True)
class SealedTable:
    """A table holding sealed columns, as the live database describes it."""

    name: str
    primary_key: tuple[str, ...]
    sealed: tuple[str, ...]


def sealed_tables_in(metadata: MetaData) -> dict[str, tuple[str, ...]]:
    """Return each table of `metadata` with sealed columns, and those columns."""
    found = {}
    for table in metadata.sorted_tables:
        columns = tuple(c.name for c in table.columns if c.name.endswith(SEALED_SUFFIX))
        if columns:
            found[table.name] = columns
    return found


def index_columns_in(metadata: MetaData) -> set[tuple[str, str]]:
    """Return every (table, column) of `metadata` named like a blind index."""
    return {(t.name, c.name) for t in metadata.sorted_tables for c in t.columns
            if c.name.endswith(INDEX_SUFFIX)}


def live_sealed_tables(conn: Connection) -> list[SealedTable]:
    """Return the tables with sealed columns in the connected database's own schema."""
    inspector = inspect(conn)
    found = []
    for name in sorted(inspector.get_table_names()):
        columns = tuple(c["name"] for c in inspector.get_columns(name)
                        if c["name"].endswith(SEALED_SUFFIX))
        if columns:
            pk = tuple(inspector.get_pk_constraint(name)["constrained_columns"])
            found.append(SealedTable(name, pk, columns))
    return found


def live_unknown_indexes(conn: Connection) -> list[tuple[str, str]]:
    """Return blind-index columns in the database that `BLIND_INDEXES` does not cover."""
    inspector = inspect(conn)
    return sorted((table, c["name"]) for table in inspector.get_table_names()
                  for c in inspector.get_columns(table)
                  if c["name"].endswith(INDEX_SUFFIX) and (table, c["name"])
                  not in BLIND_INDEXES)


# ---- walking the sealed tables of a live database ------------------------------------------

def reflect(conn: Connection) -> list[tuple[Table, tuple[str, ...]]]:
    """Return the live tables with sealed columns; conversations first (they lead indexes)."""
    metadata = MetaData()
    found = []
    for info in live_sealed_tables(conn):
        table = Table(info.name, metadata, autoload_with=conn)
        found.append((table, info.sealed))
    found.sort(key=lambda item: item[0].name != "conversations")
    return found


def pk_of(table: Table):
    """Return the table's primary key as one comparable expression."""
    columns = list(table.primary_key.columns)
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def _pk_value(table: Table, row) -> object:
    values = tuple(row._mapping[c.name] for c in table.primary_key.columns)
    return values[0] if len(values) == 1 else values


def pk_batches(db: Database, table: Table, columns: tuple[str, ...],
               batch_rows: int) -> Iterator[list]:
    """Yield primary keys in order, a batch at a time, cut to a byte budget."""
    pk = pk_of(table)
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


def as_bytes(value) -> bytes | None:
    """Return a sealed value as bytes (PostgreSQL drivers may give a memoryview)."""
    return bytes(value) if value is not None else None
