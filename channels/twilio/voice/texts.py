"""Text a caller their reference, when they ask for it on a call from a mobile.

Offered only when the caller's number is a mobile and they press the key that says a text
is safe. It goes through the outbox like any message that is not a reply (bot/delivery.py
`send`, once per call), by SMS from `TWILIO_SMS_FROM`, only to the number that called and
never after that number opted out of our texts (STOP, or Twilio error 21610).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.sending import Envelope, SendResult
from channels.twilio.messaging import PATH
from channels.twilio.outbound import OPTED_OUT
from channels.twilio.render import MAX_BODY, gsm_fold

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.delivery import Delivery
    from bot.settings import TwilioSettings

log = logging.getLogger("reportbot.twilio.voice")

KIND = "reference"


class ReferenceTexter:
    """Deliver an outbox message of a phone-line conversation by SMS to the caller."""

    def __init__(self, delivery: Delivery, config: TwilioSettings, client: Client) -> None:
        self.delivery = delivery
        self.config = config
        self.client = client

    def __call__(self, envelope: Envelope) -> SendResult:
        """Text the caller's own number, honouring an SMS opt-out."""
        text = envelope.payload.get("text")
        if not isinstance(text, str) or not text.strip():
            return SendResult.failed("bad payload: no text")
        if not self.config.sms_from:
            return SendResult.failed("SMS not configured")
        if envelope.conversation_id is None:
            return SendResult.failed("no conversation to send to")
        target = self.delivery.recipient(envelope.conversation_id, envelope.case_id)
        if target is None or target.channel != "voice" or not target.address.startswith("+"):
            return SendResult.failed("no number to text")
        sms = self.delivery.recipient_on("sms", target)
        if sms.opted_out or target.opted_out:
            return SendResult.failed("opted out of SMS")
        body = gsm_fold(text.strip())[:MAX_BODY]
        try:
            message = self.client.messages.create(
                to=target.address, from_=self.config.sms_from, body=body,
                status_callback=self.config.public_url + PATH)
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT:
                self.delivery.mark(sms.conversation_id, opted_out=True)
                return SendResult.failed(f"twilio error {OPTED_OUT}: opted out")
            if exc.status == 429 or exc.status >= 500:
                return SendResult.retry(f"twilio http {exc.status}")
            return SendResult.failed(f"twilio error {exc.code or exc.status}")
        except (OSError, TwilioException) as exc:
            return SendResult.retry(type(exc).__name__)
        sid = getattr(message, "sid", None)
        return SendResult.sent(sid if isinstance(sid, str) else None)
