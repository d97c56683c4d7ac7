"""Telegram: the webhook at /webhooks/telegram, the outbox senders, file fetching.

The view verifies the secret Telegram echoes back (constant-time compare), parses the JSON
and hands the update to the pipeline shared with `reportbot telegram poll`; nothing else.
Replies are sent through the Bot API by this process, never in the webhook response.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flask import Blueprint, jsonify, request

from bot.rota import staff_addresses
from channels.telegram import parse as tp
from channels.telegram.api import TelegramConfig
from channels.telegram.media import fetch_pending_media
from channels.telegram.pipeline import Updates
from channels.telegram.render import LIMITS, render_all
from channels.telegram.send import CHANNEL, TelegramSender
from channels.telegram.staff import KIND as STAFF_KIND
from channels.telegram.staff import staff_sender

if TYPE_CHECKING:
    from bot.sending import Sender
    from channels.base import ChannelLimits, ChannelPorts
    from flows.messages import Outbound

log = logging.getLogger("reportbot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
# my_chat_member tells us when a resident blocks (or unblocks) the bot.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
PATH = "/webhooks/telegram"


class TelegramChannel:
    """The Telegram bot as one channel."""

    name = "telegram"
    limits = (LIMITS,)
    webhooks = True

    def __init__(self, ports: ChannelPorts, config: TelegramConfig) -> None:
        self.ports = ports
        self.config = config
        self.updates = Updates(ports, config)
        self.blueprint = self._routes()
        log.info("telegram: webhook enabled at %s", PATH)

    def parse(self, payload: dict) -> tp.Parsed | None:
        """Parse one update (JSON) into what the pipeline needs, or None."""
        return tp.parse_update(payload)

    def render(self, replies: Sequence[Outbound], limits: ChannelLimits = LIMITS
               ) -> list[dict]:
        """Render replies as Bot API messages with inline keyboards."""
        return render_all(replies, self.ports.catalogs(replies[-1].lang if replies else "en"))

    def senders(self) -> dict[str, Sender]:
        """Return the senders of replies and later messages, and of staff alerts."""
        return {CHANNEL: TelegramSender(self.ports.delivery, self.config),
                STAFF_KIND: staff_sender(self.config, staff_addresses(self.ports.org,
                                                                       "telegram"))}

    def fetch_media(self) -> int:
        """Fetch due pending Telegram files (the worker's retries)."""
        return fetch_pending_media(self.ports.media, self.config)

    def _routes(self) -> Blueprint:
        bp = Blueprint("telegram", __name__)
        bp.add_url_rule(PATH, "webhook", self.webhook, methods=["POST"])
        return bp

    def webhook(self):
        """Verify Telegram's secret, then run the update through the shared pipeline."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.config.webhook_secret.encode()):
            return jsonify({"error": "forbidden",
                            "message": "This request could not be verified."}), 403
        update = request.get_json(silent=True)
        if not isinstance(update, dict):
            # Telegram redelivers anything but 2xx; a body we cannot read will not improve.
            log.warning("telegram: ignored a webhook body that is not a JSON object")
            return jsonify({"ok": True})
        self.updates.process(update)
        return jsonify({"ok": True})
