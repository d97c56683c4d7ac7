"""Text for SMS and WhatsApp: numbered choices, GSM-7 where the wording allows, few segments.

One character outside the GSM-7 alphabet (an emoji, a curly quote, a bullet) makes a whole
SMS UCS-2: 70 characters instead of 160, 67 instead of 153 per segment of a long message.
The renderer swaps a few typographic characters for their GSM-7 look-alikes, but only when
that makes the whole text GSM-7, and packs a turn's replies into as few messages as fit in
Twilio's 1600-character body without costing an extra segment. Packing also keeps the
order: separate messages from one reply may reach the phone in any order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from channels.base import ChannelLimits, render_plain
from flows.engine import N_, Translator
from flows.messages import Outbound

MAX_BODY = 1600

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table cost two septets (an escape, then the character).
GSM_EXTENSION = frozenset("\f^{}\\[]~|€")

_LOOKALIKES = str.maketrans({
    "\u2022": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    "\u2068": "", "\u2069": "", "\u200e": "", "\u200f": "",
})

# Characters XML 1.0 cannot carry; one of them would make Twilio reject the whole TwiML.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Said under a numbered multi-select list, where there are no buttons to tick.
MULTI_HINT = N_("You can send more than one number, like 1 3")


@dataclass(frozen=True)
class Segments:
    """How an SMS body is encoded and how many segments it is billed and sent as."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    count: int


def is_gsm7(text: str) -> bool:
    """Return whether every character of `text` is in the GSM-7 alphabet or extension."""
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> Segments:
    """Count the SMS segments of `text` (GSM-7 160/153, UCS-2 70/67), as a phone splits it."""
    if is_gsm7(text):
        costs = [2 if c in GSM_EXTENSION else 1 for c in text]
        return Segments("GSM-7", sum(costs), _pack(costs, 160, 153))
    costs = [len(c.encode("utf-16-le")) // 2 for c in text]
    return Segments("UCS-2", sum(costs), _pack(costs, 70, 67))


def _pack(costs: list[int], single: int, multi: int) -> int:
    """Count segments, never splitting an escape pair or a surrogate pair across two."""
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count


def gsm_fold(text: str) -> str:
    """Swap typographic characters for GSM-7 look-alikes if that makes `text` all GSM-7."""
    if is_gsm7(text):
        return text
    folded = text.translate(_LOOKALIKES)
    return folded if is_gsm7(folded) else text


def render_texts(message: Outbound, limits: ChannelLimits, t: Translator) -> list[str]:
    """Render one message as SMS-ready texts: numbered choices, a hint for multi-select.

    The hint ("like 1 3") and the progress line ("Step 3 of about 8") are added only where
    they cost no extra segment: a resident who does not guess the hint is told the same in
    the reply to an answer that was not understood, and progress is a nicety.
    """
    plain = _render(message, limits)
    budget = _count(plain)
    hint = t.gettext(MULTI_HINT)
    # An untranslated hint would put English into someone else's language; leave it out.
    translated = hint != MULTI_HINT or message.lang.split("-")[0] == "en"
    if message.multiple and message.choices and not limits.buttons and translated:
        hinted = _render(replace(message, text=f"{message.text}\n{hint}"), limits)
        if _count(hinted) <= budget:
            message, plain = replace(message, text=f"{message.text}\n{hint}"), hinted
    if message.progress is not None:
        shown = replace(message, text=f"({message.progress.text})\n{message.text}")
        rendered = _render(shown, limits)
        if _count(rendered) <= budget:
            return rendered
    return plain


def _count(texts: list[str]) -> int:
    return sum(segments(p).count for p in texts)


def _render(message: Outbound, limits: ChannelLimits) -> list[str]:
    return [gsm_fold(_XML_INVALID.sub("", part)) for part in render_plain(message, limits)]


def render_replies(replies: Sequence[Outbound], limits: ChannelLimits,
                   translate: Callable[[str], Translator]) -> list[str]:
    """Render a turn's replies as message bodies, packed into as few as cost no extra segment."""
    texts = [part for message in replies
             for part in render_texts(message, limits, translate(message.lang))]
    return pack(texts, min(limits.max_text, MAX_BODY))


def pack(texts: Sequence[str], limit: int = MAX_BODY) -> list[str]:
    """Join consecutive texts with a blank line while the body fits and no segment is added."""
    bodies: list[str] = []
    for text in texts:
        if not text.strip():
            continue
        if bodies:
            joined = f"{bodies[-1]}\n\n{text}"
            if len(joined) <= limit and segments(joined).count <= (
                    segments(bodies[-1]).count + segments(text).count):
                bodies[-1] = joined
                continue
        bodies.append(text)
    return bodies
