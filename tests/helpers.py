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
        self.channel = channel
        self.sender = sender or f"resident-{uuid.uuid4().hex}"
        self.replies: tuple[Outbound, ...] = ()
        self.done = False
        if opened:
            self.replies = self.runner.open(channel, self.sender,
                                            language_hint=language).replies

    @property
    def services(self) -> Services:
        """The services this resident's messages reach."""
        return self._services

    @services.setter
    def services(self, services: Services) -> None:
        # The runner the application would build on them (e.g. after a key rotation).
        self._services = services
        self.runner = assemble(services).runner

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


# A named victim's essentials, answered the way a resident types on SMS: 15 messages from
# the first answer to the acknowledgement, which ends with the offer to add details.
VICTIM_REPORT: list[tuple[Says, str | None]] = [
    ("no", "reporter_role"),
    ("1", "anonymous"),
    ("Yes, I'll give my name", "reporter_name"),
    ("Sam Fictional", "narrative"),
    ("The man from flat 9 shouted at me to go back to my own country and kicked my door.",
     "incident_when"),
    ("yesterday", "location_type"),
    ("2", "location"),
    ("Block B, Larkspur Court", "perception"),
    ("yes", "strands"),
    (["ethnic_origin", "religion"], "repair_needed"),
    ("yes", "repair_keep"),
    ("keep", "contact_method"),
    ("phone", "contact_details"),
    ("07700 900456", "leave_message"),
    ("no", "review"),
    ("submit", "details_offer"),
]

# The same victim then adds every optional detail after the acknowledgement.
VICTIM_DETAILS: list[tuple[Says, str | None]] = [
    ("1", "incident_types"),
    ("1 2", "perpetrator_known"),
    ("known", "perpetrator_description"),
    ("Tall man, lives in flat 9", "evidence"),
    ("1, 3", "police_reference"),
    ("CR/0000/26", "impact"),
    ("1", "safe_times"),
    ("weekday mornings", "language_needs"),
    ("no", "interview"),
    ("visit", "consent_police"),
    ("yes", "consent_council"),
    ("no", "consent_support"),
    ("yes", "monitoring_offer"),
    ("no", None),
]

# Declining the details: the conversation ends with the report as it is.
NOT_NOW: list[tuple[Says, str | None]] = [("not now", None)]

# An anonymous victim's essentials: 11 messages from the first answer to the acknowledgement.
ANONYMOUS_REPORT: list[tuple[Says, str | None]] = [
    ("no", "reporter_role"),
    ("1", "anonymous"),
    ("2", "narrative"),
    ("Someone wrote abuse about my religion on my door again.", "incident_when"),
    ("It keeps happening", "location_type"),
    ("1", "location"),
    ("skip", "perception"),
    ("yes", "strands"),
    ("religion", "repair_needed"),
    ("yes", "repair_keep"),
    ("no, remove it soon", "review"),
    ("submit", "details_offer"),
]

# A daughter reporting for her father, who agrees: the victim's details come first.
THIRD_PARTY_REPORT: list[tuple[Says, str | None]] = [
    ("no", "reporter_role"),
    ("I'm reporting for family or a friend", "anonymous"),
    ("1", "reporter_name"),
    ("Jo Example", "victim_details"),
    ("My dad, Pat Example, flat 3", "victim_aware"),
    ("1", "narrative"),
    ("Boys on the estate call my dad names about his wheelchair.", "incident_when"),
    ("3", "location_type"),
    ("estate", "location"),
    ("Juniper Walk", "perception"),
    ("yes", "strands"),
    ("disability", "perceived_by"),
    ("1 2", "repair_needed"),
    ("no", "contact_method"),
    ("email", "contact_details"),
    ("jo@example.org", "leave_message"),
    ("yes", "review"),
    ("submit", "details_offer"),
]

# In danger now: 999 first, then carrying on with the essentials.
DANGER_REPORT: list[tuple[Says, str | None]] = [
    ("yes", "danger_advice"),
    ("carry on now", "reporter_role"),
    *ANONYMOUS_REPORT[1:],
]
