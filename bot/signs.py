"""The prejudice-sign phrase lists, kept with the catalogs: load them and check them.

Each language has ``locales/<lang>/indicators.toml`` (English too): regular expressions by
strand, matched by `flows.indicators` after normalising. ``python -m bot.signs`` checks
every list (``make test`` runs it beside the catalog check): every catalogued language and
English has a list, every pattern compiles and names a known strand, and every translated
list says it awaits review by a native speaker. At start-up an enabled language without a
list is a configuration error, never a silent English-only match.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

from bot.errors import ConfigError
from bot.i18n import LOCALES_DIR, SOURCE_LOCALE
from flows.indicators import PrejudiceSigns, SignList, SignListError
from flows.report import STRANDS

SIGNS_FILE = "indicators.toml"
REVIEW_NOTE = "awaiting review by a native speaker"


def list_path(code: str, directory: Path = LOCALES_DIR) -> Path:
    """Return where the phrase list of language `code` lives."""
    return directory / code.replace("-", "_") / SIGNS_FILE


def read_list(path: Path, code: str) -> SignList:
    """Read one phrase list; raise SignListError naming the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SignListError(f"{path}: {exc}") from exc
    if data.get("language") != code:
        raise SignListError(f"{path}: language: expected {code!r}, got "
                            f"{data.get('language')!r}")
    strands = data.get("strands")
    if not isinstance(strands, dict) or not strands:
        raise SignListError(f"{path}: strands: expected a table of pattern lists")
    for strand, patterns in strands.items():
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise SignListError(f"{path}: strands.{strand}: expected a list of texts")
    prefix = data.get("prefix", "")
    if not isinstance(prefix, str):
        raise SignListError(f"{path}: prefix: expected text")
    return SignList(language=code, strands={k: tuple(v) for k, v in strands.items()},
                    prefix=prefix, source=str(path))


def load_signs(codes: Iterable[str], directory: Path = LOCALES_DIR) -> PrejudiceSigns:
    """Return the compiled lists of the enabled languages and English.

    Raises:
        ConfigError: a language has no list, or its list is wrong (naming which).
    """
    lists = []
    for code in dict.fromkeys([SOURCE_LOCALE, *codes]):
        path = list_path(code, directory)
        if not path.is_file():
            raise ConfigError(f"organisation.languages: no prejudice-sign list for {code!r} "
                              f"({path})")
        try:
            lists.append(read_list(path, code))
        except SignListError as exc:
            raise ConfigError(str(exc)) from exc
    try:
        return PrejudiceSigns(lists, STRANDS)
    except SignListError as exc:
        raise ConfigError(str(exc)) from exc


def catalogued(directory: Path = LOCALES_DIR) -> list[str]:
    """Return English and every language that has a catalog."""
    codes = sorted(p.parent.parent.name for p in directory.glob("*/LC_MESSAGES/messages.po"))
    return [SOURCE_LOCALE, *codes]


def check_all(directory: Path = LOCALES_DIR) -> list[str]:
    """Return the problems of every phrase list, each naming the file."""
    problems: list[str] = []
    for code in catalogued(directory):
        path = list_path(code, directory)
        if not path.is_file():
            problems.append(f"{code}: no prejudice-sign list ({path})")
            continue
        try:
            sign_list = read_list(path, code)
            PrejudiceSigns([sign_list], STRANDS)
        except SignListError as exc:
            problems.append(str(exc))
            continue
        if code != SOURCE_LOCALE and REVIEW_NOTE not in path.read_text(encoding="utf-8"):
            problems.append(f"{path}: does not say it is {REVIEW_NOTE}")
    return problems


def main() -> int:
    """Print the problems and exit non-zero when there are any."""
    problems = check_all()
    for problem in problems:
        print(problem)
    print(f"{len(catalogued())} prejudice-sign lists checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
