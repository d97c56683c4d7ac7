"""The terminal: `reportbot chat` runs the same report flow at a text prompt."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import replace

from channels.base import ChannelLimits, ChannelPorts, render_plain
from flows.messages import Inbound, Outbound

LIMITS = ChannelLimits(name="terminal", max_text=100_000, buttons=False,
                       can_reply_later=False)


class Terminal:
    """One conversation at a text prompt; no routes, nothing sent later."""

    name = "terminal"
    limits = (LIMITS,)
    blueprint = None
    webhooks = False

    def __init__(self, ports: ChannelPorts) -> None:
        self.ports = ports
        self.sender = "terminal-" + secrets.token_hex(12)

    def parse(self, payload: str) -> Inbound:
        """Return one typed line as an Inbound."""
        return Inbound(channel=LIMITS.name, sender=self.sender,
                       message_id=secrets.token_hex(12), text=payload)

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = LIMITS) -> str:
        """Return the replies as terminal text, choices numbered, progress in brackets."""
        return "\n\n".join("\n".join(render_plain(_with_progress(m), limits))
                           for m in replies)

    def senders(self) -> dict:
        """Return no senders: the terminal can carry only replies."""
        return {}

    def fetch_media(self) -> int:
        """Return 0: nothing is sent as a file at the prompt."""
        return 0

    def run(self, read: Callable[[str], str] = input,
            write: Callable[[str], None] = print) -> None:
        """Hold one conversation at the prompt until it ends, or end of input (Ctrl-D)."""
        runner = self.ports.runner
        write(self.render(runner.open(LIMITS.name, self.sender).replies))
        while True:
            try:
                line = read("\n> ")
            except (EOFError, KeyboardInterrupt):
                write("")
                return
            result = runner.handle(self.parse(line))
            write(self.render(result.replies))
            if result.done and not any(r.question for r in result.replies):
                return  # acknowledged and nothing more to ask: the report is safe, so leave


def _with_progress(message: Outbound) -> Outbound:
    if message.progress is None:
        return message
    return replace(message, text=f"[{message.progress.text}]\n{message.text}")
