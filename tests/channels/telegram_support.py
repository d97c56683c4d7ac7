"""A fictional Telegram resident: posts real-shaped updates, reads what the fake API got."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path

from channels.telegram import lanes
from tests.channels.contract import ChannelResident
from tests.channels.fake_telegram import FakeBotApi

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "telegram"
TOKEN = "123456789:TEST-fictional-token-abcdefghijklmno"
SECRET = "test-webhook-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT = 700000123


def payload(name: str) -> dict:
    """Return a stored Telegram update body."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def telegram_env(fake: FakeBotApi) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_BASE_URL": fake.url}


class TelegramResident(ChannelResident):
    """One private chat; `post` is any callable taking an update dict (webhook or server).

    Replies leave off the request path (channels/telegram/lanes.py): after each update the
    resident waits for `settle`, by default until this process's lanes have sent and
    recorded everything, before reading what the bot sent.
    """

    _update_ids = itertools.count(900000001)

    def __init__(self, post, fake: FakeBotApi, chat_id: int = CHAT,
                 language: str = "en", settle=lanes.settle) -> None:
        self._post = post
        self.settle = settle
        self.fake = fake
        self.chat_id = chat_id
        self.language = language
        self.message_ids = itertools.count(100)
        self.named: dict[str, int] = {}

    # ---- building updates -------------------------------------------------------------

    def _user(self) -> dict:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Sam",
                "language_code": self.language}

    def message_update(self, text: str, update_id: int | None = None,
                       message_id: int | None = None) -> dict:
        update = copy.deepcopy(payload("private_text"))
        update["update_id"] = update_id or next(self._update_ids)
        message = update["message"]
        message.update(message_id=message_id or next(self.message_ids), text=text,
                       **{"from": self._user()})
        message["chat"]["id"] = self.chat_id
        return update

    def callback_update(self, data: str, message_id: int | None = None,
                        update_id: int | None = None) -> dict:
        if message_id is None:
            message_id = self.last_keyboard()[0]
        update = copy.deepcopy(payload("callback_query"))
        update["update_id"] = update_id or next(self._update_ids)
        query = update["callback_query"]
        query["id"] = f"cbq-{update['update_id']}"
        query["from"] = self._user()
        query["data"] = data
        query["message"]["chat"]["id"] = self.chat_id
        query["message"]["message_id"] = message_id
        query["message"]["reply_markup"] = self.markup_of(message_id)
        return update

    # ---- reading what the bot sent ------------------------------------------------

    def texts(self) -> list[str]:
        return self.fake.sent_texts(self.chat_id)

    def last_keyboard(self) -> tuple[int, dict, str]:
        for params in reversed(self.fake.calls_of("sendMessage")):
            if str(params["chat_id"]) == str(self.chat_id) and params.get("reply_markup") \
                    and "_message_id" in params:
                return params["_message_id"], params["reply_markup"], params["text"]
        raise AssertionError("no keyboard was sent")

    def markup_of(self, message_id: int) -> dict:
        for params in reversed(self.fake.calls_of("editMessageReplyMarkup")):
            if int(params["message_id"]) == message_id:
                return params["reply_markup"]
        for params in self.fake.calls_of("sendMessage"):
            if params.get("_message_id") == message_id:
                return params.get("reply_markup") or {}
        return {}

    def _new(self, update: dict) -> list[str]:
        before = len(self.texts())
        self.post(update)
        return self.texts()[before:]

    def post(self, update: dict) -> None:
        """Post an update, then wait until what it queued has been sent."""
        self._post(update)
        self.settle()

    # ---- the contract's interface -------------------------------------------------

    def start(self) -> list[str]:
        return self._new(self.message_update("/start"))

    def says(self, text: str, message_id: str | None = None) -> list[str]:
        update_id = None
        if message_id is not None:
            update_id = self.named.setdefault(message_id, next(self._update_ids))
        return self._new(self.message_update(text, update_id=update_id))

    def presses(self, option: str, step: str | None = None, message_id: int | None = None,
                update_id: int | None = None) -> list[str]:
        """Press a button of the latest keyboard (or of `message_id`)."""
        if step is None:
            _, markup, _ = self.last_keyboard()
            step = markup["inline_keyboard"][0][0]["callback_data"].split(":")[0]
        return self._new(self.callback_update(f"{step}:{option}", message_id, update_id))
