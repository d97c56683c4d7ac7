"""Officers see a shared location as words, coordinates and links they can open (issue 12),
and the repairs team gets them in its request; the server calls no map service."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot import notify
from bot.models import Case, OutboxMessage
from flows.messages import Place
from tests.console.conftest import login
from tests.helpers import Resident

HALL = Place(53.480759, -2.242631, "1 Example Road, Sampletown M1 1AA",
             "Larkspur Court Community Hall")
PIN = Place(53.4811, -2.2401)


def test_a_shared_location_shows_on_the_case_with_links(app, services, staff):
    resident = Resident(services, channel="sms")
    resident.says("no", location=PIN)  # shared at the danger question: kept, asked again
    assert resident.asked == "immediate_danger" and "kept this location" in resident.said
    for typed in ("no", "1", "2", "Someone sprayed graffiti on our door.", "1", "1"):
        resident.says(typed)
    assert resident.asked == "location"
    resident.says("", location=HALL)
    for typed in ("2", "1", "2", "1"):  # not because of who; repair, remove it soon; send
        resident.says(typed)
    assert resident.asked == "details_offer", resident.said
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
    client = app.test_client()
    login(client, "duty1")
    page = client.get(f"/console/cases/{case.reference}").text
    assert ("Larkspur Court Community Hall, 1 Example Road, Sampletown M1 1AA "
            "(53.48076, -2.24263)") in page
    assert 'href="geo:53.480759,-2.242631"' in page
    assert ('href="https://www.openstreetmap.org/?mlat=53.480759&amp;mlon=-2.242631'
            '#map=18/53.480759/-2.242631"') in page
    assert re.search(r"Location shared: 53\.48110, -2\.24010 <a[^>]+geo:53\.481100,"
                     r"-2\.240100", page)
    with services.db.write() as session:
        assert notify.repair_request(session, services, session.get(Case, case.id))
    with services.db.read() as session:
        [row] = session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "repair_request")).all()
        body = services.vault.open_json(row.payload_enc)["body"]
    assert "Larkspur Court Community Hall, 1 Example Road" in body
    assert "geo:53.480759,-2.242631" in body
