"""Numbered options under free-text questions on SMS (issue 12): "1. Skip this question"
typed as 1 skips, at every optional text step, and no option number is ever stored."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import create_app
from bot.models import Case
from bot.services import build_services
from flows.engine import Kind
from flows.report import REPORT_STEPS
from tests.channels.twilio_support import TwilioResident, twilio_env
from tests.conftest import make_settings
from tests.databases import migrated
from tests.helpers import runner_of

OPTIONAL_TEXT = {s.id for s in REPORT_STEPS if s.kind is Kind.TEXT and s.optional}

# A daughter reporting for her father: the path on which every optional text step applies.
ANSWERS = {
    "immediate_danger": "2", "reporter_role": "3", "anonymous": "1",
    "reporter_name": "Jo Example", "victim_aware": "1",
    "narrative": "Somebody keeps knocking on his door at night and running away.",
    "incident_when": "1", "location_type": "1", "perception": "2", "repair_needed": "2",
    "contact_method": "1", "leave_message": "1", "review": "1", "details_offer": "1",
    "incident_types": "3", "perpetrator_known": "1", "evidence": "3", "impact": "1",
    "language_needs": "2", "interview": "4", "consent_police": "2", "consent_council": "2",
    "consent_support": "2",
}


def test_one_skips_every_optional_text_step_on_sms(tmp_path):
    settings = make_settings(tmp_path, **twilio_env(TWILIO_RATE_LIMIT_PER_MINUTE="100"))
    migrated(settings.database_url)
    services = build_services(settings)
    client = create_app(services=services).test_client()
    resident = TwilioResident(client, "sms")
    runner = runner_of(services)
    resident.start()
    skipped, review = [], ""
    for _ in range(60):
        view = runner.peek("sms", resident.number)
        asked = view.question if view else None
        if asked is None:
            break
        if asked in OPTIONAL_TEXT:
            said = resident.says("1")
            skipped.append(asked)
            assert not any("not one of the options" in b for b in said), asked
        else:
            said = resident.says(ANSWERS[asked])
        if asked == "leave_message":
            review = "\n".join(said)
    assert set(skipped) == OPTIONAL_TEXT, sorted(OPTIONAL_TEXT - set(skipped))
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
    details = services.store.details(case)
    assert not OPTIONAL_TEXT & set(details), details
    assert "1" not in details.values()
    assert "The person it happened to: (skipped)" in review
    assert "Address: (skipped)" in review
    services.db.dispose()
