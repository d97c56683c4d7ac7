"""Migrations keep history: cases stored before working-time deadlines keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    create_engine,
    select,
)

from bot.db import upgrade_database
from bot.models import Case
from bot.services import build_services
from tests.conftest import make_settings

SUNDAY_0340 = datetime(2026, 11, 29, 3, 40, tzinfo=UTC)
OLD_RULE_DUE = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # "close of business on Tuesday"


def _value(column, vault):
    """A plausible value for a required column of the old schema."""
    if isinstance(column.type, Boolean):
        return False
    if isinstance(column.type, DateTime):
        return SUNDAY_0340
    if isinstance(column.type, JSON):
        return {} if column.name == "answers" else []
    if isinstance(column.type, LargeBinary):
        return vault.seal_json({})
    if isinstance(column.type, Integer):
        return 1
    return "victim"


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres",
                                                          marks=pytest.mark.postgres)])
def test_a_case_stored_under_the_old_rule_keeps_its_deadlines(tmp_path, request, engine):
    url = (f"sqlite:///{tmp_path / 'instance' / 'reportbot.sqlite'}" if engine == "sqlite"
           else request.getfixturevalue("blank_pg_url"))
    settings = make_settings(tmp_path, url)
    upgrade_database(url, revision="0003_merge")
    services = build_services(settings)
    raw = create_engine(url)
    cases = Table("cases", MetaData(), autoload_with=raw)
    row = {c.name: _value(c, services.vault) for c in cases.columns
           if not c.nullable and not c.primary_key}
    row.update(reference="K7QMX-9RDTV", status="new", priority="high", priority_rank=0,
               hate_related=True, received_at=SUNDAY_0340, out_of_hours=True,
               counts_from=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
               first_contact_due=OLD_RULE_DUE, next_deadline=OLD_RULE_DUE,
               action_plan_due=datetime(2026, 12, 14, 17, 0, tzinfo=UTC))
    if engine == "sqlite":
        row = {k: v.replace(tzinfo=None) if isinstance(v, datetime) else v
               for k, v in row.items()}
    with raw.begin() as conn:
        conn.execute(cases.insert().values(**row))
    raw.dispose()

    upgrade_database(url)

    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
        assert case.first_contact_due == OLD_RULE_DUE and case.next_deadline == OLD_RULE_DUE
        assert case.deadline_rule == "close_of_day" and case.answer_times is None
    # The same report arriving today would be due a day earlier, at Monday's close.
    assert services.calendar.due(SUNDAY_0340, 1) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    services.db.dispose()
