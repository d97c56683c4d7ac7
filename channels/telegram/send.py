"""Deliver Telegram outbox messages: one part at a time, each part once.

A turn's replies are one outbox row (payload: the chat and its rendered messages, sealed).
The process that handled the update hands that row to its chat's lane (lanes.py), which
sends it off the request path in order; if Telegram is slow, rate-limits us (429) for long
or is down, the row stays pending and `reportbot worker` retries it with `TelegramSender`.
Each part sent is recorded, so a retry resumes after the last part that went and never
repeats one. "Bot was blocked by the user" marks the conversation unreachable and fails the
message for good.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.sending import Envelope, SendResult
from channels.base import split_text
from channels.telegram.api import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramConfig,
    TelegramError,
    call,
    is_blocked,
    markup,
    retry_after_seconds,
)
from channels.telegram.render import LIMITS

if TYPE_CHECKING:
    from telegram import Bot

    from bot.delivery import Delivery

log = logging.getLogger("reportbot.telegram")

CHANNEL = "telegram"


@dataclass(frozen=True)
class Part:
    """How sending one part went: its message id, or the failure that stopped the row."""

    message_id: int | None = None
    failure: SendResult | None = None
    blocked: bool = False


async def send_part(bot: Bot, chat_id: str, message: dict) -> Part:
    """Send one rendered message; classify what Telegram answered."""
    try:
        sent = await bot.send_message(chat_id, message["text"],
                                      reply_markup=markup(message.get("reply_markup")))
    except RetryAfter as exc:
        return Part(failure=SendResult.retry("telegram flood control (429)",
                                             retry_after_seconds(exc)))
    except (Forbidden, BadRequest) as exc:
        if is_blocked(exc) or "chat not found" in str(exc).lower():
            return Part(failure=SendResult.failed("bot was blocked by the resident"),
                        blocked=True)
        return Part(failure=SendResult.failed(f"telegram refused: {type(exc).__name__}"))
    except (NetworkError, TelegramError, TimeoutError) as exc:
        return Part(failure=SendResult.retry(f"telegram unavailable: {type(exc).__name__}"))
    return Part(message_id=sent.message_id)


def messages_of(payload) -> list[dict]:
    """Return an outbox payload's rendered messages (a plain text is split to fit)."""
    messages = payload.get("messages")
    if messages:
        return list(messages)
    return [{"text": part} for part in split_text(str(payload.get("text") or " "),
                                                  LIMITS.max_text)]


class TelegramSender:
    """Send one outbox envelope's messages to its chat, in order, each part once."""

    def __init__(self, delivery: Delivery, config: TelegramConfig) -> None:
        self.delivery = delivery
        self.config = config

    def __call__(self, envelope: Envelope) -> SendResult:
        """Send the envelope's remaining parts; say whether it went, or when to retry."""
        payload = envelope.payload
        chat_id, reachable = self._chat(envelope)
        if chat_id is None:
            return SendResult.failed("no chat for this message")
        if not reachable and envelope.kind != "reply":
            return SendResult.failed("resident unreachable or opted out")
        messages = messages_of(payload)
        # A first attempt cannot have sent anything yet; only retries look up the parts.
        done = self.delivery.sent_parts(envelope.id) if envelope.attempts > 1 else set()
        delivered: list[tuple[int, int | None]] = []
        result = SendResult.sent()
        for part, message in enumerate(messages):
            if part in done:
                continue
            try:
                sent = call(self.config.bot, lambda bot, m=message: send_part(bot, chat_id, m))
            except (TelegramError, TimeoutError) as exc:  # e.g. the bot could not start
                sent = Part(failure=SendResult.retry(
                    f"telegram unavailable: {type(exc).__name__}"))
            if sent.failure is not None:
                if sent.blocked and envelope.conversation_id is not None:
                    log.info("telegram: conversation %s blocked the bot; marked "
                             "unreachable", envelope.conversation_id)
                    self.delivery.mark(envelope.conversation_id, unreachable=True)
                result = sent.failure
                break
            delivered.append((part, sent.message_id))
        # The parts that went are recorded with the outcome, in one transaction, so a
        # retry sends only what did not go.
        return result.with_parts(delivered)

    def _chat(self, envelope: Envelope) -> tuple[str | None, bool]:
        chat_id = envelope.payload.get("chat_id")
        if envelope.conversation_id is None or (envelope.kind == "reply" and chat_id):
            # A reply goes to the chat that just wrote; nothing to look up.
            return (str(chat_id) if chat_id else None), True
        recipient = self.delivery.recipient(envelope.conversation_id)
        if recipient is None:
            return (str(chat_id) if chat_id else None), True
        return str(chat_id or recipient.address), recipient.reachable
