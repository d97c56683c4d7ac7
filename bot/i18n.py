"""Translators per resident locale, loaded from the compiled gettext catalogs.

No process-global locale: each conversation gets the translator for its own language. A
missing catalog for an enabled language is a start-up error, never silent English.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable
from pathlib import Path

from babel import Locale
from babel.support import NullTranslations, Translations

from bot.errors import ConfigError
from flows.engine import Language

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SOURCE_LOCALE = "en"


class Catalogs:
    """The translators of the enabled languages, loaded once at start-up."""

    def __init__(self, languages: Iterable[str], directory: Path = LOCALES_DIR) -> None:
        self.codes = tuple(dict.fromkeys(languages))
        if SOURCE_LOCALE not in self.codes:
            self.codes = (SOURCE_LOCALE, *self.codes)
        self._translators: dict[str, gettext.NullTranslations] = {}
        for code in self.codes:
            if code == SOURCE_LOCALE:
                self._translators[code] = NullTranslations()
                continue
            mo = directory / code.replace("-", "_") / "LC_MESSAGES" / "messages.mo"
            if not mo.is_file():
                raise ConfigError(f"organisation.languages: no compiled catalog for {code!r} "
                                  f"({mo}); run `make compile`")
            self._translators[code] = Translations.load(str(directory), [code.replace("-", "_")])
        self.languages = tuple(_language(code) for code in self.codes)

    def __call__(self, locale: str) -> gettext.NullTranslations:
        """Return the translator for `locale`, or English for an unknown one."""
        return self._translators.get(locale) or self._translators[SOURCE_LOCALE]

    def negotiate(self, hint: str | None) -> str | None:
        """Return the enabled language that best matches a hint like "pt-BR", if any."""
        if not hint:
            return None
        wanted = hint.replace("_", "-").lower()
        for code in self.codes:
            if wanted == code.lower() or wanted.split("-")[0] == code.lower().split("-")[0]:
                return code
        return None


def _language(code: str) -> Language:
    locale = Locale.parse(code.replace("-", "_"))
    name = locale.get_display_name(locale) or code
    return Language(code=code, autonym=name[:1].upper() + name[1:],
                    rtl=locale.text_direction == "rtl")
