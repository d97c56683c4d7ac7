"""The terminal (`reportbot chat`) keeps the same contract as every other channel."""

from __future__ import annotations

import uuid

from bot.app import assemble
from flows.messages import Inbound
from tests.channels.contract import ChannelContract, ChannelResident


class TerminalResident(ChannelResident):
    def __init__(self, services) -> None:
        self.terminal = assemble(services).channels.get("terminal")
        self.runner = self.terminal.ports.runner
        self.sender = self.terminal.sender

    def start(self) -> list[str]:
        replies = self.runner.open("terminal", self.sender).replies
        return [self.terminal.render(replies)]

    def says(self, text: str, message_id: str | None = None) -> list[str]:
        result = self.runner.handle(Inbound(
            channel="terminal", sender=self.sender,
            message_id=message_id or uuid.uuid4().hex, text=text))
        return [self.terminal.render((reply,)) for reply in result.replies]


class TestTerminalContract(ChannelContract):
    channel = "terminal"

    def resident(self, app, services):
        return TerminalResident(services)


def test_progress_shows_in_brackets_above_the_question(services):
    resident = TerminalResident(services)
    opening = resident.start()[0]
    assert "[Step 1 of about 8]\nAre you in danger right now?\n1. Yes, I am in danger" in opening
