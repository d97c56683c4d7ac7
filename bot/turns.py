"""What a turn gives back to a channel: plain values, no database.

The conversation runner (bot/runner.py) produces these; channels read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flows.messages import Outbound

__all__ = ["ConversationView", "RateLimit", "TurnResult"]


@dataclass(frozen=True)
class TurnResult:
    """The replies to send, and whether the conversation has reached its end.

    `locale` is the conversation's language after the turn: the one the resident chose
    (or was greeted in), which an offer of another language does not change.
    """

    replies: tuple[Outbound, ...]
    done: bool
    duplicate: bool = False
    refused: bool = False
    locale: str | None = None
    retry_after: int = 0  # when refused: whole seconds until the sender may write again


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` messages per `window` per sender; over it, `notice` once a window.

    Counted under the conversation's channel name, keyed by the sender's blind index.
    """

    limit: int
    notice: str  # a msgid, translated into the resident's language
    window: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class ConversationView:
    """What a channel may know of a resident's conversation (nothing personal)."""

    id: int
    locale: str
    phase: str
    question: str | None  # the step id being asked now, if any
    active: bool  # has answers in progress or a submitted report
    unreachable: bool
    reference: str | None = None  # the submitted report's reference, once there is one
