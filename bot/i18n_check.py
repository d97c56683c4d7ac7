"""Check every catalog before it reaches a resident: `python -m bot.i18n_check`.

Fails when a catalog lacks a message of the template, has an untranslated or fuzzy
message, a plural message without all its forms (Polish 3, Arabic 6, Welsh 6), a
placeholder that differs from the source (``%(name)s``, ``%d`` and ``{brace}`` styles), a
wrong Plural-Forms header, or no compiled ``.mo`` (which would silently give English).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR

# Babel's table gives Welsh 5 forms; CLDR (and this project) uses 6:
# zero, one, two, few, many, other.
PLURAL_OVERRIDES = {"cy": 6}

_PERCENT = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
_BRACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def expected_plurals(code: str) -> int:
    """Return how many plural forms a catalog in `code` must have."""
    return PLURAL_OVERRIDES.get(code.split("_")[0], get_plural(code).num_plurals)


def placeholders(text: str) -> list[str]:
    """Return the placeholders in `text`, sorted, with literal %% left out."""
    found = [p for p in _PERCENT.findall(text) if p != "%%"] + _BRACE.findall(text)
    return sorted(found)


def _is_count(placeholder: str) -> bool:
    # A plural form may leave its number out (Arabic's zero form, "one file").
    return placeholder.endswith("d") and placeholder.startswith("%")


def check_catalog(po_path: Path, template_ids: set) -> list[str]:
    """Return the problems of one catalog, each naming the file and the message."""
    code = po_path.parent.parent.name
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=code)
    problems: list[str] = []
    where = f"{code}"
    want = expected_plurals(code)
    if catalog.num_plurals != want:
        problems.append(f"{where}: Plural-Forms header has {catalog.num_plurals} forms, "
                        f"{want} expected")
    ids = {m.id for m in catalog if m.id}
    for missing in sorted(template_ids - ids, key=str):
        problems.append(f"{where}: missing {_short(missing)}")
    for message in catalog:
        if not message.id:
            continue
        label = _short(message.id)
        if message.fuzzy:
            problems.append(f"{where}: fuzzy {label}")
        if isinstance(message.id, tuple | list):
            strings = list(message.string) if isinstance(message.string, tuple | list) else []
            if len(strings) != want or not all(s.strip() for s in strings):
                problems.append(f"{where}: {label} needs {want} plural forms, has "
                                f"{sum(1 for s in strings if s.strip())}")
            source = set(placeholders(message.id[1]))
            needed = {p for p in source if not _is_count(p)}
            for form in strings:
                used = set(placeholders(form)) if form else set()
                if form and (not needed <= used or not used <= source):
                    problems.append(f"{where}: placeholders differ in {label}")
            continue
        if not message.string or not message.string.strip():
            problems.append(f"{where}: untranslated {label}")
        elif placeholders(message.string) != placeholders(message.id):
            problems.append(f"{where}: placeholders differ in {label}: "
                            f"{placeholders(message.id)} vs {placeholders(message.string)}")
    mo = po_path.with_suffix(".mo")
    if not mo.is_file():
        problems.append(f"{where}: no compiled {mo.name} (residents would see English)")
    elif mo.stat().st_mtime < po_path.stat().st_mtime:
        problems.append(f"{where}: {mo.name} is older than the catalog; run make compile")
    return problems


def _short(msgid) -> str:
    text = msgid[0] if isinstance(msgid, tuple | list) else msgid
    return repr(text if len(text) <= 50 else text[:47] + "...")


def check_all(directory: Path = LOCALES_DIR) -> list[str]:
    """Return the problems of every catalog under `directory`."""
    with (directory / "messages.pot").open("rb") as fh:
        template_ids = {m.id for m in read_po(fh) if m.id}
    problems: list[str] = []
    for po in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        problems.extend(check_catalog(po, template_ids))
    return problems


def main() -> int:
    """Print the problems and exit non-zero when there are any."""
    problems = check_all()
    for problem in problems:
        print(problem)
    catalogs = len(list(LOCALES_DIR.glob("*/LC_MESSAGES/messages.po")))
    print(f"{catalogs} catalogs checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
