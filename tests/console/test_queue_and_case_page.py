"""The queue finds a case by its reference and says what each case is about; the case page
puts the next steps first and speaks to staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.errors import ConfigError
from bot.intake import CaseDraft
from bot.models import Case, CaseEvent
from bot.org import load_organisation
from bot.reference import ALPHABET, check_character
from tests.console.conftest import login, post_form, report


def _case(services, reference: str) -> Case:
    with services.db.read() as session:
        return session.scalar(select(Case).where(Case.reference == reference))


def _other_check(reference: str) -> str:
    """Return the reference with a wrong check character."""
    good = reference[-1]
    return reference[:-1] + next(c for c in ALPHABET if c != good)


def test_search_tolerates_spacing_case_and_a_mistyped_check_character(client, services,
                                                                       staff):
    reference = report(services)
    login(client, "duty1")
    typed = " " + reference.replace("-", " ").lower() + " "
    found = client.get("/console/queue", query_string={"ref": typed})
    assert found.status_code == 302
    assert found.headers["Location"].endswith(f"/console/cases/{reference}")

    slip = client.get("/console/queue", query_string={"ref": _other_check(reference)})
    assert slip.status_code == 404
    assert "Did you mean" in slip.text and f"/console/cases/{reference}" in slip.text

    body = reference.replace("-", "")[:9]
    other = next(c for c in ALPHABET if c != body[0]) + body[1:]
    unknown = other[:5] + "-" + other[5:] + check_character(other)
    nothing = client.get("/console/queue", query_string={"ref": unknown})
    assert nothing.status_code == 404 and "Did you mean" not in nothing.text


def test_queue_says_what_each_case_is_about_and_filters_by_type_and_area(client, services,
                                                                        staff):
    reference = report(services)
    with services.db.write() as session:
        session.scalar(select(Case).where(Case.reference == reference)).area = "Riverside"
    login(client, "duty1")
    page = client.get("/console/queue").text
    row = page[page.index(f'data-reference="{reference}"'):]
    row = row[:row.index("</tr>")]
    # Types, place and strands as labels, never raw ids.
    assert "Verbal abuse, Threats · Shared area, like stairs or a lift, Riverside" in row
    assert "Race or nationality, Religion or belief" in row
    assert "ethnic_origin" not in row and "name_calling" not in row
    assert reference in client.get("/console/queue?type=threats").text
    assert reference not in client.get("/console/queue?type=graffiti").text
    assert reference in client.get("/console/queue?area=Riverside").text
    assert reference not in client.get("/console/queue?area=Eastgate").text
    assert client.get("/console/queue?type=bogus").status_code == 400
    assert client.get("/console/queue?area=Nowhere").status_code == 400


def test_live_queue_counts_cases_that_arrived_since_the_page_was_drawn(client, services,
                                                                      staff):
    first = report(services)
    login(client, "duty1")
    since = int(re.search(r'data-since="(\d+)"', client.get("/console/queue").text)[1])
    assert client.get(f"/console/queue/live?since={since}").json["new"] == 0
    second = report(services, sender="+447700900555")
    live = client.get(f"/console/queue/live?since={since}").json
    assert live["new"] == 1 and live["total"] == 2
    assert second in live["rows"] and first in live["rows"]
    assert 'class="tag new-tag"' in live["rows"]
    assert client.get("/console/queue/live").status_code == 400


def test_case_page_puts_next_steps_first_in_staff_wording(client, services, staff):
    reference = report(services)
    case = _case(services, reference)
    login(client, "duty1")
    page = client.get(f"/console/cases/{reference}").text
    assert page.index("What to do next") < page.index("The report")
    assert page.index("Record first contact") < page.index("The report")
    assert page.index("Claim this case") < page.index("The report")
    # Staff wording, not the resident's.
    assert "Reporter&#39;s name" in page and "The victim" in page
    assert "Your name" not in page and "You are" not in page
    # "Yesterday" becomes the date before the day it was received.
    received = case.received_at.astimezone(ZoneInfo("Europe/London"))
    yesterday = received.date().fromordinal(received.date().toordinal() - 1)
    assert f"<dd>{yesterday.strftime('%a %d %b %Y')}</dd>" in page
    # A hate case offers no lower priority, and a duty officer is told who can close.
    assert 'name="prio-priority"' not in page and "never lowered" in page
    assert 'id="close"' in page and "Case managers and managers can close" in page
    assert 'action="/console/cases/' + reference + '/close"' not in page
    manager = client.application.test_client()
    login(manager, "cm")
    assert f'action="/console/cases/{reference}/close"' in manager.get(
        f"/console/cases/{reference}").text


def _draft(**answers) -> CaseDraft:
    return CaseDraft(
        hate_related=False, strands=[], perceived_by=[], prejudice_indicators=[],
        reporter_role="witness", anonymous=False, incident_types=["harassment"],
        location_type="estate", immediate_danger=False, repair_needed=False,
        preserve_evidence=None, choice_answers={"reporter_role": "witness", **answers},
        personal={"narrative": "Fictional: shouting in the car park."}, consents=[])


def test_unasked_details_show_as_not_asked_and_no_repair_form_unless_asked(client, services,
                                                                           staff):
    with services.db.write() as session:
        reference = services.store.create(
            session, _draft(repair_needed="no", incident_when="this_week"),
            channel="webchat", language="en",
            received_at=datetime(2026, 11, 19, 10, tzinfo=UTC)).reference
    login(client, "duty1")
    page = client.get(f"/console/cases/{reference}").text
    assert '<dd class="missing">Not answered yet</dd>' in page
    assert 'id="repair"' not in page
    assert "Mon 16 Nov 2026 – Wed 18 Nov 2026" in page  # "earlier this week"
    # Not hate-related: every priority can be chosen.
    assert 'value="medium"' in page and 'value="low"' in page


def test_area_and_perpetrator_profile_are_recorded_and_sealed(client, services, staff):
    reference = report(services)
    login(client, "duty1")
    page = f"/console/cases/{reference}"
    post_form(client, f"{page}/area", page, {"area-area": "Eastgate"}, prefix="area")
    post_form(client, f"{page}/perpetrator", page, {
        "perp-age": "18_34", "perp-gender": "male", "perp-landlord_resident": "yes",
        "perp-people": "two_three"}, prefix="perp")
    case = _case(services, reference)
    assert case.area == "Eastgate"
    assert services.vault.open_json(case.perpetrator_enc) == {
        "age": "18_34", "gender": "male", "landlord_resident": "yes", "people": "two_three"}
    assert b"18_34" not in case.perpetrator_enc
    with services.db.read() as session:
        saved = session.scalar(select(CaseEvent).where(
            CaseEvent.kind == "perpetrator_profile_saved"))
    assert saved.detail == {"fields": ["age", "gender", "landlord_resident", "people"]}
    refused = post_form(client, f"{page}/area", page, {"area-area": "Atlantis"},
                        prefix="area")
    assert refused.status_code == 302 and _case(services, reference).area == "Eastgate"


@pytest.mark.parametrize(("entry", "error"), [
    ('name = "A"\npostcode_districts = ["E1", "nonsense"]', "postcode_districts"),
    ('name = "A"\npostcode_districts = ["E1"]\n\n[[areas]]\nname = "B"\n'
     'postcode_districts = ["E1"]', "is in both"),
    ('name = "A"\ncolour = "blue"', "areas[1].colour: unknown setting"),
])
def test_an_area_mistake_in_the_organisation_file_is_named(tmp_path, entry, error):
    from bot.settings import DEMO_ORG_FILE

    text = DEMO_ORG_FILE.read_text().split("[[areas]]")[0] + "[[areas]]\n" + entry + "\n"
    path = tmp_path / "org.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(error)):
        load_organisation(path)


def test_queue_filters_by_channel(client, services, staff):
    reference = report(services, details=False)
    login(client, "duty1")
    assert reference in client.get("/console/queue?channel=sms").text
    assert reference not in client.get("/console/queue?channel=voice").text
    with services.db.write() as session:
        session.scalar(select(Case).where(Case.reference == reference)).channel = "voice"
    assert reference in client.get("/console/queue?channel=voice").text
    assert 'option value="voice" selected' in client.get("/console/queue?channel=voice").text
    assert client.get("/console/queue?channel=pigeon").status_code == 400
