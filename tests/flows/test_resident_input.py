"""What real residents type (issue 12): contact details checked for the chosen method,
options under free-text questions by number or label, and a summary that speaks to the
resident in one voice."""

from __future__ import annotations

import pytest
from babel.support import NullTranslations

from bot.i18n import Catalogs
from flows.answers import Invalid, parse_answer
from flows.contact import check_contact, readable_phone
from flows.messages import Inbound
from flows.places import describe, links, place_from
from flows.report import REPORT_STEPS
from tests.helpers import VICTIM_REPORT, Resident

STEPS = {s.id: s for s in REPORT_STEPS}


class _Ctx:
    can_reply_later = True


def _parse(step: str, text: str = "", choices=()):
    return parse_answer(STEPS[step], Inbound("sms", "x", "1", text=text, choices=choices),
                        NullTranslations(), _Ctx())


def _to_contact(services, method: str) -> Resident:
    resident = Resident(services, channel="sms")
    for message, asked in VICTIM_REPORT:
        if asked == "contact_details":
            resident.says([method])
            break
        resident.says(message)
    assert resident.asked == "contact_details", resident.said
    return resident


@pytest.mark.parametrize(("method", "asks"), [
    ("phone", "What phone number should we use?"),
    ("sms", "What phone number should we use?"),
    ("email", "What email address should we use?"),
    ("letter", "What postal address should we write to?"),
])
def test_the_question_asks_only_for_what_the_method_needs(services, method, asks):
    resident = _to_contact(services, method)
    assert resident.replies[-1].text == asks


@pytest.mark.parametrize(("method", "typed", "kept"), [
    ("phone", "07700900456", "07700 900456"),
    ("sms", "+44 7700 900456", "07700 900456"),
    ("phone", "0048 512 345 678", "+48 512 345 678"),
    ("phone", "+1 202 555 0143", "+1 202-555-0143"),
    ("email", "Jo@Example.org", "Jo@example.org"),
    ("letter", "Flat 3, Example House, Sampletown  SA1 1AA", "Flat 3, Example House, "
                                                             "Sampletown SA1 1AA"),
])
def test_good_contact_details_are_kept_in_a_readable_form(services, method, typed, kept):
    resident = _to_contact(services, method)
    resident.says(typed)
    assert resident.asked == "leave_message"
    resident.says("no")
    assert f"Contact details: {kept}" in resident.said


@pytest.mark.parametrize(("method", "typed", "says"), [
    ("email", "hello", "does not look like an email address"),
    ("email", "jo@", "does not look like an email address"),
    ("phone", "hello", "does not look like a phone number"),
    ("sms", "12345", "does not look like a phone number"),
    ("phone", "jo@example.org", "does not look like a phone number"),
    ("letter", "flat", "full postal address"),
])
def test_bad_contact_details_get_a_kind_re_ask(services, method, typed, says):
    resident = _to_contact(services, method)
    resident.says(typed)
    assert resident.asked == "contact_details"
    assert says in resident.replies[0].text
    assert "Sorry" in resident.replies[0].text or "Please" in resident.replies[0].text


def test_contact_re_ask_is_in_the_residents_language():
    catalogs = Catalogs(["en", "cy", "ar"])
    problem = check_contact("hello", {"contact_method": "email"})
    assert isinstance(problem, Invalid)
    welsh, arabic = problem.message(catalogs("cy")), problem.message(catalogs("ar"))
    assert "e-bost" in welsh and "\u2068name@example.com\u2069" in arabic
    assert readable_phone("020 7946 0321") == "020 7946 0321"
    assert readable_phone("1234567") is None


def test_options_under_a_text_question_work_by_number_label_or_button():
    assert _parse("location", "1") is None
    assert _parse("location", "Skip this question") is None
    assert _parse("location", "skip") is None
    assert _parse("location", choices=("skip",)) is None
    assert _parse("incident_date", "1") == "dont_know"
    assert _parse("incident_date", "I don't know") == "dont_know"
    assert _parse("incident_date", choices=("dont_know",)) == "dont_know"
    assert _parse("incident_date", "last March") == "last March"


@pytest.mark.parametrize(("step", "typed"), [("location", "2"), ("incident_date", "7"),
                                             ("police_reference", "3")])
def test_an_option_number_is_never_kept_as_an_answer(step, typed):
    parsed = _parse(step, typed)
    assert isinstance(parsed, Invalid) and parsed.reason == "number"
    assert _parse("police_reference", "CR/0000/26") == "CR/0000/26"
    assert _parse("contact_details", "07700 900456") == "07700 900456"  # no options there


def test_the_summary_speaks_to_the_resident_in_one_voice(services):
    resident = Resident(services)
    resident.follow(VICTIM_REPORT[:-1])
    summary = resident.replies[-1].text
    assert "Name given: Yes\n" in summary and "I'll give my name" not in summary
    assert "You are: The person it happened to" in summary
    assert "Because of who you are: Yes" in summary and "who they are" not in summary
    assert "In danger now: No" in summary


def test_the_incident_types_question_does_not_repeat_the_narrative_question():
    prompts = [s.prompt for s in REPORT_STEPS if isinstance(s.prompt, str)]
    assert sum(p.startswith("What happened") for p in prompts) == 0
    assert "What kind of incident was it? Choose any that apply." in prompts


def test_a_place_reads_as_words_and_plain_links():
    place = place_from("53.480759", "-2.242631", "1 Example Road", "Larkspur Court")
    value = {"latitude": place.latitude, "longitude": place.longitude,
             "address": place.address, "label": place.label}
    assert describe(value) == "Larkspur Court, 1 Example Road (53.48076, -2.24263)"
    assert links(value) == [
        ("geo", "geo:53.480759,-2.242631"),
        ("OpenStreetMap", "https://www.openstreetmap.org/?mlat=53.480759&mlon=-2.242631"
                          "#map=18/53.480759/-2.242631")]
    assert place_from("91", "0") is None and place_from("nan", "1") is None
    assert describe("Block B") == "Block B" and links("Block B") == []
