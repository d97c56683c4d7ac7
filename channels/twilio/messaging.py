"""SMS and WhatsApp through Twilio's messaging webhook: verify, parse, hand off, answer.

`POST /webhooks/twilio/messaging` verifies Twilio's signature against the public URL,
parses the form into an `Inbound`, hands it to the conversation runner and answers with
TwiML. Delivery status callbacks and messages from our own numbers never reach a
conversation (channels/twilio/events.py). A WhatsApp sender may be a business-scoped user
id (``US.1349…``) instead of a phone number: it is kept exactly as received. Opt-out
words go to the runner's opt-out record, and the runner counts each message against the
per-sender rate limit. Media are fetched later (channels/twilio/media.py), and
messages that are not replies go out through the outbox (channels/twilio/outbound.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

import phonenumbers
from flask import Response, abort, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.turns import RateLimit
from channels.base import ChannelLimits
from channels.twilio.events import from_us, status_event
from channels.twilio.render import render_replies
from flows.engine import N_
from flows.messages import Inbound, Media, Outbound
from flows.places import place_from

if TYPE_CHECKING:
    from bot.settings import TwilioSettings
    from channels.base import ChannelPorts

log = logging.getLogger("reportbot.twilio")

SMS = ChannelLimits(name="sms", max_text=1600, buttons=False, can_reply_later=True)
WHATSAPP = ChannelLimits(name="whatsapp", max_text=1600, buttons=False, can_reply_later=True)
LIMITS = {SMS.name: SMS, WHATSAPP.name: WHATSAPP}

PATH = "/webhooks/twilio/messaging"
MAX_MEDIA = 10  # Twilio sends at most ten attachments per message.

# Twilio's single-word keywords; the whole body must be the word.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                           "OPTOUT", "REVOKE"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})

SLOW_DOWN = N_("You are sending messages faster than we can read them. Please wait a "
               "minute, then send your last answer again.")
# Twilio answers STOP and START itself on SMS, but not on WhatsApp.
WHATSAPP_OPTED_OUT = N_("You will not get any more messages from us here. If you want to "
                        "hear from us again, send START.")
WHATSAPP_OPTED_IN = N_("Thank you. We can message you here again.")

_SID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
# WhatsApp's business-scoped user ids: a country code, a dot, an opaque id (never a number).
_BSUID = re.compile(r"^[A-Z]{2}\.[A-Za-z0-9_-]{1,128}$")

class Messaging:
    """The messaging webhook of one Twilio account."""

    def __init__(self, ports: ChannelPorts, config: TwilioSettings) -> None:
        self.ports = ports
        self.config = config
        self.rate_limit = RateLimit(config.rate_limit, SLOW_DOWN)

    def webhook(self):
        """Verify Twilio's signature, hand the message to the conversation, answer TwiML."""
        if not self._signed():
            log.warning("twilio: refused a request with a missing or wrong signature")
            abort(403)
        event = status_event(request.form)
        if event is not None:
            if event.message_sid:
                self.ports.delivery.delivery_status(event.message_sid, event.status,
                                                    event.error_code)
            return twiml([])
        if from_us(request.form.get("From", ""),
                   (self.config.sms_from, self.config.whatsapp_from)):
            log.info("twilio: ignored a message from one of our own numbers")
            return twiml([])
        inbound = parse(request.form)
        if inbound is None:
            log.info("twilio: ignored a message from an address we cannot answer")
            return twiml([])
        return twiml(self.respond(inbound))

    def _signed(self) -> bool:
        return signed(self.config)

    def respond(self, inbound: Inbound) -> list[str]:
        """Handle one message: opt-out words, then the conversation (rate-limited)."""
        word = keyword(inbound.text) if not inbound.media else None
        if word == "out":
            replies = self.ports.runner.opt_out(
                inbound, True, lambda locale: self._opt_replies(inbound, word, locale))
            return self._render(inbound.channel, replies or ())
        if word == "help":
            inbound = replace(inbound, command="help")
        # An opt-in word from someone who has not opted out is an ordinary answer (YES is
        # also "yes"); the runner decides that inside the turn.
        opt_in = (lambda locale: self._opt_replies(inbound, "in", locale)) \
            if word == "in" else None
        result = self.ports.runner.handle(inbound, rate_limit=self.rate_limit, opt_in=opt_in)
        return self._render(inbound.channel, result.replies)

    def _opt_replies(self, inbound: Inbound, word: str, locale: str
                     ) -> tuple[Outbound, ...]:
        if inbound.channel != "whatsapp":
            return ()
        t = self.ports.catalogs(locale)
        # Chosen first, then translated: a literal inside gettext() would be extracted.
        message = WHATSAPP_OPTED_OUT if word == "out" else WHATSAPP_OPTED_IN
        return (Outbound(text=t.gettext(message), lang=locale),)

    def _render(self, channel: str, replies) -> list[str]:
        return render_replies(replies, LIMITS[channel], self.ports.catalogs)


def signed(config: TwilioSettings) -> bool:
    """Check X-Twilio-Signature over the public URL and every field received."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = config.public_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return RequestValidator(config.auth_token).validate(url, request.form, signature)


def parse(form: Mapping[str, str]) -> Inbound | None:
    """Parse Twilio's form fields into an Inbound, or None if it cannot be answered."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    address = form.get("From", "")
    channel = "sms"
    if address.startswith("whatsapp:"):
        channel, address = "whatsapp", address[len("whatsapp:"):].strip()
        external = (form.get("ExternalUserId") or "").strip()
        if not address and _BSUID.match(external):
            address = external
    elif ":" in address:  # messenger:, rcs: and others we do not serve
        return None
    sender = address if channel == "whatsapp" and _BSUID.match(address) \
        else normalise_number(address)
    if not _SID.match(sid) or sender is None:
        return None
    try:
        count = min(max(int(form.get("NumMedia") or 0), 0), MAX_MEDIA)
    except ValueError:
        count = 0
    media = tuple(
        Media(content_type=(form.get(f"MediaContentType{i}") or
                            "application/octet-stream")[:100], url=form[f"MediaUrl{i}"])
        for i in range(count) if form.get(f"MediaUrl{i}")
    )
    place = place_from(form["Latitude"], form["Longitude"], form.get("Address", ""),
                       form.get("Label", "")) \
        if form.get("Latitude") and form.get("Longitude") else None
    return Inbound(channel=channel, sender=sender, message_id=sid,
                   text=form.get("Body", ""), media=media, language_hint=None,
                   location=place)


def is_user_id(address: str) -> bool:
    """Return whether a WhatsApp address is a business-scoped user id, not a number."""
    return bool(_BSUID.match(address))


def normalise_number(value: str) -> str | None:
    """Return a phone number in E.164 (UK numbers may come without +44), or None."""
    try:
        number = phonenumbers.parse(value.strip(), "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def keyword(text: str) -> str | None:
    """Return "out", "in" or "help" when the whole message is one of Twilio's keywords."""
    word = text.strip().strip(".!").strip().upper()
    if word in OPT_OUT_WORDS:
        return "out"
    if word in OPT_IN_WORDS:
        return "in"
    if word in HELP_WORDS:
        return "help"
    return None


def twiml(bodies: list[str]) -> Response:
    """Return a TwiML MessagingResponse with one <Message> per body."""
    response = MessagingResponse()
    for body in bodies:
        response.message(body)
    return Response(str(response), mimetype="text/xml")
