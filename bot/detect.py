"""Offline guesses of the language a resident writes in, restricted to enabled languages.

Used to suggest, never to impose: the guess only reorders the language menu and offers it.
Only prose of three words or more is guessed from (`flows.language.looks_like_words`):
short replies ("yes", "2", a name) are unreliable, and Base64, links and numbers are not a
language at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from lingua import IsoCode639_1, LanguageDetectorBuilder

from flows.language import prose

MIN_CHARACTERS = 12
MIN_CONFIDENCE = 0.6


class LanguageGuesser:
    """Guess which enabled language a text is written in."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.by_iso: dict[str, str] = {}
        isos = []
        for code in codes:
            base = code.split("-")[0].upper()
            iso = getattr(IsoCode639_1, base, None)
            if iso is not None:
                isos.append(iso)
                self.by_iso[base] = code
        self._detector = (
            # Low accuracy mode with preloaded models: ~35 MB and sub-millisecond guesses
            # for the enabled languages (the full models take ~270 MB per worker).
            LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_low_accuracy_mode()
            .with_preloaded_language_models().build()
            if len(isos) >= 2 else None
        )

    def __call__(self, text: str) -> str | None:
        """Return the enabled language code `text` is confidently in, or None."""
        words = prose(text)
        if self._detector is None or len(words) < MIN_CHARACTERS:
            return None
        values = self._detector.compute_language_confidence_values(words)
        if not values or values[0].value < MIN_CONFIDENCE:
            return None
        return self.by_iso.get(values[0].language.iso_code_639_1.name)
