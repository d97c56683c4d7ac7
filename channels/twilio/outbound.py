"""Send outbox messages (not replies) by SMS and WhatsApp with Twilio's REST client.

Payloads: ``{"text": ..., "locale": ...}`` for a free-form message, optionally with
``"variables"`` for the WhatsApp template; or ``{"template": name, "variables": {...},
"locale": ...}`` for a message that exists only as a WhatsApp template.

A message only ever goes to the conversation's own sender, never to a number typed into a
conversation. Before sending, the resident's answers are honoured: an opt-out (STOP, or
Twilio error 21610) is final; a resident who asked to be contacted by phone, email or letter,
or who reported anonymously, gets no proactive text, and the officer is told on the case
timeline instead. WhatsApp allows free-form messages only within 24 hours of the resident's
last message; later, the language's approved template (TWILIO_WHATSAPP_TEMPLATES) is used,
else SMS if the resident chose text messages, else the officer delivers it another way.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.sending import Envelope, SendResult
from channels.twilio.messaging import PATH, is_user_id
from channels.twilio.render import MAX_BODY, gsm_fold

if TYPE_CHECKING:
    from bot.delivery import Delivery, Recipient
    from bot.settings import TwilioSettings

log = logging.getLogger("reportbot.twilio.outbound")

# Free-form WhatsApp is allowed for 24 hours after the resident's last message; keep a
# margin so a message queued at 23:59 is not refused on arrival.
WHATSAPP_WINDOW = timedelta(hours=24) - timedelta(minutes=10)
OPTED_OUT = 21610
OUTSIDE_WINDOW = 63016
UNREACHABLE = frozenset({21211, 21214, 21612, 21614, 63003})
TIMEOUT = 15.0


def rest_client(config: TwilioSettings) -> Client:
    """Return Twilio's REST client for this account, pointed at the configured base URL."""
    client = Client(config.account_sid, config.auth_token, environment={},
                    http_client=TwilioHttpClient(timeout=TIMEOUT))
    client.api.base_url = config.api_base_url
    return client


class TwilioSender:
    """Deliver one outbox envelope on SMS or WhatsApp."""

    def __init__(self, delivery: Delivery, config: TwilioSettings, client: Client) -> None:
        self.delivery = delivery
        self.config = config
        self.client = client

    def __call__(self, envelope: Envelope) -> SendResult:
        """Send the envelope to the conversation's own sender, honouring their answers."""
        payload = envelope.payload
        text = payload.get("text") if isinstance(payload.get("text"), str) else None
        variables = payload.get("variables")
        if variables is not None and not (isinstance(variables, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in variables.items())):
            return SendResult.failed("bad payload: variables")
        if not text and not variables:
            return SendResult.failed("bad payload: no text")
        target = self._target(envelope)
        if target is None:
            return SendResult.failed("no conversation to send to")
        if target.opted_out:
            return SendResult.failed("opted out")
        allowed = _allowed_channels(target, envelope.kind)
        if not allowed:
            return self._needs_officer(envelope, target, "contact preference")
        locale = payload.get("locale") if isinstance(payload.get("locale"), str) \
            else target.locale
        if target.channel == "whatsapp" and "whatsapp" in allowed:
            result = self._whatsapp(envelope, target, text, variables, locale)
            if result is not None:
                return result
        if "sms" in allowed:
            return self._sms(envelope, target, text)
        return self._needs_officer(envelope, target, "outside WhatsApp window")

    # ---- channels --------------------------------------------------------------------

    def _whatsapp(self, envelope: Envelope, target: Recipient, text: str | None,
                  variables: dict | None, locale: str) -> SendResult | None:
        """Send on WhatsApp; None means it cannot go there now (try SMS or the officer)."""
        to = f"whatsapp:{target.address}"
        inside = target.last_inbound_at is not None and \
            datetime.now(UTC) - target.last_inbound_at < WHATSAPP_WINDOW
        if inside and text:
            outcome = self._create(target, to=to, from_=self.config.whatsapp_from,
                                   body=_body(text))
            if outcome != OUTSIDE_WINDOW:
                return outcome
        template = self.config.whatsapp_templates.get(locale) or \
            self.config.whatsapp_templates.get(locale.split("-")[0])
        if template is None:
            return None
        outcome = self._create(target, to=to, from_=self.config.whatsapp_from,
                               content_sid=template,
                               content_variables=json.dumps(variables or {"1": text}))
        return None if outcome == OUTSIDE_WINDOW else outcome

    def _sms(self, envelope: Envelope, target: Recipient, text: str | None) -> SendResult:
        if not self.config.sms_from:
            return self._needs_officer(envelope, target, "SMS not configured")
        if not text or len(_body(text)) > MAX_BODY:
            return self._needs_officer(envelope, target, "not sendable by SMS")
        if is_user_id(target.address):
            # A WhatsApp user id hides the resident's number: there is none to text.
            return self._needs_officer(envelope, target, "no phone number for SMS")
        sms = target
        if target.channel != "sms":
            sms = self._sms_target(target)
            if sms.opted_out:
                return SendResult.failed("opted out of SMS")
        outcome = self._create(sms, to=target.address, from_=self.config.sms_from,
                               body=_body(text))
        return SendResult.failed(f"twilio error {OUTSIDE_WINDOW}") \
            if outcome == OUTSIDE_WINDOW else outcome

    def _create(self, target: Recipient, **params: Any) -> SendResult | int:
        """Create one Twilio message; return the result, or OUTSIDE_WINDOW for 63016.

        Twilio reports the message's delivery to our webhook (its status callback); the
        message's sid is kept on the outbox row to match those reports.
        """
        try:
            message = self.client.messages.create(
                status_callback=self.config.public_url + PATH, **params)
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT:
                self._mark(target, opted_out=True)
                return SendResult.failed(f"twilio error {OPTED_OUT}: opted out")
            if exc.status == 429 or exc.status >= 500:
                return SendResult.retry(f"twilio http {exc.status}")
            if exc.code == OUTSIDE_WINDOW:
                return OUTSIDE_WINDOW
            if exc.code in UNREACHABLE:
                self._mark(target, unreachable=True)
            return SendResult.failed(f"twilio error {exc.code or exc.status}")
        except (OSError, TwilioException) as exc:  # requests' errors are OSErrors
            return SendResult.retry(type(exc).__name__)
        sid = getattr(message, "sid", None)
        return SendResult.sent(sid if isinstance(sid, str) else None)

    # ---- what the resident allowed ---------------------------------------------------

    def _target(self, envelope: Envelope) -> Recipient | None:
        if envelope.conversation_id is None:
            return None
        target = self.delivery.recipient(envelope.conversation_id, envelope.case_id)
        if target is None or target.channel != envelope.channel:
            return None
        return target

    def _sms_target(self, target: Recipient) -> Recipient:
        """Return the same number's SMS conversation (created if new), for its opt-out."""
        return self.delivery.recipient_on("sms", target)

    def _mark(self, target: Recipient, opted_out: bool = False,
              unreachable: bool = False) -> None:
        self.delivery.mark(target.conversation_id, opted_out=opted_out,
                           unreachable=unreachable, case_id=target.case_id)

    def _needs_officer(self, envelope: Envelope, target: Recipient, reason: str
                       ) -> SendResult:
        """Leave the message for the officer to deliver another way; say so on the case."""
        self.delivery.needs_officer(target.case_id, envelope.id, envelope.channel, reason)
        return SendResult.failed(f"needs officer: {reason}")


def _allowed_channels(target: Recipient, kind: str) -> set[str]:
    """Return the channels the resident's contact answers allow a proactive message on."""
    if target.case_id is None:
        return {target.channel}  # no report yet: e.g. a deferred acknowledgement
    if target.anonymous or target.contact_method is None:
        # They asked us not to contact them; only the acknowledgement of their own report.
        return {target.channel} if kind == "acknowledgement" else set()
    if target.contact_method == "this_chat":
        return {target.channel}
    if target.contact_method == "sms":
        return {"sms"}
    return set()


def _body(text: str) -> str:
    return gsm_fold(text.strip())

