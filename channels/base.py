"""What every channel shares: its declared limits and the plain-text renderer.

A channel module does four things only: verify the provider's request, parse it into an
`Inbound`, render each `Outbound` within the channel's limits, and send. Rendering never
drops content silently: choices become a numbered list where a channel has no buttons, and
text longer than a channel's limit is split at line or word boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.messages import Outbound

__all__ = ["ChannelLimits", "render_plain", "split_text"]


@dataclass(frozen=True)
class ChannelLimits:
    """What a channel can carry.

    Args:
        name: the channel name recorded on the case, e.g. ``sms``.
        max_text: the longest text one message may carry, in characters.
        buttons: whether choices can be shown as buttons.
        can_reply_later: whether the channel can carry a message that is not a reply.
    """

    name: str
    max_text: int
    buttons: bool
    can_reply_later: bool


def render_plain(message: Outbound, limits: ChannelLimits) -> list[str]:
    """Render a message as plain text parts, each within the channel's length limit.

    Args:
        message: what to say.
        limits: the channel's limits; choices are numbered when it has no buttons.

    Returns:
        One or more texts to send in order.
    """
    text = message.text
    if message.choices and not limits.buttons:
        lines = [f"{i}. {c.label}" for i, c in enumerate(message.choices, start=1)]
        text = "\n".join([text, *lines]) if text else "\n".join(lines)
    return split_text(text, limits.max_text)


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` characters, at lines, then words."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = ""
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            parts.append(line[:cut].rstrip())
            line = line[cut:].lstrip()
        current = line
    if current:
        parts.append(current)
    return parts
