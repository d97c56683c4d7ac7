"""Deliver Telegram outbox messages: replies at once by the serving process, retries later.

A turn's replies are one outbox row (payload: the chat and its rendered messages, sealed).
The process that handled the update delivers that row straight after the turn commits; if
Telegram is slow, rate-limits us (429) or is down, the row stays pending and `reportbot
worker` retries it. Each part sent is recorded, so a retry resumes after the last part that
went and never repeats one. "Bot was blocked by the user" marks the conversation
unreachable and fails the message for good.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from bot.models import Conversation, TelegramDelivery
from bot.outbox import Envelope, Outbox, SendResult
from channels.base import split_text
from channels.telegram_bot import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramConfig,
    TelegramError,
    call,
    is_blocked,
    load_config,
    markup,
    retry_after_seconds,
)
from channels.telegram_render import LIMITS

log = logging.getLogger("reportbot.telegram")

CHANNEL = "telegram"


class TelegramSender:
    """Send one outbox envelope's messages to its chat, in order, each part once."""

    def __init__(self, services, config: TelegramConfig) -> None:
        self.services = services
        self.config = config

    def __call__(self, envelope: Envelope) -> SendResult:
        """Send the envelope's remaining parts; say whether it went, or when to retry."""
        payload = envelope.payload
        chat_id, reachable = self._chat(envelope)
        if chat_id is None:
            return SendResult.failed("no chat for this message")
        if not reachable and envelope.kind != "reply":
            return SendResult.failed("resident unreachable or opted out")
        messages = payload.get("messages")
        if not messages:
            messages = [{"text": part} for part in split_text(str(payload.get("text") or " "),
                                                                LIMITS.max_text)]
        # A first attempt cannot have sent anything yet; only retries look up the parts.
        done = self._sent_parts(envelope.id) if envelope.attempts > 1 else set()
        delivered: list[tuple[int, int | None]] = []
        result = SendResult.sent()
        for part, message in enumerate(messages):
            if part in done:
                continue
            try:
                sent = call(self.config.bot, lambda bot, m=message: bot.send_message(
                    chat_id, m["text"], reply_markup=markup(m.get("reply_markup"))))
            except RetryAfter as exc:
                result = SendResult.retry("telegram flood control (429)",
                                          retry_after_seconds(exc))
                break
            except (Forbidden, BadRequest) as exc:
                if is_blocked(exc) or "chat not found" in str(exc).lower():
                    self._mark_unreachable(envelope.conversation_id)
                    result = SendResult.failed("bot was blocked by the resident")
                else:
                    result = SendResult.failed(f"telegram refused: {type(exc).__name__}")
                break
            except (NetworkError, TelegramError, TimeoutError) as exc:
                result = SendResult.retry(f"telegram unavailable: {type(exc).__name__}")
                break
            delivered.append((part, sent.message_id))
        # The parts that went are recorded with the outcome, in one transaction, so a
        # retry sends only what did not go.
        return result.with_record(lambda session: self._record(session, envelope.id,
                                                                delivered))

    def _chat(self, envelope: Envelope) -> tuple[str | None, bool]:
        chat_id = envelope.payload.get("chat_id")
        if envelope.conversation_id is None or (envelope.kind == "reply" and chat_id):
            # A reply goes to the chat that just wrote; nothing to look up.
            return (str(chat_id) if chat_id else None), True
        with self.services.db.read() as session:
            conv = session.get(Conversation, envelope.conversation_id)
        if conv is None:
            return (str(chat_id) if chat_id else None), True
        if not chat_id:
            chat_id = self.services.vault.open_text(conv.sender_enc)
        return chat_id, not (conv.unreachable or conv.opted_out)

    def _sent_parts(self, outbox_id: int) -> set[int]:
        with self.services.db.read() as session:
            return set(session.scalars(select(TelegramDelivery.part).where(
                TelegramDelivery.outbox_id == outbox_id)))

    @staticmethod
    def _record(session, outbox_id: int, delivered: list[tuple[int, int | None]]) -> None:
        for part, message_id in delivered:
            session.add(TelegramDelivery(outbox_id=outbox_id, part=part,
                                         telegram_message_id=message_id))

    def _mark_unreachable(self, conversation_id: int | None) -> None:
        if conversation_id is None:
            return
        log.info("telegram: conversation %s blocked the bot; marked unreachable",
                 conversation_id)
        with self.services.db.write() as session:
            session.execute(update(Conversation).where(Conversation.id == conversation_id)
                            .values(unreachable=True))


def outbox_sender(services) -> tuple[str, TelegramSender] | None:
    """Return the Telegram sender for the worker, or None when Telegram is not configured."""
    config = load_config(services.settings)
    if config is None:
        return None
    return CHANNEL, TelegramSender(services, config)


def deliver_now(services, config: TelegramConfig, ids: list[int]) -> int:
    """Try to deliver these outbox rows at once; what fails is left to the worker."""
    if not ids:
        return 0
    outbox = Outbox(services, {CHANNEL: TelegramSender(services, config)})
    return outbox.run_once(limit=len(ids), ids=ids)
