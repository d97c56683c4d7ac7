"""Talk to the Bot API through python-telegram-bot's `Bot`, from synchronous code.

The async/sync boundary: Flask views, the worker and the CLI are synchronous; PTB's `Bot`
is async, and an async `Bot` (its httpx client) is bound to the event loop it was first
used on, so reusing one across separate ``asyncio.run()`` calls fails with "Event loop is
closed". Each *process* therefore owns one event loop running in a daemon thread, started
lazily on first use and keyed by the process id, so a gunicorn worker forked after the app
was built starts its own and never inherits its parent's. Synchronous callers submit a
coroutine with `call` and wait for it with a timeout. One initialised `Bot` per
(token, base URL) lives on that loop: `getMe` runs once per process rather than once per
reply, and HTTP connections (and TLS) to the Bot API are reused between replies, which is
what keeps a reply prompt. Nothing about any conversation is kept here: the loop and the
HTTP connections are plumbing, like a database connection pool.

Never log a URL from this module: every Bot API URL, and every file URL, contains the token.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

# Opt in now to PTB's future form of time periods (timedelta, e.g. RetryAfter.retry_after);
# the old int form warns on every flood-control error.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

if TYPE_CHECKING:
    from bot.settings import TelegramSettings

log = logging.getLogger("reportbot.telegram")

# httpx logs every request URL at INFO, and Telegram URLs carry the bot token; PTB logs the
# token and every message's text at DEBUG. Neither may reach the logs of this service.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.INFO)
logging.getLogger("telegram").setLevel(logging.INFO)

T = TypeVar("T")
CALL_TIMEOUT = 30.0


@dataclass(frozen=True)
class BotConfig:
    """Where the Bot API is and how to authenticate; `token` is never logged."""

    token: str
    api_base_url: str | None = None

    def make_bot(self) -> Bot:
        """Return a new, uninitialised `Bot` for this configuration."""
        kwargs = {}
        if self.api_base_url:
            kwargs = {"base_url": self.api_base_url + "/bot",
                      "base_file_url": self.api_base_url + "/file/bot"}
        return Bot(self.token, request=HTTPXRequest(connection_pool_size=8),
                   get_updates_request=HTTPXRequest(read_timeout=60.0), **kwargs)

    @property
    def bot_id(self) -> str:
        """Return the bot's numeric id, the part of the token before the colon."""
        return self.token.partition(":")[0][:32]


@dataclass(frozen=True)
class TelegramConfig:
    """The Telegram channel's settings, checked at start-up."""

    bot: BotConfig
    webhook_secret: str
    max_file_bytes: int
    rate_limit: int = 30  # messages per chat per minute



def config_from(settings: TelegramSettings) -> TelegramConfig:
    """Return the channel's configuration from the typed settings."""
    return TelegramConfig(BotConfig(settings.bot_token, settings.api_base_url),
                          settings.webhook_secret, settings.max_file_bytes,
                          settings.rate_limit)


class _Loop:
    """One event loop in a daemon thread, with the bots initialised on it."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.bots: dict[BotConfig, Bot] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="telegram-bot-api",
                                       daemon=True)
        self.thread.start()

    async def bot(self, config: BotConfig) -> Bot:
        bot = self.bots.get(config)
        if bot is None:
            bot = config.make_bot()
            await bot.initialize()
            self.bots[config] = bot
        return bot

    async def close(self) -> None:
        for bot in list(self.bots.values()):
            # Closing a connection the far end already dropped is fine.
            with contextlib.suppress(TelegramError, RuntimeError):
                await bot.shutdown()
        self.bots.clear()


_lock = threading.Lock()
_current: _Loop | None = None


def _loop() -> _Loop:
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            _current = _Loop()
        return _current


def bot_loop() -> _Loop:
    """Return this process's Bot API loop (started on first use), e.g. to run many sends."""
    return _loop()


def call(config: BotConfig, fn: Callable[[Bot], Awaitable[T]],
         timeout: float = CALL_TIMEOUT) -> T:
    """Run `fn(bot)` on this process's Bot API loop and return its result."""
    runner = _loop()

    async def run() -> T:
        try:
            bot = await runner.bot(config)
        except BaseException:
            runner.bots.pop(config, None)
            raise
        return await fn(bot)

    return asyncio.run_coroutine_threadsafe(run(), runner.loop).result(timeout)


@atexit.register
def _close_at_exit() -> None:
    runner = _current
    if runner is None or runner.pid != os.getpid() or not runner.loop.is_running():
        return
    # The process is ending; a failure to close politely loses nothing.
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(runner.close(), runner.loop).result(5)


def markup(data: dict | None) -> InlineKeyboardMarkup | None:
    """Build PTB's keyboard object from a rendered ``reply_markup`` dict."""
    if not data:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
        for row in data.get("inline_keyboard", [])
    ])


def retry_after_seconds(exc: RetryAfter) -> float:
    """Return a flood-control wait in seconds."""
    value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    return 1.0


def is_blocked(exc: TelegramError) -> bool:
    """Return whether Telegram said the resident blocked the bot or deleted their account."""
    message = str(exc).lower()
    return isinstance(exc, Forbidden) and ("blocked" in message or "deactivated" in message
                                           or "chat not found" in message)


__all__ = ["BadRequest", "BotConfig", "Forbidden", "InvalidToken", "NetworkError", "RetryAfter",
           "TelegramError", "call", "is_blocked", "markup", "retry_after_seconds"]
