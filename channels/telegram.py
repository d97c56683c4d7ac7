"""Telegram: the webhook at /webhooks/telegram.

The view verifies the secret Telegram echoes back (constant-time compare), parses the JSON
and hands the update to the pipeline shared with `reportbot telegram poll`; nothing else.
The channel is off (404) when no bot token is configured; replies are sent through the Bot
API by this process, never in the webhook response, which carries one method only.
"""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, current_app, jsonify, request

from channels.telegram_bot import TelegramConfig, load_config
from channels.telegram_pipeline import process_update

log = logging.getLogger("reportbot.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")

bp = Blueprint("telegram", __name__)


@bp.record_once
def _configure(state) -> None:
    """Check the Telegram settings when the app is built, and say whether it is on."""
    services = state.app.extensions["reportbot"]
    config = load_config(services.settings)
    state.app.extensions["telegram"] = config
    if config is None:
        log.info("telegram: disabled (TELEGRAM_BOT_TOKEN is not set); /webhooks/telegram "
                 "answers 404")
    else:
        log.info("telegram: webhook enabled at /webhooks/telegram")


def _refused(status: int, code: str, message: str):
    return jsonify({"error": code, "message": message}), status


@bp.post("/webhooks/telegram")
def webhook():
    """Verify Telegram's secret, then run the update through the shared pipeline."""
    config: TelegramConfig | None = current_app.extensions.get("telegram")
    if config is None:
        return _refused(404, "not_found", "Sorry, there is nothing here.")
    given = request.headers.get(SECRET_HEADER, "")
    expected = config.webhook_secret or ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return _refused(403, "forbidden", "This request could not be verified.")
    update = request.get_json(silent=True)
    if not isinstance(update, dict):
        # Telegram redelivers anything but 2xx; a body we cannot read will not improve.
        log.warning("telegram: ignored a webhook body that is not a JSON object")
        return jsonify({"ok": True})
    process_update(current_app.extensions["reportbot"], config, update)
    return jsonify({"ok": True})
