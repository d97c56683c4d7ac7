"""Outbound webhook endpoints, as the organisation file declares them (`[[webhooks]]`).

An endpoint is one of the landlord's systems (an ASB case management system, a housing
CRM) that is told of case events. bot/org.py validates the table; bot/webhooks.py queues
and delivers the events.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

# Events sent today. "diary.added" and "message.received" arrive with the follow-up issue
# (diary entries and messages from residents after a report): add them here and map the
# timeline entries that raise them in bot/webhooks.py (`EVENT_OF`).
EVENTS = ("case.created", "case.updated", "case.closed")

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_MIN_SECRET_BYTES, _MAX_SECRET_BYTES = 24, 64


@dataclass(frozen=True)
class WebhookEndpoint:
    """One receiving system: where to post, how to sign, what it may hear.

    `secrets` holds the signing secrets, the current one first; during a rotation every
    message carries a signature by each, so the receiver can switch over at any time.
    """

    name: str
    url: str
    secrets: tuple[str, ...]
    events: frozenset[str]
    personal_details: bool = False

    def wants(self, event: str) -> bool:
        """Return whether this endpoint subscribed to `event`."""
        return event in self.events


def check_secret(value: str) -> str:
    """Return a Standard Webhooks secret unchanged, or raise ValueError saying why not."""
    body = value.removeprefix("whsec_")
    try:
        key = base64.b64decode(body, validate=True) if value.startswith("whsec_") else b""
    except (binascii.Error, ValueError):
        key = b""
    if not _MIN_SECRET_BYTES <= len(key) <= _MAX_SECRET_BYTES:
        raise ValueError(
            f"expected a Standard Webhooks secret: \"whsec_\" then base64 of "
            f"{_MIN_SECRET_BYTES} to {_MAX_SECRET_BYTES} random bytes (e.g. python -c "
            f"\"import base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\")")
    return value
