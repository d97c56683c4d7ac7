"""Understanding typed answers: numbers, labels, accents, scripts."""

import pytest
from babel.support import NullTranslations

from flows.answers import Invalid, fold, parse_answer
from flows.messages import Inbound
from flows.report import REPORT_STEPS

STEPS = {s.id: s for s in REPORT_STEPS}


class _Ctx:
    can_reply_later = False


def _parse(step: str, text: str = "", choices=()):
    return parse_answer(STEPS[step], Inbound("sms", "x", "1", text=text, choices=choices),
                        NullTranslations(), _Ctx())


@pytest.mark.parametrize(("typed", "expected"), [
    ("Pomiń", "pomin"), ("YARDIM", "yardim"), ("Język", "jezyk"), ("Sí", "si"),
    ("ابدأ من جديد", "ابدا من جديد"), ("  Not   Sure! ", "not sure"),
])
def test_fold_ignores_case_spacing_and_latin_accents(typed, expected):
    assert fold(typed) == expected


def test_fold_keeps_marks_that_tell_words_apart_in_other_scripts():
    assert fold("হ্যাঁ") != fold("হ্যা")


@pytest.mark.parametrize(("text", "answer"), [
    ("2", "no"), ("٢", "no"), ("No", "no"), ("no.", "no"), (" NO ", "no"),
])
def test_single_choice_by_number_label_or_id(text, answer):
    assert _parse("immediate_danger", text) == answer


@pytest.mark.parametrize("text", ["9" * 5000, "0", "3", "1 2", "maybe", ""])
def test_nonsense_numbers_are_not_understood(text):
    assert isinstance(_parse("immediate_danger", text), Invalid)


def test_multi_select_by_numbers_labels_and_mixtures():
    assert _parse("strands", "1 3") == ["ethnic_origin", "gender"]
    assert _parse("strands", "religion or belief, age") == ["religion", "age"]
    assert _parse("strands", "2, disability") == ["religion", "disability"]
    assert _parse("strands", choices=("age", "age")) == ["age"]
    assert isinstance(_parse("strands", "1 99"), Invalid)


def test_optional_text_can_be_skipped_by_word_or_button():
    assert _parse("location", "skip") is None
    assert _parse("location", choices=("skip",)) is None
    assert _parse("location", "Block C") == "Block C"
    assert isinstance(_parse("narrative", choices=("skip",)), Invalid)
