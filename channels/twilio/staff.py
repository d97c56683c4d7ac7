"""Send staff notifications by SMS through Twilio, for the outbox ("staff_sms").

Payloads are built by bot/notify.py: ``{"to": "+44…", "text": …}``; the text holds the
case reference, its priority and hate flag, and a console link, nothing more. The sender
only sends to a number named in the organisation file's duty rota or managers, so it can
never reach a resident, whatever a payload says.

Twilio takes no idempotency key: a worker that dies after Twilio accepted a message but
before the outcome is recorded sends it again when the lease runs out. The lease makes that
window a few milliseconds wide; everything else sends once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.sending import Envelope, Sender, SendResult
from channels.twilio.render import MAX_BODY, gsm_fold

if TYPE_CHECKING:
    from twilio.rest import Client

KIND = "staff_sms"


def staff_sender(client: Client, sms_from: str, allowed: frozenset[str]) -> Sender:
    """Return the sender of staff alerts by SMS to the numbers in `allowed`."""

    def send(envelope: Envelope) -> SendResult:
        to, text = envelope.payload.get("to"), envelope.payload.get("text")
        if not isinstance(to, str) or to not in allowed:
            return SendResult.failed("not a staff number in the organisation file")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_BODY:
            return SendResult.failed("bad payload: text")
        try:
            client.messages.create(to=to, from_=sms_from, body=gsm_fold(text.strip()))
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                return SendResult.retry(f"twilio http {exc.status}")
            return SendResult.failed(f"twilio error {exc.code or exc.status}")
        except (OSError, TwilioException) as exc:  # requests' errors are OSErrors
            return SendResult.retry(type(exc).__name__)
        return SendResult.sent()

    return send
