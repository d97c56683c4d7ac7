"""Plain signs of prejudice in the resident's own words, in all 13 languages.

The phrase lists live with the catalogs (locales/<lang>/indicators.toml). The labelled
sentences under tests/flows/signs/ were written for these tests (fictional, ordinary
wording, some without accents or in romanised script); recall and the false-flag rate are
printed per language.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.i18n import LOCALES_DIR
from bot.signs import REVIEW_NOTE, catalogued, check_all, list_path, load_signs
from flows.indicators import PrejudiceSigns, SignList, SignListError, normalise
from flows.report import STRANDS

SETS = Path(__file__).resolve().parent / "signs"
LANGUAGES = catalogued()
MIN_SIGNS, MIN_NUISANCE = 10, 5
AIM_RECALL, AIM_FALSE_FLAGS = 0.90, 0.05


@pytest.fixture(scope="module")
def signs() -> PrejudiceSigns:
    return load_signs(LANGUAGES)


def _labelled(code: str) -> dict:
    return tomllib.loads((SETS / f"{code}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "strands"), [
    ("He told me to go back to my own country", ["ethnic_origin"]),
    ("they shouted go back to your country", ["ethnic_origin"]),
    ("It's because I'm Muslim", ["religion"]),
    ("called us terrorists and pulled her hijab", ["religion"]),
    ("someone drew a SWASTIKA on my door", ["ethnic_origin", "religion"]),
    ("they keep calling my son gay", ["sexual_orientation"]),
    ("they laugh at my wheelchair", ["disability"]),
    ("abuse because I\u2019m trans", ["gender"]),
    ("because she's old they take her parcels", ["age"]),
    ("Loud music from upstairs every night", []),
    ("The transport to the jewellery shop was late", []),
    ("He went back to his country for the summer", []),
    ("", []),
    (None, []),
])
def test_english_signs(signs, text, strands):
    assert signs.find(text, ["en"]) == strands


def test_every_language_has_a_list_that_compiles():
    assert len(LANGUAGES) == 13
    assert check_all() == []


def test_translated_lists_say_they_await_native_review():
    for code in LANGUAGES[1:]:
        assert REVIEW_NOTE in list_path(code).read_text(encoding="utf-8"), code


def test_every_language_has_signs_for_the_main_strands(signs):
    for code in LANGUAGES:
        data = tomllib.loads(list_path(code).read_text(encoding="utf-8"))
        missing = {"ethnic_origin", "religion", "gender", "sexual_orientation", "age",
                   "disability"} - set(data["strands"])
        assert not missing, f"{code} has no signs for {missing}"


def test_recall_and_false_flags_per_language(signs):
    """Print, per language, how many plain signs are caught and ordinary complaints flagged."""
    rows = []
    for code in LANGUAGES:
        data = _labelled(code)
        assert data["language"] == code
        labelled, nuisance = data["signs"], data["nuisance"]
        assert len(labelled) >= MIN_SIGNS and len(nuisance) >= MIN_NUISANCE, code
        assert {strand for strand, _ in labelled} <= set(STRANDS)
        caught = [strand in signs.in_language(text, code) for strand, text in labelled]
        flagged = [text for text in nuisance if signs.in_language(text, code)]
        missed = [text for (_, text), hit in zip(labelled, caught, strict=True) if not hit]
        rows.append((code, len(labelled), sum(caught) / len(labelled), len(nuisance),
                     len(flagged) / len(nuisance), missed, flagged))
    print(f"\n{'language':8} {'signs':>5} {'recall':>7} {'ordinary':>8} {'false flags':>11}")
    for code, n_signs, recall, n_plain, false_rate, _missed, _flagged in rows:
        print(f"{code:8} {n_signs:5} {recall:7.0%} {n_plain:8} {false_rate:11.0%}")
    for code, _n, recall, _p, false_rate, missed, flagged in rows:
        assert recall >= AIM_RECALL, f"{code}: recall {recall:.0%}, missed {missed}"
        assert false_rate <= AIM_FALSE_FLAGS, f"{code}: flagged {flagged}"


def test_every_labelled_set_has_a_tempting_ordinary_complaint():
    # Each set holds an ordinary complaint that mentions someone's own country, so a list
    # that flagged any mention of a country would fail.
    for code in LANGUAGES:
        assert len(_labelled(code)["nuisance"]) >= 7, code


@pytest.mark.parametrize(("code", "text", "strand"), [
    ("pl", "wracaj do swojego kraju", "ethnic_origin"),      # no Polish letters typed
    ("pl", "WRACAJ DO SWOJEGO KRAJU", "ethnic_origin"),
    ("tr", "kendi ulkene don", "ethnic_origin"),              # no Turkish letters typed
    ("ar", "انت ارهابى", "religion"),                          # ى for ي
    ("ar", "يا إرهابيّة", "religion"),                         # hamza and shadda
    ("ar", "والمسلمين", "religion"),                           # "and the Muslims"
    ("ur", "دهشت گرد", "religion"),                            # Arabic heh for Urdu heh
    ("ur", "apne mulk waapas jaao", "ethnic_origin"),         # romanised, doubled vowels
    ("ur", "apne mulk vapas jao", "ethnic_origin"),           # v for w
    ("so", "dalkaga ku noqo", "ethnic_origin"),               # one a where two are usual
    ("bn", "মসজিদে যায় বলে", "religion"),                      # an ending after the word
    ("ro", "du-te în ţara ta", "ethnic_origin"),              # old cedilla ţ
])
def test_normalising_case_accents_letter_forms_and_transliteration(signs, code, text, strand):
    assert strand in signs.in_language(text, code)


def test_normalise_folds_the_same_way_for_text_and_patterns():
    assert normalise("Ｇo BACK") == "go back"
    assert normalise("ﻣﺴﻠﻢ") == normalise("مسلم")  # presentation forms
    assert normalise("کافر") == normalise("كافر")
    assert normalise("it\u2019s") == "it's"


def test_a_resident_is_matched_in_their_language_and_english(signs):
    assert signs.in_language("On mówi go back to your country", "pl") == ["ethnic_origin"]
    assert signs.in_language("wracaj do swojego kraju", "en") == []


def test_a_pattern_that_does_not_compile_is_named():
    broken = SignList("xx", {"religion": ("ok", "(unclosed")}, source="xx.toml")
    with pytest.raises(SignListError, match=r"xx.toml: religion\[2\] '\(unclosed' does not"):
        PrejudiceSigns([broken], STRANDS)


def test_an_unknown_strand_or_an_empty_match_is_refused():
    with pytest.raises(SignListError, match="unknown strand 'race'"):
        PrejudiceSigns([SignList("xx", {"race": ("a",)})], STRANDS)
    with pytest.raises(SignListError, match="matches empty text"):
        PrejudiceSigns([SignList("xx", {"age": ("(old)?",)})], STRANDS)


def test_the_check_reports_a_missing_or_broken_list(tmp_path):
    for code, body in (("en", 'language = "en"\n[strands]\nage = [\'old\']\n'),
                       ("pl", 'language = "pl"\n[strands]\nage = [\'(stary\']\n')):
        (tmp_path / code).mkdir()
        (tmp_path / code / "indicators.toml").write_text(body)
    for code in ("pl", "so"):
        (tmp_path / code / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / code / "LC_MESSAGES" / "messages.po").write_text("")
    problems = "\n".join(check_all(tmp_path))
    assert "pl/indicators.toml: age[1] '(stary' does not compile" in problems
    assert "so: no prejudice-sign list" in problems


def test_an_enabled_language_without_a_list_stops_start_up(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "indicators.toml").write_text(
        (LOCALES_DIR / "en" / "indicators.toml").read_text(encoding="utf-8"))
    with pytest.raises(ConfigError, match="no prejudice-sign list for 'pl'"):
        load_signs(["en", "pl"], tmp_path)
