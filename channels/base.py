"""What every channel shares: the `Channel` protocol, its ports, limits and plain rendering.

A channel is one object per provider (channels/telegram/, channels/twilio/,
channels/webchat/, channels/terminal.py). It verifies the provider's request, parses it into
an `Inbound`, hands it to the conversation runner, renders each `Outbound` within its own
limits, and sends outbox items of its target kinds. It never opens a database session: it
is given `ChannelPorts` (the runner and a narrow delivery port), not the application.

Rendering never drops content silently: choices become a numbered list where a channel has
no buttons, and text longer than a channel's limit is split at line or word boundaries.

The application, the worker and the CLI read one registry (`Channels`) that the app
factory assembles (bot/app.py); nothing finds a channel by a string.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flows.messages import Outbound

if TYPE_CHECKING:
    from flask import Blueprint

    from bot.delivery import Delivery
    from bot.i18n import Catalogs
    from bot.media import MediaInbox
    from bot.org import Organisation
    from bot.runner import ConversationRunner
    from bot.sending import Sender
    from flows.engine import Flow

__all__ = ["Channel", "ChannelLimits", "ChannelPorts", "Channels", "render_plain",
           "split_text"]


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


@dataclass(frozen=True)
class ChannelPorts:
    """What a channel is given instead of the application.

    Args:
        runner: runs a resident's message as one turn (and records opt-outs).
        delivery: the few database verbs for sending what is not a reply.
        media: claims evidence files to fetch and records how that went.
        catalogs: translators per language, for the channel's own wording.
        flow: the report flow's steps (read-only), e.g. to know a multi-select question.
        org: the landlord's public details (read-only).
    """

    runner: ConversationRunner
    delivery: Delivery
    media: MediaInbox
    catalogs: Catalogs
    flow: Flow
    org: Organisation


class Channel(Protocol):
    """One provider's channel, as the app, the worker and the CLI see it.

    Attributes:
        name: the provider's name, e.g. ``twilio``.
        limits: the limits of each channel it serves (Twilio serves sms and whatsapp).
        blueprint: its routes, or None (the terminal has none).
        webhooks: whether its routes authenticate themselves (signature, secret or
            token) and are therefore exempt from the console's CSRF check.
    """

    name: str
    limits: tuple[ChannelLimits, ...]
    blueprint: Blueprint | None
    webhooks: bool

    def parse(self, payload: Any) -> Any:
        """Parse one provider payload into an `Inbound` (None if it is not for us).

        Args:
            payload: the provider's request body, decoded (form fields, JSON).
        """

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits) -> Any:
        """Render replies within `limits`, in the shape the provider takes."""

    def senders(self) -> Mapping[str, Sender]:
        """Return a sender for each outbox target kind this channel delivers."""

    def fetch_media(self) -> int:
        """Fetch due pending evidence; return how many files were attempted."""


class Channels:
    """The registry of configured channels, assembled once by the app factory."""

    def __init__(self, channels: Iterable[Channel]) -> None:
        self._channels = {channel.name: channel for channel in channels}

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def __contains__(self, name: str) -> bool:
        return name in self._channels

    def get(self, name: str) -> Channel | None:
        """Return the channel called `name`, if it is configured."""
        return self._channels.get(name)

    def senders(self) -> dict[str, Sender]:
        """Return every channel's senders, by outbox target kind."""
        return {kind: send for channel in self for kind, send in channel.senders().items()}

    def fetch_media(self) -> int:
        """Fetch due pending evidence on every channel; return how many were attempted."""
        return sum(channel.fetch_media() for channel in self)


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
