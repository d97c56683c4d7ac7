"""Cases made quickly for API tests: stored through the real case store."""

from __future__ import annotations

from datetime import datetime

from bot.intake import CaseDraft


def draft(hate: bool = True, strands: list[str] | None = None) -> CaseDraft:
    """Return a fictional finished report's case fields."""
    return CaseDraft(
        hate_related=hate, strands=strands or (["religion"] if hate else []),
        perceived_by=["victim"] if hate else [], prejudice_indicators=[],
        reporter_role="victim", anonymous=False, incident_types=["harassment"],
        location_type="home", immediate_danger=False, repair_needed=False,
        preserve_evidence=None, choice_answers={"reporter_role": "victim"},
        personal={"narrative": "fictional", "reporter_name": "Alex Fictional"},
        consents=[],
    )


def store_case(services, received_at: datetime, hate: bool = True) -> str:
    """Store one case received at `received_at`; return its reference."""
    with services.db.write() as session:
        case = services.store.create(session, draft(hate), channel="webchat",
                                     language="en", received_at=received_at)
        return case.reference
