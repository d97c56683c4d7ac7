"""Spot clear signs of prejudice in a resident's own words, in their own language.

Used for one thing only: when a resident answers "no" or "not sure" to the perception
question but their account plainly points at who they are ("because I'm Muslim", "wracaj
do swojego kraju"), the flow asks once more, gently, quoting nothing back. The strand codes
found are kept on the case for the officer; the words are never copied anywhere.

The phrase lists are data, kept with the catalogs (``locales/<lang>/indicators.toml``) and
loaded by the application; this module only normalises and matches, so it stays pure.
They are short lists of plain phrases, not a classifier, meant to err towards asking.

Matching happens after `normalise`: case, accents on Latin letters, Arabic diacritics and
letter forms (the Urdu and Arabic forms of yeh, kaf and heh are one letter each), curly
quotes, joiners and a few spelling habits of romanised writing (doubled letters, ``ee``
for ``i``, ``v`` for ``w``, ``q`` for ``k``) no longer matter. The patterns are normalised
the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flows.answers import fold

__all__ = ["PrejudiceSigns", "SignList", "SignListError", "normalise"]

_LETTER_FORMS = str.maketrans({
    # Arabic and Urdu letter forms typed interchangeably.
    "ى": "ي", "ی": "ي", "ې": "ي", "ۍ": "ي", "ے": "ي", "ئ": "ي", "ؤ": "و",
    "ک": "ك", "ڪ": "ك", "ة": "ه", "ۃ": "ه", "ہ": "ه", "ھ": "ه", "ۀ": "ه",
    "\u0640": None,  # tatweel, the stretching stroke
    "\u200c": None, "\u200d": None, "\u200e": None, "\u200f": None,  # joiners, marks
    "\u2068": None, "\u2069": None,
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
    "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7",
    "٨": "8", "٩": "9", "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5",
    "۶": "6", "۷": "7", "۸": "8", "۹": "9",
})
# Romanised writing spells the same word several ways ("waapas", "wapas", "vapas").
_ROMANISED = ((re.compile("ee"), "i"), (re.compile(r"([a-z])\1+"), r"\1"),
              (re.compile("v"), "w"), (re.compile("q"), "k"))
# A sign starts at the start of a word: not after a letter, a digit or a combining mark
# (vowel signs of Indic scripts are marks, not word characters, for `re`).
_WORD = r"\w\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0dff"
_START = rf"(?<![{_WORD}])"
# It ends at the end of a word; an Indic vowel sign after the last letter also ends it, so
# a pattern matches the inflected forms of its stem there.
_END = r"(?!\w)"


def normalise(text: str) -> str:
    """Return `text` folded for matching: case, accents, letter forms, romanised spelling."""
    folded = fold(text.translate(_LETTER_FORMS)).translate(_LETTER_FORMS)
    for pattern, replacement in _ROMANISED:
        folded = pattern.sub(replacement, folded)
    return folded


class SignListError(ValueError):
    """A phrase list is wrong (a pattern that does not compile, an unknown strand)."""


@dataclass(frozen=True)
class SignList:
    """One language's phrase list: regular expressions by strand code.

    Args:
        language: the language code, e.g. ``pl``.
        strands: strand code -> patterns (regular expressions over normalised text).
        prefix: an optional regular expression for letters a language attaches to the
            front of a word (Arabic "and", "the"), allowed before every pattern.
    """

    language: str
    strands: Mapping[str, tuple[str, ...]]
    prefix: str = ""
    source: str = field(default="", compare=False)


class PrejudiceSigns:
    """The compiled phrase lists of the enabled languages.

    Args:
        lists: one `SignList` per language.
        strands: the known strand codes, in the order results are returned.

    Raises:
        SignListError: naming the language, strand and pattern that is wrong.
    """

    def __init__(self, lists: Iterable[SignList], strands: Sequence[str]) -> None:
        self.strands = tuple(strands)
        self._compiled: dict[str, dict[str, re.Pattern]] = {}
        for sign_list in lists:
            self._compiled[sign_list.language] = _compile(sign_list, self.strands)

    @property
    def languages(self) -> tuple[str, ...]:
        """Return the codes of the languages that have a list."""
        return tuple(self._compiled)

    def find(self, text: str | None, languages: Sequence[str] | None = None) -> list[str]:
        """Return the strand codes whose signs appear in `text`, in a stable order.

        Args:
            text: the resident's words.
            languages: the lists to use (unknown codes are ignored); all when None.
        """
        if not text or not text.strip():
            return []
        folded = normalise(text)
        codes = self.languages if languages is None else \
            [c for c in dict.fromkeys(languages) if c in self._compiled]
        found = {strand for code in codes
                 for strand, pattern in self._compiled[code].items() if pattern.search(folded)}
        return [s for s in self.strands if s in found]


    def in_language(self, text: str | None, locale: str) -> list[str]:
        """Return the strands in `text` by the lists of `locale` and English.

        English too, because residents who chose another language often write some of
        their account in English.
        """
        return self.find(text, (locale.split("-")[0], locale, "en"))


def _compile(sign_list: SignList, strands: Sequence[str]) -> dict[str, re.Pattern]:
    where = sign_list.source or sign_list.language
    prefix = sign_list.prefix
    if prefix:
        try:
            re.compile(prefix)
        except re.error as exc:
            raise SignListError(f"{where}: prefix does not compile: {exc}") from exc
    compiled: dict[str, re.Pattern] = {}
    for strand, patterns in sign_list.strands.items():
        if strand not in strands:
            raise SignListError(f"{where}: unknown strand {strand!r} "
                                f"(one of {', '.join(strands)})")
        alternatives = []
        for number, pattern in enumerate(patterns, start=1):
            if not isinstance(pattern, str) or not pattern.strip():
                raise SignListError(f"{where}: {strand}[{number}] is empty")
            source = normalise_pattern(pattern)
            try:
                re.compile(source)
            except re.error as exc:
                raise SignListError(f"{where}: {strand}[{number}] {pattern!r} does not "
                                    f"compile: {exc}") from exc
            if re.fullmatch(source, ""):
                raise SignListError(f"{where}: {strand}[{number}] {pattern!r} matches "
                                    "empty text")
            alternatives.append(f"(?:{source})")
        if alternatives:
            body = "|".join(alternatives)
            lead = f"(?:{prefix})?" if prefix else ""
            compiled[strand] = re.compile(f"{_START}{lead}(?:{body}){_END}")
    return compiled


# Regular-expression syntax a pattern keeps as written: escapes (\u0a00 whole), lookaround
# openers, quantifier braces and the special characters.
_SYNTAX = re.compile(r"(\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\.|\(\?<?[=!:]|\{\d*,?\d*\}"
                     r"|[()|?*+\[\]^$.])")


def normalise_pattern(pattern: str) -> str:
    """Fold the letters of a pattern as `normalise` folds text, leaving its syntax alone.

    Escapes (``\\w``, ``\\s``) and the quantifier braces are kept as written; everything
    else goes through `normalise` piece by piece, so a pattern written with accents or
    another letter form still matches.
    """
    pieces = _SYNTAX.split(pattern)
    out = []
    for piece in pieces:
        if not piece:
            continue
        if _SYNTAX.fullmatch(piece):
            out.append(piece)
        else:
            # Keep the spaces at the edges: `normalise` trims them, but inside a pattern
            # they separate words.
            lead = " " if piece[:1].isspace() else ""
            tail = " " if piece[-1:].isspace() and piece.strip() else ""
            out.append(lead + normalise(piece) + tail if piece.strip() else " ")
    return "".join(out)
