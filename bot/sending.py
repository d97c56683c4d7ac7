"""What a sender is given and what it answers: the outbox's contract with every channel.

No database here: a channel's sender gets an `Envelope` (one claimed outbox message, opened)
and answers a `SendResult`; the outbox (bot/outbox.py) records the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Envelope", "SendResult", "Sender"]


@dataclass(frozen=True)
class SendResult:
    """How one delivery attempt went.

    `parts` lists the parts of a multi-part message that went in this attempt, as (part
    number, the provider's message id); they are recorded with the outcome, in one
    transaction, so a retry sends only what did not go. `provider_ref` is the provider's id
    of a message sent whole (a Twilio sid), kept to match its later status callbacks.
    """

    status: str  # "sent", "retry" or "failed"
    error: str | None = None
    retry_after: float | None = None
    parts: tuple[tuple[int, int | None], ...] = ()
    provider_ref: str | None = None

    def with_parts(self, parts: Iterable[tuple[int, int | None]]) -> SendResult:
        """Return this result carrying the parts that went."""
        return SendResult(self.status, self.error, self.retry_after, tuple(parts),
                          self.provider_ref)

    @classmethod
    def sent(cls, provider_ref: str | None = None) -> SendResult:
        """Return a successful result, with the provider's id of the message if known."""
        return cls("sent", provider_ref=provider_ref)

    @classmethod
    def retry(cls, error: str, retry_after: float | None = None) -> SendResult:
        """Return a temporary failure, optionally with the provider's wait in seconds."""
        return cls("retry", error, retry_after)

    @classmethod
    def failed(cls, error: str) -> SendResult:
        """Return a permanent failure (e.g. the resident opted out)."""
        return cls("failed", error)


@dataclass(frozen=True)
class Envelope:
    """A claimed outbox message, opened for its sender."""

    id: int
    kind: str
    channel: str
    conversation_id: int | None
    case_id: int | None
    payload: Mapping[str, Any]
    attempts: int


Sender = Callable[[Envelope], SendResult]
