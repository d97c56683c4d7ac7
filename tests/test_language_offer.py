"""A language is offered, never imposed, and only before the resident chose one (issue 12):
names, addresses and codes never change or offer a language."""

from __future__ import annotations

import base64

import pytest

from bot.app import create_app
from flows.language import looks_like_words
from tests.helpers import Resident
from tests.test_languages import multi  # noqa: F401 - the fixture

# Names that once switched an English conversation to Portuguese, Somali, Welsh, Turkish
# and Polish (issue 12); every one is fictional here.
NAMES = ["Amina Hassan", "Mohammed Khan", "Priya Sharma", "Oluwaseun Adeyemi",
         "John Smith-Jones", "Mehmet Yilmaz", "Katarzyna Nowak", "Agnieszka Kowalska"]
BASE64 = base64.b64encode(b"Hello, this is a test of an encoded message body.").decode()


@pytest.mark.parametrize("name", NAMES)
def test_a_name_typed_after_choosing_english_keeps_english(multi, name):  # noqa: F811
    resident = Resident(multi)
    resident.says(["en"])
    for typed in ("no", "1", "1"):
        resident.says(typed)
    assert resident.asked == "reporter_name"
    result = resident.says(name)
    assert resident.asked == "narrative", resident.said
    assert result.locale == "en"
    assert all(r.lang == "en" for r in resident.replies)
    assert "prefer another language" not in resident.said


@pytest.mark.parametrize("name", NAMES)
def test_a_name_as_the_first_message_gets_the_default_greeting(multi, name):  # noqa: F811
    resident = Resident(multi, channel="sms", opened=False)
    result = resident.says(name)
    assert result.locale == "en" and resident.replies[0].lang == "en"
    assert resident.asked == "language" and resident.replies[-1].choices[0].id == "en"


@pytest.mark.parametrize("body", [BASE64, f"{BASE64[:40]}\n{BASE64[40:]}",
                                  "https://example.org/a/b?c=d pic of the door here",
                                  "07700 900123 07700 900456 2026", "K7QMX-9RDTV ok"])
def test_a_code_at_first_contact_gets_the_default_greeting(multi, body):  # noqa: F811
    resident = Resident(multi, channel="sms", opened=False)
    result = resident.says(body)
    assert result.locale == "en"
    assert [r.lang for r in resident.replies] == ["en"] * len(resident.replies)
    assert resident.replies[-1].choices[0].id == "en"


def test_choosing_the_default_language_counts_as_a_choice(multi):  # noqa: F811
    resident = Resident(multi, channel="sms", opened=False)
    resident.says("Hello")
    resident.says("1")  # English, the landlord's first language
    assert resident.asked == "immediate_danger"
    resident.says("language")
    resident.says("Dzień dobry, sąsiad znowu krzyczał na mnie na klatce schodowej")
    # Not understood as a choice, and no offer: they have chosen before.
    assert resident.asked == "language" and resident.replies[-1].lang == "en"
    assert resident.replies[-1].choices[0].id == "en"


@pytest.mark.parametrize(("text", "words"), [
    ("Amina Hassan", False), ("Sam", False), ("yes", False), ("2", False), (BASE64, False),
    ("https://example.org/report/1234 www.example.org", False), ("jo@example.org", False),
    ("1 2 3 4 5", False), ("AbCdEfGh IjKlMnOp QrStUvWx", False),
    ("The man shouted at me", True), ("Sąsiad znowu krzyczał na mnie", True),
    ("جاري صرخ علي مرة أخرى", True), ("my door, flat 4, again!", True),
])
def test_only_prose_of_three_words_may_suggest_a_language(text, words):
    assert looks_like_words(text) is words


def test_the_web_chat_api_says_the_chosen_language_not_the_offered_one(multi):  # noqa: F811
    client = create_app(services=multi).test_client()
    opened = client.post("/api/chat/sessions", json={"language": "en"}).get_json()
    assert opened["language"] == "en"
    url = f"/api/chat/sessions/{opened['session']}/messages"
    offered = client.post(url, json={"text": "Mi vecino me gritó insultos racistas "
                                              "otra vez anoche"}).get_json()
    assert offered["messages"][-1]["lang"] == "es"  # offered in Spanish…
    assert offered["language"] == "en"  # …but the page stays as it is
    chosen = client.post(url, json={"choice": "en"}).get_json()
    assert chosen["language"] == "en"
    for choice in ("no", "victim", "named"):
        client.post(url, json={"choice": choice})
    reply = client.post(url, json={"text": "Oluwaseun Adeyemi"}).get_json()
    assert reply["language"] == "en"
    assert [m["lang"] for m in reply["messages"]] == ["en"] * len(reply["messages"])
    assert reply["messages"][-1]["question"] == "narrative"
