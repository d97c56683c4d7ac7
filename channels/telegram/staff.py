"""Send staff notifications to Telegram staff chats, for the outbox ("staff_telegram").

Payloads are built by bot/notify.py: ``{"chat_id": "-100…", "text": …}``; the text holds
the case reference, its priority and hate flag, and a console link, nothing more. The
sender only sends to a chat named in the organisation file's duty rota or managers, so it
can never reach a resident, whatever a payload says.
"""

from __future__ import annotations

from bot.sending import Envelope, Sender, SendResult
from channels.telegram.api import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramConfig,
    TelegramError,
    call,
    retry_after_seconds,
)

KIND = "staff_telegram"


def staff_text(envelope: Envelope, limit: int) -> str | None:
    """Return the payload's text if it is a non-empty string within `limit`."""
    text = envelope.payload.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        return None
    return text.strip()


def staff_sender(config: TelegramConfig, allowed: frozenset[str]) -> Sender:
    """Return the sender of staff alerts to the Telegram chats in `allowed`."""

    def send(envelope: Envelope) -> SendResult:
        chat_id, text = envelope.payload.get("chat_id"), staff_text(envelope, 4096)
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
