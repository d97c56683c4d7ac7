"""Understanding what a resident typed: commands, choices by id, label or number, text.

Typed answers are matched against the labels in the resident's language and in English,
by number ("2", or "1 3" for several), or by a unique whole-word part of a label ("not
sure" for "I'm not sure"). Anything not understood becomes an `Invalid`, which says why in
the resident's language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flows.messages import Inbound
from flows.types import N_, Kind, Option, Step, Translator, TurnContext


class Commands:
    """Words that work at any point; recognised in English and in the resident's language."""

    HELP = "help"
    BACK = "back"
    RESTART = "restart"
    LANGUAGE = "language"
    # Set only by a channel, never typed: a recording answers a TEXT step (a phone call);
    # a call ended before the report was sent; a message left in a language the phone line
    # cannot speak (flows.partial).
    RECORDED = "recorded"
    ENDED_EARLY = "ended_early"
    MESSAGE_ONLY = "message_only"

    WORDS = {
        HELP: (N_("help"), "help", "?"),
        BACK: (N_("back"), "back"),
        RESTART: (N_("start again"), "start again", "restart", "start over"),
        LANGUAGE: (N_("language"), "language", "languages"),
    }


_LOOKALIKES = str.maketrans({"ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss",
                             "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})
_MAX_NUMBER_DIGITS = 3

_SPLIT = re.compile(r"[,;\n]+|\s+")


def fold(text: str) -> str:
    """Normalise typed text for comparison with labels and command words.

    Case and spacing never matter. Accents on Latin letters are ignored ("pomin" matches
    "pomiń", "yardim" matches "yardım"), as are Arabic diacritics and alef forms. Marks in
    other scripts are kept: there they tell words apart.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and ord(kept[-1]) < 0x250:
            continue
        if "\u064b" <= char <= "\u065f" or char == "\u0670":
            continue
        kept.append(char)
    folded = unicodedata.normalize("NFKC", "".join(kept)).translate(_LOOKALIKES)
    return " ".join(folded.split()).strip(" .!?¿¡،。")


# Labels, command words and their translations never change in a process: fold each once.
# Only these go through the cache, never a resident's own text.
fold_label = functools.lru_cache(maxsize=8192)(fold)


def match_command(text: str, t: Translator) -> str | None:
    """Return the command a message is (help, back, start again, language), if any."""
    folded = fold(text)
    if not folded:
        return None
    for command, words in Commands.WORDS.items():
        if folded in {fold_label(w) for w in words} | {fold_label(t.gettext(words[0]))}:
            return command
    return None

# Offered under every optional TEXT step; a tap, its number or its label skips the question.
SKIP = Option("skip", N_("Skip this question"))


def offered_options(step: Step, ctx: TurnContext) -> tuple[Option, ...]:
    """Return the options `step` offers on this channel (a TEXT step's include skipping)."""
    offered = tuple(o for o in step.options if ctx.can_reply_later or not o.reply_channel_only)
    if step.kind is Kind.TEXT and step.optional:
        return (*offered, SKIP)
    return offered

def parse_answer(step: Step, inbound: Inbound, t: Translator, ctx: TurnContext,
                 translate_labels: bool = True) -> Any:
    """Turn the resident's message into an answer for `step`, or an `Invalid`."""
    if step.kind is Kind.TEXT:
        return _parse_text(step, inbound, t, offered_options(step, ctx))
    offered = offered_options(step, ctx)
    labels = {
        o.id: fold_label(t.gettext(o.label) if translate_labels else o.label)
        for o in offered
    }
    english = {o.id: fold_label(o.label) for o in offered}
    if inbound.choices:
        picked = list(dict.fromkeys(inbound.choices))
    else:
        picked = _match_text(offered, step.kind, inbound.text, labels, english)
        if picked is None:
            return Invalid("choice" if step.kind is Kind.CHOICE else "multi")
    if any(p not in labels for p in picked) or not picked:
        return Invalid("choice" if step.kind is Kind.CHOICE else "multi")
    if step.kind is Kind.CHOICE:
        if len(picked) != 1:
            return Invalid("one")
        return picked[0]
    exclusive = {o.id for o in offered if o.exclusive}
    if len(picked) > 1 and exclusive & set(picked):
        return Invalid("exclusive")
    return [o.id for o in offered if o.id in picked]

def _match_text(offered: tuple[Option, ...], kind: Kind, text: str,
                labels: dict[str, str], english: dict[str, str]) -> list[str] | None:
    folded = fold(text)
    if not folded:
        return None
    ids = [o.id for o in offered]
    for table in (labels, english):
        for option_id, label in table.items():
            if folded == label:
                return [option_id]
    if folded in ids:
        return [folded]
    parts = [p for p in _SPLIT.split(folded) if p]
    if parts and all(p.isdecimal() for p in parts):
        if any(len(p) > _MAX_NUMBER_DIGITS for p in parts):
            return None
        numbers = [int(p) for p in parts]
        if all(1 <= n <= len(ids) for n in numbers):
            return [ids[n - 1] for n in numbers]
        return None
    if kind is Kind.MULTI:
        pieces = [fold(p) for p in re.split(r"[,;\n]+", text) if p.strip()]
        found: list[str] = []
        for piece in pieces:
            if piece.isdecimal() and len(piece) <= _MAX_NUMBER_DIGITS \
                    and 1 <= int(piece) <= len(ids):
                found.append(ids[int(piece) - 1])
                continue
            match = _phrase_match(piece, labels, english)
            if match is None:
                return None
            found.append(match)
        return found or None
    match = _phrase_match(folded, labels, english)
    return [match] if match else None

def _parse_text(step: Step, inbound: Inbound, t: Translator,
                offered: tuple[Option, ...]) -> Any:
    """Take typed text, or one of the step's options by button, number or label.

    An option number is never kept as an answer: a bare small number that is not one of
    the options is not understood, so "1" under "1. Skip this question" always skips.
    """
    picked = _text_option(inbound, t, offered)
    if picked is not None:
        return None if picked == SKIP.id else picked
    text = inbound.text.strip()
    if inbound.choices and not text:
        return Invalid("text")
    folded = fold(text)
    if offered and folded.isdecimal() and len(folded) <= _MAX_NUMBER_DIGITS:
        return Invalid("number")
    if not text:
        return Invalid("empty")
    if len(text) > step.max_length:
        return Invalid("long", step.max_length)
    return _clean(text)


def _text_option(inbound: Inbound, t: Translator, offered: tuple[Option, ...]) -> str | None:
    """Return the id of the option a TEXT step's answer picks, if it picks one."""
    ids = [o.id for o in offered]
    if inbound.choices:
        return next((c for c in inbound.choices if c in ids), None)
    folded = fold(inbound.text)
    if not folded or not offered:
        return None
    if folded.isdecimal() and len(folded) <= _MAX_NUMBER_DIGITS \
            and 1 <= int(folded) <= len(ids):
        return ids[int(folded) - 1]
    for option in offered:
        if folded in (fold_label(t.gettext(option.label)), fold_label(option.label)):
            return option.id
    if SKIP in offered and folded in ("skip", fold_label(t.gettext("skip"))):
        return SKIP.id
    return None


def _phrase_match(typed: str, *tables: dict[str, str]) -> str | None:
    """Return the one option whose label is or contains `typed` as whole words."""
    for table in tables:
        for option_id, label in table.items():
            if typed == label:
                return option_id
    if len(typed) < 2:
        return None
    pattern = re.compile(rf"(?<!\w){re.escape(typed)}(?!\w)")
    for table in tables:
        hits = {oid for oid, label in table.items() if pattern.search(label)}
        if len(hits) == 1:
            return hits.pop()
    return None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    """Drop control characters a phone or a script may send; keep the resident's words."""
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class Invalid:
    """Why an answer was not understood; rendered kindly in the resident's language."""

    reason: str
    limit: int = 0

    def message(self, t: Translator) -> str:
        """Say kindly, in the resident's language, why the answer was not understood."""
        if self.reason == "multi":
            return t.gettext("Sorry, I did not understand. Please choose one or more of the "
                             "options. You can type their numbers, like 1 3.")
        if self.reason == "exclusive":
            return t.gettext("Sorry, that answer cannot be combined with the others. "
                             "Please choose again.")
        if self.reason == "one":
            return t.gettext("Please choose just one of the options.")
        if self.reason == "empty":
            return t.gettext("Please type your answer in a message.")
        if self.reason == "text":
            return t.gettext("Please type your answer in your own words.")
        if self.reason == "number":
            return t.gettext("Sorry, that number is not one of the options. Please type "
                             "your answer, or choose an option by its number.")
        if self.reason == "long":
            return t.gettext("That message is too long for this question. Please keep it "
                             "under %(limit)d characters.") % {"limit": self.limit}
        return t.gettext("Sorry, I did not understand. Please choose one of the options. "
                         "You can type its number.")
