"""Spot clear signs of prejudice in a resident's own words.

Used for one thing only: when a resident answers "no" or "not sure" to the perception
question but their account plainly points at who they are ("because I'm Muslim", "go back
to your country"), the flow asks once more, gently, quoting nothing back. The strand codes
found are kept on the case for the officer; the words are never copied anywhere.

This is a short list of plain phrases, not a classifier; it is meant to err towards asking.
"""

from __future__ import annotations

import re

_PATTERNS: dict[str, tuple[str, ...]] = {
    "ethnic_origin": (
        r"\b(go|get|send \w+|going) (back )?(home )?to (your|ur|my|his|her|their|our) "
        r"(own )?country\b", r"\b(your|ur) own country\b", r"\bwhere (you|u) came from\b",
        r"\b(racist|racism|racial)\b", r"\bthe colou?r of (my|his|her|their) skin\b",
        r"\bforeigners?\b", r"\bimmigrants?\b", r"\brefugees?\b", r"\basylum\b",
        r"\bbecause (i am|i'm|im|we are|we're|he is|he's|she is|she's|they are|they're) "
        r"(black|asian|polish|romanian|african|roma|gypsy|traveller|irish|chinese|"
        r"somali|arab|pakistani|indian|bangladeshi|foreign|from)\b",
        r"\bmy (accent|nationality|race)\b",
    ),
    "religion": (
        r"\b(muslims?|islam|islamic|mosque|hijab|headscarf|niqab|burqa)\b",
        r"\b(jews?|jewish|synagogue|kippah|yarmulke)\b", r"\b(sikhs?|turban|gurdwara)\b",
        r"\b(hindus?|temple)\b", r"\bterrorists?\b", r"\bmy (religion|faith)\b",
    ),
    "sexual_orientation": (
        r"\b(gay|lesbian|bisexual|homophobic|homophobia|queer)\b", r"\bmy (partner|husband|"
        r"wife) and i\b.*\b(same sex|two (men|women))\b",
    ),
    "gender": (
        r"\b(trans|transgender|transphobic|transphobia|non-binary|nonbinary)\b",
        r"\bbecause (i am|i'm|im|she is|she's) a (woman|girl)\b", r"\bmisogyn",
    ),
    "disability": (
        r"\b(disabled|disability|wheelchair|autistic|autism|blind|deaf|learning "
        r"difficult(y|ies)|mental health)\b", r"\bmy (illness|condition)\b",
    ),
    "age": (
        r"\bbecause (i am|i'm|im|he is|he's|she is|she's|they are) (old|elderly|young)\b",
        r"\b(old|elderly) (man|woman|lady|people|person)\b",
    ),
}

_COMPILED = {
    strand: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
    for strand, patterns in _PATTERNS.items()
}


def find_indicators(text: str | None) -> list[str]:
    """Return the strand codes whose plain signs appear in `text`, in a stable order."""
    if not text:
        return []
    return [s for s, patterns in _COMPILED.items() if any(p.search(text) for p in patterns)]
