"""The console's second pass in a real headless Chromium: find a case by its reference, work
the queue and a case on a phone, see new cases arrive, enter a phone report with consent,
and read the monitoring page's charts; axe-core finds no WCAG violation on any of them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.models import Case, Consent, Evidence
from bot.reference import ALPHABET
from tests.browser.conftest import axe_violations
from tests.conftest import make_settings
from tests.console.conftest import CHEAP_ARGON2, PASSWORD, add_staff, report

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, **CHEAP_ARGON2)


@pytest.fixture
def open_page(browser, live_server):
    """Open pages in fresh browser profiles that can reach only the live server."""
    contexts = []

    def make(viewport: dict):
        ctx = browser.new_context(base_url=live_server, viewport=viewport)
        ctx.set_default_timeout(15_000)
        ctx.route(lambda url: not url.startswith(live_server), lambda route: route.abort())
        contexts.append(ctx)
        page = ctx.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def sign_in(page, username: str) -> None:
    page.goto("/console/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def no_violations(page, axe_source: str) -> None:
    assert axe_violations(page, axe_source) == [], page.url


def fits_the_screen(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_search_by_reference_with_a_slip_and_did_you_mean(open_page, services, axe_source):
    add_staff(services)
    reference = report(services)
    page = open_page(DESKTOP)
    sign_in(page, "duty1")
    no_violations(page, axe_source)

    page.get_by_label("Find a case by reference").fill(reference.replace("-", " ").lower())
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()

    page.goto("/console/queue")
    wrong = reference[:-1] + next(c for c in ALPHABET if c != reference[-1])
    page.get_by_label("Find a case by reference").fill(wrong)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name=f"No case {wrong}")).to_be_visible()
    expect(page.get_by_text("Did you mean")).to_be_visible()
    no_violations(page, axe_source)
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name=f"Case {reference}")).to_be_visible()


def test_phone_layout_of_the_queue_and_a_case(open_page, services, axe_source):
    add_staff(services)
    references = [report(services, sender=f"+4477009007{n:02d}") for n in range(3)]
    page = open_page(PHONE)
    sign_in(page, "duty1")
    expect(page.get_by_role("heading", name="Duty queue")).to_be_visible()
    fits_the_screen(page, PHONE["width"])
    # Each case is a card with its Claim button in full view, no sideways scrolling.
    card = page.locator(f'tr[data-reference="{references[0]}"]')
    claim = card.get_by_role("button", name=f"Claim {references[0]}")
    expect(claim).to_be_in_viewport()
    box = claim.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] >= 24
    expect(card).to_contain_text("Race or nationality, Religion or belief")
    no_violations(page, axe_source)

    card.get_by_role("link", name=references[0]).click()
    expect(page.get_by_role("heading", name="What to do next")).to_be_in_viewport()
    fits_the_screen(page, PHONE["width"])
    next_steps = page.get_by_role("heading", name="What to do next").bounding_box()
    the_report = page.get_by_role("heading", name="The report", exact=True).bounding_box()
    claim = page.get_by_role("button", name="Claim this case")
    assert next_steps["y"] < claim.bounding_box()["y"] < the_report["y"]
    assert page.get_by_role("button", name="Record first contact").bounding_box()["y"] \
        < the_report["y"]
    no_violations(page, axe_source)
    claim.click()
    expect(page.locator("#assignee")).to_have_text("duty1")
    fits_the_screen(page, PHONE["width"])
    assert page.errors == []


def test_new_cases_appear_without_a_reload(open_page, services, axe_source):
    add_staff(services)
    first = report(services)
    page = open_page(DESKTOP)
    page.clock.install()
    sign_in(page, "duty1")
    expect(page.get_by_role("heading", name="Duty queue")).to_be_visible()
    expect(page).to_have_title("Duty queue – reportbot")
    rows = page.locator("#queue-rows tr")
    expect(rows).to_have_count(1)

    second = report(services, sender="+447700900777")
    page.clock.run_for(21_000)  # past the 20-second poll
    expect(page).to_have_title("(1 new) Duty queue – reportbot")
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-reference="{second}"]')).to_contain_text("new")
    expect(page.locator(f'tr[data-reference="{first}"] .new-tag')).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("1 new case since you opened")
    expect(page.locator("#total")).to_have_text("2")
    no_violations(page, axe_source)
    assert page.errors == []


def test_staff_enter_a_letter_with_consent_and_evidence(open_page, services, axe_source,
                                                        tmp_path):
    add_staff(services)
    page = open_page(DESKTOP)
    sign_in(page, "duty1")
    page.get_by_role("link", name="Enter a report").click()
    expect(page.get_by_role("heading", name="Enter a report received by phone")).to_be_visible()
    no_violations(page, axe_source)

    page.get_by_label("Received by").select_option("post")
    page.get_by_label("Received at").fill("2026-11-20T09:30")
    form = page.locator("#staff-report")
    step = form.locator

    def choose(step_id: str, label: str) -> None:
        step(f'[data-step="{step_id}"]').get_by_label(label, exact=True).check()

    choose("immediate_danger", "No")
    choose("reporter_role", "A witness")
    # Questions appear and go as the flow's rules say.
    expect(step('[data-step="reporter_name"]')).to_be_hidden()
    choose("anonymous", "Yes")
    expect(step('[data-step="reporter_name"]')).to_be_visible()
    expect(step('[data-step="victim_details"]')).to_be_visible()
    expect(step('[data-step="monitoring_offer"]')).to_be_hidden()
    page.get_by_label("Reporter's name").fill("Robin Fictional")
    page.get_by_label("What happened, in the reporter's words").fill(
        "Fictional: a letter pushed through the door with abuse written on it.")
    choose("incident_types", "Letters, posters or calls")
    choose("location_type", "At or near the home")
    page.get_by_label("Address", exact=True).fill("3 Example Court, London E3 4AA")
    choose("perception", "Yes")
    choose("strands", "Religion or belief")
    choose("contact_method", "Letter")
    page.get_by_label("Contact details").fill("3 Example Court, London E3 4AA")
    choose("consent_police", "Yes")
    choose("consent_council", "No")
    choose("consent_support", "Yes")
    page.get_by_label("Consent given to (the officer who asked)").fill("Dana Fictional")
    photo = tmp_path / "letter.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\nfictional scan of a letter")
    page.locator("#evidence_files").set_input_files(str(photo))
    page.get_by_role("button", name="Store the report").click()

    expect(page.get_by_role("status")).to_contain_text("Report stored as case")
    consents = page.locator("ul.consents")
    expect(consents).to_contain_text("police: yes")
    expect(consents).to_contain_text("local authority: no")
    expect(consents).to_contain_text("given in writing to Dana Fictional")
    expect(page.locator("#area")).to_have_text("Eastgate")
    no_violations(page, axe_source)
    with services.db.read() as session:
        case = session.scalars(select(Case)).one()
        assert case.channel == "post" and case.hate_related
        assert {c.method for c in session.scalars(select(Consent))} == {"written"}
        assert session.scalars(select(Evidence)).one().size == photo.stat().st_size
    assert page.errors == []


def test_monitoring_page_with_charts_and_the_annual_report(open_page, services, axe_source):
    add_staff(services)
    for n in range(3):
        report(services, sender=f"+4477009008{n:02d}")
    page = open_page(DESKTOP)
    sign_in(page, "analyst")
    expect(page.get_by_role("heading", name="Monitoring:")).to_be_visible()
    charts = page.locator("img.chart")
    assert charts.count() >= 6
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("src").startswith("data:image/svg+xml;base64,")
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        assert "table below" in chart.get_attribute("alt")
    strands = page.locator("#strands")
    expect(strands.get_by_role("region")).to_be_visible()
    expect(strands.locator("table")).to_contain_text("Race or nationality")
    expect(strands).to_contain_text("3 cases named at least one strand, 6 strands in all")
    no_violations(page, axe_source)

    page.get_by_label("Cases", exact=True).select_option("all")
    page.get_by_role("button", name="Show the year").click()
    expect(page.locator("#totals")).to_contain_text("Cases received")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a spreadsheet (XLSX)").click()
    assert download.value.suggested_filename.endswith("-all.xlsx")

    page.get_by_role("link", name="Annual report").click()
    expect(page.get_by_role("heading", name="Hate-related incidents: annual report")) \
        .to_be_visible()
    no_violations(page, axe_source)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    assert page.errors == []
