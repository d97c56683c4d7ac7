"""SMS and WhatsApp through Twilio's messaging webhook.

`POST /webhooks/twilio/messaging` verifies Twilio's signature against the public URL,
parses the form into an `Inbound`, hands it to the conversation runner and answers with
TwiML. Opt-out words and a per-sender rate limit are dealt with before the flow sees a
message. Media are fetched later by the worker (`channels.twilio_media`), and messages
that are not replies go out through the outbox (`channels.twilio_outbound`).

Configuration (environment): TWILIO_AUTH_TOKEN (without it the route answers 404),
REPORTBOT_PUBLIC_URL (required with the token: Twilio signs the URL it called),
TWILIO_ACCOUNT_SID, TWILIO_SMS_FROM, TWILIO_WHATSAPP_FROM, TWILIO_API_BASE_URL,
TWILIO_WHATSAPP_TEMPLATES (JSON: language code to template ContentSid),
TWILIO_RATE_LIMIT_PER_MINUTE (default 30), TWILIO_MEDIA_MAX_BYTES (default 10 MB).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace

import phonenumbers
from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import optout, ratelimit
from bot.services import Services
from bot.settings import Settings, TwilioSettings
from channels.base import ChannelLimits
from channels.twilio_render import render_replies
from flows.engine import N_
from flows.messages import Inbound, Media, Outbound

log = logging.getLogger("reportbot.twilio")

SMS = ChannelLimits(name="sms", max_text=1600, buttons=False, can_reply_later=True)
WHATSAPP = ChannelLimits(name="whatsapp", max_text=1600, buttons=False, can_reply_later=True)
LIMITS = {SMS.name: SMS, WHATSAPP.name: WHATSAPP}

PATH = "/webhooks/twilio/messaging"
EXTENSION = "reportbot.twilio"
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

bp = Blueprint("twilio", __name__)


# The typed, complete Twilio settings (bot/settings.py) are this channel's configuration.
TwilioConfig = TwilioSettings


def load_config(settings: Settings) -> TwilioConfig | None:
    """Return the Twilio configuration, or None when SMS/WhatsApp is not configured."""
    return settings.twilio


@bp.record_once
def _configure(state) -> None:
    """Check the Twilio settings when the app is built and say whether the route is live."""
    services: Services = state.app.extensions["reportbot"]
    config = load_config(services.settings)
    if config is None:
        log.info("SMS/WhatsApp is disabled: TWILIO_AUTH_TOKEN is not set")
        return
    state.app.extensions[EXTENSION] = config
    log.info("SMS/WhatsApp webhook enabled at %s", PATH)


def _services() -> Services:
    return current_app.extensions["reportbot"]


# ---- the webhook -----------------------------------------------------------------------

@bp.post(PATH)
def messaging():
    """Verify Twilio's signature, hand the message to the conversation, answer in TwiML."""
    config: TwilioConfig | None = current_app.extensions.get(EXTENSION)
    if config is None:
        abort(404)
    if not _signed(config):
        log.warning("twilio: refused a request with a missing or wrong signature")
        abort(403)
    inbound = parse(request.form)
    if inbound is None:
        log.info("twilio: ignored a message from an address we cannot answer")
        return twiml([])
    return twiml(respond(_services(), config, inbound))


def _signed(config: TwilioConfig) -> bool:
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
        channel, address = "whatsapp", address[len("whatsapp:"):]
    elif ":" in address:  # messenger:, rcs: and others we do not serve
        return None
    sender = normalise_number(address)
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
    return Inbound(channel=channel, sender=sender, message_id=sid,
                   text=form.get("Body", ""), media=media, language_hint=None)


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


def respond(services: Services, config: TwilioConfig, inbound: Inbound) -> list[str]:
    """Handle one message: opt-out words, the rate limit, then the conversation."""
    word = keyword(inbound.text) if not inbound.media else None
    if word in ("out", "in"):
        replies = optout.record(services, inbound, word == "out",
                                lambda locale: _opt_replies(services, inbound, word, locale))
        if replies is not None:
            return _render(services, inbound.channel, replies)
    if word == "help":
        inbound = replace(inbound, command="help")

    def admit(session, conversation, now) -> tuple[Outbound, ...] | None:
        verdict = ratelimit.count(session, conversation, config.rate_limit, now)
        if verdict.allowed:
            return None
        if not verdict.notify:
            return ()
        notice = services.catalogs(verdict.locale).gettext(SLOW_DOWN)
        return (Outbound(text=notice, lang=verdict.locale),)

    result = services.conversations.handle(inbound, admit=admit)
    return _render(services, inbound.channel, result.replies)


def _opt_replies(services: Services, inbound: Inbound, word: str,
                 locale: str) -> tuple[Outbound, ...]:
    if inbound.channel != "whatsapp":
        return ()
    t = services.catalogs(locale)
    # Chosen first, then translated: a literal inside gettext() would be extracted.
    message = WHATSAPP_OPTED_OUT if word == "out" else WHATSAPP_OPTED_IN
    text = t.gettext(message)
    return (Outbound(text=text, lang=locale),)


def _render(services: Services, channel: str, replies) -> list[str]:
    return render_replies(replies, LIMITS[channel], services.catalogs)


def twiml(bodies: list[str]) -> Response:
    """Return a TwiML MessagingResponse with one <Message> per body."""
    response = MessagingResponse()
    for body in bodies:
        response.message(body)
    return Response(str(response), mimetype="text/xml")
