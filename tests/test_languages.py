"""The resident's language: choosing, guessing, changing, right-to-left, complete catalogs,
and golden conversations in every enabled language with no English leaking through."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from bot.errors import ConfigError
from bot.i18n import LOCALES_DIR, Catalogs
from bot.i18n_check import check_all, check_catalog, placeholders
from bot.models import Case
from bot.services import build_services
from bot.settings import DEMO_ORG_FILE
from tests.conftest import make_settings
from tests.databases import migrated
from tests.helpers import VICTIM_REPORT, Resident

LANGUAGES = sorted(p.parent.parent.name for p in LOCALES_DIR.glob("*/LC_MESSAGES/messages.po"))
ALL = ["en", *LANGUAGES]


def multilingual_org(tmp_path: Path) -> Path:
    """Write the demo landlord with every catalogued language enabled."""
    text = DEMO_ORG_FILE.read_text()
    text = re.sub(r"^languages = .*$", f"languages = {ALL!r}".replace("'", '"'), text,
                  flags=re.M)
    path = tmp_path / "org-multilingual.toml"
    path.write_text(text)
    return path


@pytest.fixture
def multi(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_ORG_FILE=str(multilingual_org(tmp_path)))
    migrated(settings.database_url)
    services = build_services(settings)
    yield services
    services.db.dispose()


def _english_sentences(language: str) -> list[str]:
    """English source texts whose translation in `language` differs (so must not appear)."""
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    found = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        # Only multi-word texts: single words ("Age", "No") may be the same in a language.
        words = re.sub(r"%\([a-z_]+\)[sd]", "", message.id).split()
        if len(words) >= 3 and message.string and message.string != message.id:
            found.append(message.id.split("%(")[0].strip())
    return [s for s in found if len(s) > 12]


def test_catalogs_are_complete_and_consistent():
    assert LANGUAGES, "no catalogs found"
    assert len(LANGUAGES) >= 12
    problems = check_all()
    assert problems == [], "\n".join(problems[:40])


def test_catalogs_say_they_await_native_review():
    for language in LANGUAGES:
        head = (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").read_text()[:2000]
        assert "awaiting review by a native speaker" in head, language


def test_placeholder_check_sees_both_styles():
    assert placeholders("Hi %(name)s, %d and {ref} 100%%") == ["%(name)s", "%d", "{ref}"]


def test_check_reports_missing_mo_fuzzy_and_placeholders(tmp_path):
    po = tmp_path / "pl" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && '
        '(n%100<10 || n%100>=20) ? 1 : 2);\\n"\n\n'
        '#, fuzzy\nmsgid "Hello %(org)s"\nmsgstr "Cześć"\n\n'
        'msgid "one file"\nmsgid_plural "%(num)d files"\nmsgstr[0] "plik"\n'
        'msgstr[1] "%(num)d pliki"\nmsgstr[2] ""\n', encoding="utf-8")
    problems = check_catalog(po, {"Hello %(org)s", ("one file", "%(num)d files"), "Gone"})
    text = "\n".join(problems)
    assert "fuzzy 'Hello %(org)s'" in text
    assert "placeholders differ in 'Hello %(org)s'" in text
    assert "needs 3 plural forms, has 2" in text
    assert "missing 'Gone'" in text
    assert "no compiled messages.mo" in text


def test_an_enabled_language_without_a_compiled_catalog_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no compiled catalog for 'xx'"):
        Catalogs(["en", "xx"], directory=tmp_path)


def test_first_message_offers_languages_in_their_own_script(multi):
    resident = Resident(multi)
    assert resident.asked == "language"
    labels = {c.id: c.label for c in resident.replies[-1].choices}
    assert labels["en"] == "English" and labels["pl"].lower() == "polski"
    assert labels["ar"] == "العربية" and labels["cy"] == "Cymraeg"
    resident.says(["pl"])
    assert resident.asked == "immediate_danger"
    assert resident.replies[-1].lang == "pl"


def test_browser_or_telegram_language_is_offered_first_and_confirmed(multi):
    resident = Resident(multi, language="pl-PL")
    assert resident.asked == "language"
    assert resident.replies[-1].choices[0].id == "pl"
    assert resident.replies[0].lang == "pl"  # the greeting is already in Polish
    resident.says("1")
    assert resident.asked == "immediate_danger" and resident.replies[-1].lang == "pl"


def test_first_sms_in_polish_suggests_polish(multi):
    resident = Resident(multi, channel="sms", opened=False)
    resident.says("Dzień dobry, sąsiad znowu krzyczał na mnie na klatce schodowej")
    assert resident.asked == "language"
    assert resident.replies[-1].choices[0].id == "pl"


def test_words_typed_at_the_menu_offer_their_language_once(multi):
    resident = Resident(multi)
    resident.says("Mi vecino me gritó insultos racistas en el ascensor otra vez anoche")
    assert resident.asked == "language"
    assert resident.replies[-1].choices[0].id == "es" and resident.replies[-1].lang == "es"
    assert resident.says("Otra vez, por favor, quiero hablar").locale == "en"  # not imposed
    assert resident.asked == "language" and "prefer another language" not in resident.said
    resident.says(["es"])
    assert resident.asked == "immediate_danger" and resident.replies[-1].lang == "es"


def test_no_language_is_offered_after_the_resident_chose_one(multi):
    resident = Resident(multi)
    resident.says(["en"])
    for message, _ in VICTIM_REPORT[:4]:
        resident.says(message)
    assert resident.asked == "narrative"
    result = resident.says("Mi vecino me gritó insultos racistas en el ascensor otra vez anoche")
    assert resident.asked == "incident_when" and result.locale == "en"
    assert all(r.lang == "en" for r in resident.replies)
    resident.says("language")  # the menu is still there when they want it
    assert resident.asked == "language"


def test_changing_language_midway_keeps_every_answer(multi):
    resident = Resident(multi)
    resident.says(["en"])
    for message, _ in VICTIM_REPORT[:4]:
        resident.says(message)
    resident.says("language")
    assert resident.asked == "language"
    resident.says(["cy"])
    assert resident.asked == "narrative" and resident.replies[-1].lang == "cy"
    resident.says("iaith")  # "language" in Welsh works as a command too
    assert resident.asked == "language"
    resident.says(["en"])
    assert resident.asked == "narrative"


def test_arabic_is_right_to_left_and_isolates_references(multi):
    resident = Resident(multi)
    resident.says(["ar"])
    assert resident.replies[-1].dir == "rtl" and resident.replies[-1].lang == "ar"
    seen = _recording(resident)
    _complete_report(resident)
    [case] = _cases(multi)
    said = "\n".join(seen)
    assert f"\u2068{case.reference}\u2069" in said
    assert "\u2068020 7946 0321\u2069" in said
    assert all(r.dir == "rtl" for r in resident.replies)


def _recording(resident: Resident) -> list[str]:
    """Keep every text and label the bot sends from now on."""
    seen: list[str] = []
    original = resident.says

    def recording(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.extend(r.text for r in resident.replies)
        seen.extend(c.label for r in resident.replies for c in r.choices)
        seen.extend(r.progress.text for r in resident.replies if r.progress)
        return result

    resident.says = recording
    return seen


def _cases(services):
    with services.db.read() as session:
        return session.scalars(select(Case)).all()


def _complete_report(resident: Resident, at: datetime | None = None) -> None:
    """Answer every question by choice id (or fictional text) until the report is sent
    and every optional detail added."""
    texts = {
        "reporter_name": "Sam Fictional", "narrative": "Fictional account 42.",
        "location": "Block B 7", "perpetrator_description": "Flat 9",
        "police_reference": "CR/0000/26", "contact_details": "07700 900456",
        "safe_times": "09:00-12:00", "victim_details": "Flat 3",
        "incident_date": "01/11/2026", "language_needs_detail": "BSL",
    }
    # An offered language (after English free text) is declined: the resident stays in the
    # language they chose.
    preferred = {"language": resident.replies[-1].lang, "immediate_danger": "no",
                 "reporter_role": "victim", "anonymous": "named",
                 "perception": "yes", "strands": ["religion", "ethnic_origin"],
                 "repair_needed": "yes", "review": "submit", "contact_method": "phone",
                 "details_offer": "add", "incident_types": ["threats", "graffiti"]}
    for _ in range(80):
        asked = resident.asked
        if asked is None:
            break
        message = resident.replies[-1]
        if asked in texts:
            resident.says(texts[asked], at=at)
            continue
        choice = preferred.get(asked, message.choices[0].id if message.choices else None)
        resident.says(choice if isinstance(choice, list) else [choice], at=at)
    assert resident.done, resident.said


@pytest.mark.parametrize("language", LANGUAGES)
def test_golden_conversation_has_no_english(multi, language):
    resident = Resident(multi)
    resident.says([language])
    english = _english_sentences(language)
    seen = _recording(resident)
    seen.extend(r.text for r in resident.replies)
    _complete_report(resident, at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    [case] = _cases(multi)
    assert case.language == language and case.hate_related
    text = "\n".join(seen)
    leaks = [s for s in english if s in text]
    assert leaks == [], f"English in the {language} conversation: {leaks[:5]}"
    assert "Tuesday" not in text and "November" not in text  # the date is localised
    for word in ("STOP", "END", "QUIT", "CANCEL"):
        assert not re.search(rf"\b{word}\b", text)
