"""Send staff notifications by SMS (Twilio) and to Telegram staff chats, for the outbox.

Payloads are built by bot/notify.py: ``{"to": "+44…", "text": …}`` for "staff_sms" and
``{"chat_id": "-100…", "text": …}`` for "staff_telegram"; the text holds the case
reference, its priority and hate flag, and a console link, nothing more. A sender only
sends to a number or chat named in the organisation file's duty rota or managers, so
these channels can never reach a resident, whatever a payload says.

Neither provider takes an idempotency key: a worker that dies after the provider accepted
a message but before the outcome is recorded sends it again when the lease runs out. The
lease makes that window a few milliseconds wide; everything else sends once.
"""

from __future__ import annotations

import logging

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.outbox import Envelope, Sender, SendResult
from bot.rota import targets_of
from channels import telegram_bot, twilio
from channels.telegram_bot import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    call,
    retry_after_seconds,
)
from channels.twilio_render import MAX_BODY, gsm_fold

log = logging.getLogger("reportbot.staff_send")

TIMEOUT = 15.0


def staff_addresses(services, kind: str) -> frozenset[str]:
    """Return the configured staff addresses of one kind ("sms", "telegram")."""
    org = services.org
    return frozenset(address for k, address in targets_of((*org.duty_rota, *org.managers))
                     if k == kind)


def _text(envelope: Envelope, limit: int) -> str | None:
    text = envelope.payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        return None
    return text.strip()


def sms_sender(services) -> Sender | None:
    """Return the staff SMS sender, or None without Twilio and TWILIO_SMS_FROM."""
    config = twilio.load_config(services.settings)
    if config is None or not config.account_sid or not config.sms_from:
        return None
    client = Client(config.account_sid, config.auth_token, environment={},
                    http_client=TwilioHttpClient(timeout=TIMEOUT))
    client.api.base_url = config.api_base_url
    allowed = staff_addresses(services, "sms")
    sms_from = config.sms_from

    def send(envelope: Envelope) -> SendResult:
        to, text = envelope.payload.get("to"), _text(envelope, MAX_BODY)
        if not isinstance(to, str) or to not in allowed:
            return SendResult.failed("not a staff number in the organisation file")
        if text is None:
            return SendResult.failed("bad payload: text")
        try:
            client.messages.create(to=to, from_=sms_from, body=gsm_fold(text))
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                return SendResult.retry(f"twilio http {exc.status}")
            return SendResult.failed(f"twilio error {exc.code or exc.status}")
        except (OSError, TwilioException) as exc:  # requests' errors are OSErrors
            return SendResult.retry(type(exc).__name__)
        return SendResult.sent()

    return send


def telegram_sender(services) -> Sender | None:
    """Return the staff Telegram sender, or None without TELEGRAM_BOT_TOKEN."""
    config = telegram_bot.load_config(services.settings)
    if config is None:
        return None
    allowed = staff_addresses(services, "telegram")

    def send(envelope: Envelope) -> SendResult:
        chat_id, text = envelope.payload.get("chat_id"), _text(envelope, 4096)
        if not isinstance(chat_id, str) or chat_id not in allowed:
            return SendResult.failed("not a staff chat in the organisation file")
        if text is None:
            return SendResult.failed("bad payload: text")
        try:
            call(config.bot, lambda bot: bot.send_message(int(chat_id), text))
        except RetryAfter as exc:
            return SendResult.retry("telegram flood control (429)", retry_after_seconds(exc))
        except (Forbidden, BadRequest) as exc:
            # The bot was removed from the staff chat, or the chat id is wrong: a person
            # must fix the configuration; retrying would not help.
            return SendResult.failed(f"telegram refused: {type(exc).__name__}")
        except (NetworkError, TelegramError, TimeoutError) as exc:
            return SendResult.retry(f"telegram unavailable: {type(exc).__name__}")
        return SendResult.sent()

    return send
