"""A fictional resident who talks to the real conversation runner, for transcript tests."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime

from bot.app import assemble
from bot.services import Services
from bot.turns import TurnResult
from flows.messages import Inbound, Outbound

_ids = itertools.count(1)

Says = str | list[str]


def runner_of(services: Services):
    """Return the conversation runner the application would use with these services."""
    return assemble(services).runner


class Resident:
    """One person in one conversation; `says` sends a message and keeps the replies."""

    def __init__(self, services: Services, channel: str = "webchat",
                 sender: str | None = None, opened: bool = True,
                 language: str | None = None) -> None:
        self.services = services
        self.runner = assemble(services).runner
        self.channel = channel
        self.sender = sender or f"resident-{uuid.uuid4().hex}"
        self.replies: tuple[Outbound, ...] = ()
        self.done = False
        if opened:
            self.replies = self.runner.open(channel, self.sender,
                                            language_hint=language).replies

    def says(self, message: Says, message_id: str | None = None,
             at: datetime | None = None, **extra) -> TurnResult:
        """Send text (a str) or button choices (a list of ids)."""
        inbound = Inbound(
            channel=self.channel, sender=self.sender,
            message_id=message_id or f"msg-{next(_ids)}",
            text=message if isinstance(message, str) else "",
            choices=tuple(message) if isinstance(message, list) else (),
            received_at=at, **extra,
        )
        result = self.runner.handle(inbound)
        self.replies, self.done = result.replies, result.done
        return result

    @property
    def asked(self) -> str | None:
        """Return the step id of the last question asked, if any."""
        questions = [r.question for r in self.replies if r.question]
        return questions[-1] if questions else None

    @property
    def said(self) -> str:
        """Return everything the bot said in its last replies."""
        return "\n".join(r.text for r in self.replies)

    def follow(self, transcript: Sequence[tuple[Says, str | None]]) -> None:
        """Play a transcript of (resident says, question the bot asks next)."""
        for i, (message, expected) in enumerate(transcript):
            self.says(message)
            assert self.asked == expected, (
                f"turn {i}: after {message!r} expected {expected!r}, bot asked "
                f"{self.asked!r}: {self.said!r}"
            )


# The victim's path through the whole flow, answered the way a resident types on SMS.
VICTIM_REPORT: list[tuple[Says, str | None]] = [
    ("no", "reporter_role"),
    ("1", "anonymous"),
    ("Yes, I'll give my name", "reporter_name"),
    ("Sam Fictional", "narrative"),
    ("The man from flat 9 shouted at me to go back to my own country and kicked my door.",
     "incident_types"),
    ("1 2", "incident_when"),
    ("yesterday", "ongoing"),
    ("2", "location_type"),
    ("communal", "location"),
    ("Block B, Larkspur Court", "perception"),
    ("yes", "strands"),
    (["ethnic_origin", "religion"], "perpetrator_known"),
    ("known", "perpetrator_description"),
    ("Tall man, lives in flat 9", "evidence"),
    ("1, 3", "police_reference"),
    ("CR/0000/26", "repair_needed"),
    ("yes", "repair_keep"),
    ("keep", "impact"),
    ("1", "contact_method"),
    ("phone", "contact_details"),
    ("07700 900456", "safe_times"),
    ("weekday mornings", "leave_message"),
    ("no", "language_needs"),
    ("No", "interview"),
    ("visit", "consent_police"),
    ("yes", "consent_council"),
    ("no", "consent_support"),
    ("yes", "monitoring_offer"),
    ("no", "review"),
    ("submit", None),
]
