"""What Twilio posts that is not a resident's message: delivery status callbacks, and
messages that come from the service's own numbers.

Twilio posts a status callback to the messaging webhook (or the one named when sending)
each time an outbound message moves on: ``MessageStatus``/``SmsStatus`` is then ``queued``,
``sent``, ``delivered``, ``undelivered``, ``failed``, ``read`` and so on, never
``received``. Some carry ``From`` (our own number), some do not. None of them is a
resident speaking: they are answered with an empty TwiML response, never reach a
conversation, and a failure is recorded on the outbox row of the message it is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# The one status an inbound message carries; anything else is about a message we sent.
RECEIVED = frozenset({"received", "receiving"})
FAILED = frozenset({"failed", "undelivered"})
_SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
_CODE = re.compile(r"^\d{1,6}$")


@dataclass(frozen=True)
class StatusEvent:
    """One status callback: which message, its new status and Twilio's error code."""

    message_sid: str
    status: str
    error_code: str | None

    @property
    def failed(self) -> bool:
        """Return whether the message could not be delivered."""
        return self.status in FAILED


def status_event(form: Mapping[str, str]) -> StatusEvent | None:
    """Return the status callback a form is, or None if it is an inbound message."""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
    if not status or status in RECEIVED:
        return None
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    code = (form.get("ErrorCode") or "").strip()
    return StatusEvent(sid if _SID.match(sid) else "", status[:20],
                       code if _CODE.match(code) else None)


def from_us(address: str, own: Iterable[str | None]) -> bool:
    """Return whether a message's sender is one of the service's own numbers."""
    sender = _bare(address)
    return bool(sender) and any(sender == _bare(number) for number in own if number)


def _bare(address: str) -> str:
    """Return an address without its channel prefix and punctuation, for comparison."""
    value = address.strip()
    if ":" in value:
        value = value.split(":", 1)[1]
    return re.sub(r"[\s().-]", "", value).lower()
