"""Where personal data lives in the schema, found by inspection rather than by a list.

A sealed column is any column named ``*_enc`` (bytes sealed by `bot.crypto.Vault`); a blind
index is any column named ``*_index`` (a keyed hash). Key rotation and backups read the live
database's own schema, so a table added later is covered without anyone remembering to add
it; a blind index cannot be recomputed without knowing what it hashes, so each one is named
in `BLIND_INDEXES` and an unknown one stops a rotation before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, inspect

SEALED_SUFFIX = "_enc"
INDEX_SUFFIX = "_index"

# Every blind index and how `bot.rotation` recomputes it under the new key. A new
# `*_index` column must be added here (tests/test_sealed_coverage.py fails until it is).
BLIND_INDEXES: dict[tuple[str, str], str] = {
    ("conversations", "sender_index"): "recomputed from the conversation's sealed sender",
    ("subject_identifiers", "value_index"): "recomputed from the case's sealed contact "
                                            "details",
    ("telegram_chats", "chat_index"): "follows its Telegram conversation's sender_index",
    ("sender_rates", "sender_index"): "follows its conversation's sender_index",
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
