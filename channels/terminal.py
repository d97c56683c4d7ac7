"""The terminal: `reportbot chat` runs the same report flow at a text prompt."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace

from bot.services import Services
from channels.base import ChannelLimits, render_plain
from flows.messages import Inbound, Outbound

LIMITS = ChannelLimits(name="terminal", max_text=100_000, buttons=False,
                       can_reply_later=False)


def render(replies: tuple[Outbound, ...]) -> str:
    """Return the replies as terminal text, choices numbered, progress in brackets."""
    return "\n\n".join("\n".join(render_plain(_with_progress(m), LIMITS)) for m in replies)


def _with_progress(message: Outbound) -> Outbound:
    if message.progress is None:
        return message
    return replace(message, text=f"[{message.progress.text}]\n{message.text}")


def run(services: Services, read: Callable[[str], str] = input,
        write: Callable[[str], None] = print) -> None:
    """Hold one conversation at the prompt until end of input (Ctrl-D)."""
    sender = "terminal-" + secrets.token_hex(12)
    conversations = services.conversations
    write(render(conversations.open(LIMITS.name, sender).replies))
    while True:
        try:
            line = read("\n> ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        result = conversations.handle(Inbound(
            channel=LIMITS.name, sender=sender, message_id=secrets.token_hex(12), text=line,
        ))
        write(render(result.replies))
