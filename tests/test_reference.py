"""Case references: format, check character, typing tolerance and uniqueness."""

from __future__ import annotations

import math
import random
import re

import pytest

from bot.reference import (
    ALPHABET,
    BODY_LENGTH,
    check_character,
    is_valid,
    new_reference,
    normalise,
)

DISPLAY = re.compile(rf"^[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}$")

# Worked by hand: K=16 7=5 Q=21 M=18 X=27 9=7 R=22 D=10 T=23;
# 1*16 + 2*5 + 3*21 + 4*18 + 5*27 + 6*7 + 7*22 + 8*10 + 9*23 = 779 = 26*29 + 25 -> "V".
KNOWN = "K7QMX-9RDTV"


def compact(reference: str) -> str:
    return reference.replace("-", "")


def display(compact_form: str) -> str:
    return f"{compact_form[:5]}-{compact_form[5:]}"


@pytest.fixture
def sample_references() -> list[str]:
    seeded = random.Random(20260401)
    return [new_reference(seeded) for _ in range(6)] + [new_reference() for _ in range(2)]


# --- The alphabet and its strength -----------------------------------------------------------


def test_alphabet_has_29_distinct_characters():
    assert ALPHABET == "23456789ACDEFGHJKLMNPQRTUVWXY"
    assert len(set(ALPHABET)) == len(ALPHABET) == 29
    assert all(len(ALPHABET) % d for d in range(2, len(ALPHABET)))  # prime


@pytest.mark.parametrize("confusable", list("0O1IBSZ"))
def test_alphabet_leaves_out_confusable_characters(confusable):
    assert confusable not in ALPHABET


def test_alphabet_is_uppercase_ascii_letters_and_digits():
    assert ALPHABET.isascii()
    assert ALPHABET.upper() == ALPHABET
    assert ALPHABET.isalnum()


def test_random_part_has_at_least_40_bits():
    assert BODY_LENGTH == 9
    assert BODY_LENGTH * math.log2(len(ALPHABET)) >= 40


# --- The check character ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("222222222", "2"),  # all zeros
        ("322222222", "3"),  # weight 1 * value 1
        ("222222223", "C"),  # weight 9 * value 1 = 9 -> ALPHABET[9]
        ("YYYYYYYYY", "G"),  # 28 * 45 = 1260 = 43*29 + 13 -> ALPHABET[13]
        ("K7QMX9RDT", "V"),
    ],
)
def test_check_character_matches_hand_calculation(body, check):
    assert check_character(body) == check


def test_known_reference_is_valid():
    assert is_valid(KNOWN)
    assert not is_valid("K7QMX-9RDT4")


@pytest.mark.parametrize("body", ["", "22222222", "2222222222", "22222222O", "abcdefghj"])
def test_check_character_rejects_bad_bodies(body):
    with pytest.raises(ValueError, match="reference body"):
        check_character(body)


def test_every_single_substitution_is_detected(sample_references):
    for reference in [KNOWN, *sample_references]:
        chars = list(compact(reference))
        for position, original in enumerate(chars):
            for replacement in ALPHABET:
                if replacement == original:
                    continue
                mutated = chars.copy()
                mutated[position] = replacement
                typed = "".join(mutated)
                assert not is_valid(typed), (reference, position, replacement)
                assert not is_valid(display(typed)), (reference, position, replacement)


def test_every_adjacent_transposition_in_samples_is_detected(sample_references):
    for reference in [KNOWN, *sample_references]:
        chars = list(compact(reference))
        for position in range(len(chars) - 1):
            if chars[position] == chars[position + 1]:
                continue
            swapped = chars.copy()
            swapped[position], swapped[position + 1] = swapped[position + 1], swapped[position]
            assert not is_valid("".join(swapped)), (reference, position)


def test_every_adjacent_transposition_within_the_body_is_detected():
    # Whether a swap is caught does not depend on the other characters, so trying every
    # ordered pair of distinct characters at every body position covers every case.
    filler = "2" * BODY_LENGTH
    for position in range(BODY_LENGTH - 1):
        for first in ALPHABET:
            for second in ALPHABET:
                if first == second:
                    continue
                body = filler[:position] + first + second + filler[position + 2 :]
                swapped = filler[:position] + second + first + filler[position + 2 :]
                original = body + check_character(body)
                assert is_valid(original)
                assert not is_valid(swapped + original[-1]), (position, first, second)


def test_swapping_the_last_body_character_with_the_check_is_detected():
    # Varying the first character walks the check through all 29 values, so every pair
    # (last body character, check character) occurs.
    pairs_seen = set()
    for lead in ALPHABET:
        for last in ALPHABET:
            body = lead + "2" * (BODY_LENGTH - 2) + last
            check = check_character(body)
            if check == last:
                continue
            pairs_seen.add((last, check))
            assert not is_valid(body[:-1] + check + last), (body, check)
    assert len(pairs_seen) == 29 * 28


# --- Generated references ---------------------------------------------------------------------


def test_new_reference_has_the_display_format(sample_references):
    for reference in sample_references:
        assert DISPLAY.match(reference), reference
        assert is_valid(reference)
        assert normalise(reference) == reference


def test_new_reference_uses_the_given_random_source():
    assert new_reference(random.Random(7)) == new_reference(random.Random(7))
    assert new_reference(random.Random(7)) != new_reference(random.Random(8))


def test_twenty_thousand_references_are_unique_and_use_the_whole_alphabet():
    references = [new_reference() for _ in range(20_000)]
    assert len(set(references)) == 20_000
    assert all(DISPLAY.match(r) for r in references)
    assert all(is_valid(r) for r in references)
    used = set("".join(r[:5] + r[6:10] for r in references))
    assert used == set(ALPHABET)


# --- What residents type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "K7QMX-9RDTV",
        "K7QMX9RDTV",
        "k7qmx 9rdtv",
        "k7qmx-9rdtv",
        "  K7QMX 9RDTV\n",
        "K7Q MX9 RDT V",
        "K7QMX.9RDTV",
        "K7QMX \u2013 9RDTV",  # en dash from a phone keyboard
        "K7QMX\u00a09RDTV",  # non-breaking space
        "\uff2b\uff17\uff31\uff2d\uff38\uff0d\uff19\uff32\uff24\uff34\uff36",  # full-width
    ],
)
def test_normalise_accepts_what_people_type(typed):
    assert normalise(typed) == KNOWN
    assert is_valid(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "K7QMX-9RDT",  # too short
        "K7QMX-9RDTVV",  # too long
        "K7QMX-9RDTV2",
        "K7QMX-9RDT4",  # wrong check character
        "K7QMX-0RDTV",  # zero is not in the alphabet
        "K7QMX-ORDTV",
        "K7QMX-9RDTS",
        "K7QMX+9RDTV",
        "K7QMX-9RDTV please call me",
        "my reference is K7QMX-9RDTV",
        "K7QMX-9RDTV" * 10,
    ],
)
def test_normalise_rejects_anything_else(typed):
    assert normalise(typed) is None
    assert not is_valid(typed)
