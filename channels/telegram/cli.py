"""`reportbot telegram ...`: set the webhook, show its status, or long-poll locally.

`poll` feeds updates into the same pipeline as the webhook and keeps the next offset in
the database, so a restarted poller neither skips nor reprocesses updates. Nothing printed
here contains the bot token. The commands get what they need from the `reportbot` group's
runtime (`ctx.obj`): the settings, and the configured channels.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING

import click

from bot.cli_errors import Problem, driver_reason
from channels.telegram import lanes
from channels.telegram.api import (
    Forbidden,
    InvalidToken,
    NetworkError,
    TelegramConfig,
    TelegramError,
    call,
)
from channels.telegram.channel import ALLOWED_UPDATES, PATH

if TYPE_CHECKING:
    from channels.telegram.channel import TelegramChannel

log = logging.getLogger("reportbot.telegram")


def _channel(ctx: click.Context) -> TelegramChannel:
    channel = ctx.obj.channels().get("telegram")
    if channel is None:
        raise Problem("TELEGRAM_BOT_TOKEN: required for `reportbot telegram` commands")
    return channel


def _call(config: TelegramConfig, fn, timeout: float = 30.0,
          refused_setting: str = "TELEGRAM_BOT_TOKEN"):
    base = config.bot.api_base_url or "https://api.telegram.org"
    try:
        return call(config.bot, fn, timeout=timeout)
    except (InvalidToken, Forbidden) as exc:
        raise Problem(f"TELEGRAM_BOT_TOKEN: Telegram did not accept the token "
                      f"({_safe(str(exc), config.bot.token)})") from None
    except TimeoutError:
        raise Problem(f"TELEGRAM_API_BASE_URL: no answer from {base} within "
                      f"{timeout:.0f} s") from None
    except NetworkError as exc:
        raise Problem(f"TELEGRAM_API_BASE_URL: cannot reach {base} "
                      f"({driver_reason(_safe(str(exc), config.bot.token))})") from None
    except TelegramError as exc:
        raise Problem(f"{refused_setting}: Telegram refused the request "
                      f"({_safe(str(exc), config.bot.token)})") from None


def _safe(text: str, token: str) -> str:
    return text.replace(token, "<token>")


@click.group()
def telegram() -> None:
    """Run the Telegram bot: webhook set-up, status, or long polling."""


@telegram.command("set-webhook")
@click.pass_context
def set_webhook(ctx: click.Context) -> None:
    """Point Telegram at REPORTBOT_PUBLIC_URL/webhooks/telegram with the secret token."""
    channel = _channel(ctx)
    public_url = ctx.obj.settings().public_url
    if not public_url:
        raise Problem("REPORTBOT_PUBLIC_URL: required to set the webhook (the public "
                      "https:// address of this service)")
    url = public_url + PATH
    config = channel.config
    _call(config, lambda bot: bot.set_webhook(
        url=url, secret_token=config.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)),
        refused_setting="REPORTBOT_PUBLIC_URL")
    click.echo(f"webhook set to {url}")


@telegram.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """Show what Telegram knows about the webhook (pending updates, last error)."""
    config = _channel(ctx).config
    data = _call(config, lambda bot: bot.get_webhook_info())
    click.echo(f"url: {data.url or '(none: long polling)'}")
    click.echo(f"pending updates: {data.pending_update_count}")
    click.echo(f"allowed updates: {', '.join(data.allowed_updates or ()) or '(all)'}")
    if data.last_error_date:
        click.echo(f"last error: {data.last_error_date.isoformat()} "
                   f"{_safe(data.last_error_message or '', config.bot.token)}")


@telegram.command()
@click.option("--timeout", default=30, show_default=True, type=int,
              help="Long-polling wait per request, in seconds.")
@click.option("--stop-after", default=None, type=float,
              help="Stop after this many seconds (for tests and trials).")
@click.option("--delete-webhook", is_flag=True,
              help="Remove a webhook first (Telegram refuses getUpdates while one is set).")
@click.pass_context
def poll(ctx: click.Context, timeout: int, stop_after: float | None,
         delete_webhook: bool) -> None:
    """Fetch updates by long polling into the same pipeline as the webhook."""
    channel = _channel(ctx)
    ctx.obj.migrate()
    if delete_webhook:
        _call(channel.config, lambda bot: bot.delete_webhook(drop_pending_updates=False))
    count = run_poll(channel, timeout=timeout, stop_after=stop_after)
    click.echo(f"handled {count} update(s)")


def run_poll(channel: TelegramChannel, timeout: int = 30,
             stop_after: float | None = None) -> int:
    """Long-poll getUpdates and process each update once; return how many were handled."""
    config, delivery = channel.config, channel.ports.delivery
    cursor = config.bot.bot_id
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    handled = 0
    try:
        while not stopping:
            wait = timeout
            if stop_after is not None:
                left = stop_after - (time.monotonic() - started)
                if left <= 0:
                    break
                wait = max(0, min(timeout, int(left)))
            offset = delivery.cursor(cursor)
            try:
                updates = call(config.bot, lambda bot, o=offset, w=wait: bot.get_updates(
                    offset=o, timeout=w, allowed_updates=list(ALLOWED_UPDATES)),
                    timeout=wait + 60)
            except (NetworkError, TimeoutError) as exc:
                log.warning("telegram poll: %s; retrying", type(exc).__name__)
                time.sleep(1)
                continue
            for item in updates:
                channel.updates.process(item.to_dict())
                delivery.advance_cursor(cursor, item.update_id + 1)
                handled += 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        lanes.settle()  # send what the last updates' turns queued before stopping
    return handled
