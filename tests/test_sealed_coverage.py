"""Every sealed column and blind index is found, rotated, backed up and erased: a table added
later with personal data fails here until rotation and erasure know what to do with it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, Table, select, text

import bot
import channels
from bot import erasure, sealed
from bot.models import Base, Case
from tests.sealed_support import victim_report


def _import_everything() -> None:
    """Import every module, so every model is in the metadata."""
    for package in (bot, channels):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)


def test_every_binary_column_is_sealed_and_named_so():
    _import_everything()
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            is_binary = isinstance(column.type, LargeBinary)
            assert is_binary == column.name.endswith(sealed.SEALED_SUFFIX), (
                f"{table.name}.{column.name}: personal data is sealed bytes in a column "
                "named *_enc (and only there)")


def test_every_blind_index_can_be_recomputed():
    _import_everything()
    missing = sealed.index_columns_in(Base.metadata) - set(sealed.BLIND_INDEXES)
    assert not missing, f"add {sorted(missing)} to bot/sealed.py BLIND_INDEXES and teach " \
                        "bot/rotation.py to recompute it"


def test_every_table_with_sealed_columns_has_an_erasure_rule():
    _import_everything()
    missing = set(sealed.sealed_tables_in(Base.metadata)) - set(erasure.PERSONAL_DATA)
    assert not missing, f"say in bot/erasure.py PERSONAL_DATA how {sorted(missing)} is " \
                        "erased with a case (and check bot/subject_export.py shows it)"
    assert erasure.unlisted_case_tables() == []


def test_the_migrated_schema_seals_what_the_models_seal(services):
    _import_everything()
    with services.db.engine.connect() as conn:
        live = {t.name: t.sealed for t in sealed.live_sealed_tables(conn)}
        assert sealed.live_unknown_indexes(conn) == []
    assert live == sealed.sealed_tables_in(Base.metadata)


@pytest.fixture
def diary_table(services):
    """A table a later issue might add: personal text, linked to a case, listed nowhere."""
    table = Table("test_diary_entries", Base.metadata,
                  Column("id", Integer, primary_key=True),
                  Column("case_id", ForeignKey("cases.id")),
                  Column("entry_enc", LargeBinary))
    table.create(services.db.engine)
    yield table
    Base.metadata.remove(table)


def test_a_new_case_table_is_flagged_and_still_erased(services, diary_table):
    assert diary_table in erasure.unlisted_case_tables()  # the coverage test above would fail
    reference = victim_report(services)
    with services.db.write() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        session.execute(diary_table.insert().values(
            case_id=case.id, entry_enc=services.vault.seal("a fictional diary entry")))
        case.status = "closed"
        erasure.erase_case(session, services, case, "tester", "test")
    with services.db.read() as session:
        assert session.scalar(text("SELECT entry_enc FROM test_diary_entries")) is None
