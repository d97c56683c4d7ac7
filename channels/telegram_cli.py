"""`reportbot telegram ...`: set the webhook, show its status, or long-poll locally.

`poll` feeds updates into the same pipeline as the webhook and keeps the next offset in
the database, so a restarted poller neither skips nor reprocesses updates. Nothing printed
here contains the bot token.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import click
from sqlalchemy import select

from bot.cli_errors import Problem, driver_reason

log = logging.getLogger("reportbot.telegram")


def _setup():
    from bot.cli import _ensure_schema, _services, _settings
    from channels.telegram_bot import load_config

    settings = _settings()
    config = load_config(settings)
    if config is None:
        raise Problem("TELEGRAM_BOT_TOKEN: required for `reportbot telegram` commands")
    return settings, config, _ensure_schema, _services


def _call(config, fn, timeout: float = 30.0, refused_setting: str = "TELEGRAM_BOT_TOKEN"):
    from channels.telegram_bot import Forbidden, InvalidToken, NetworkError, TelegramError, call

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
def set_webhook() -> None:
    """Point Telegram at REPORTBOT_PUBLIC_URL/webhooks/telegram with the secret token."""
    from channels.telegram import ALLOWED_UPDATES

    settings, config, _, _ = _setup()
    if not settings.public_url:
        raise Problem("REPORTBOT_PUBLIC_URL: required to set the webhook (the public "
                      "https:// address of this service)")
    url = settings.public_url + "/webhooks/telegram"
    _call(config, lambda bot: bot.set_webhook(
        url=url, secret_token=config.webhook_secret, allowed_updates=list(ALLOWED_UPDATES)),
        refused_setting="REPORTBOT_PUBLIC_URL")
    click.echo(f"webhook set to {url}")


@telegram.command()
def info() -> None:
    """Show what Telegram knows about the webhook (pending updates, last error)."""
    _, config, _, _ = _setup()
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
def poll(timeout: int, stop_after: float | None, delete_webhook: bool) -> None:
    """Fetch updates by long polling into the same pipeline as the webhook."""
    settings, config, ensure_schema, make_services = _setup()
    ensure_schema(settings)
    services = make_services(settings)
    if delete_webhook:
        _call(config, lambda bot: bot.delete_webhook(drop_pending_updates=False))
    count = run_poll(services, config, timeout=timeout, stop_after=stop_after)
    click.echo(f"handled {count} update(s)")


def run_poll(services, config, timeout: int = 30, stop_after: float | None = None) -> int:
    """Long-poll getUpdates and process each update once; return how many were handled."""
    from channels.telegram import ALLOWED_UPDATES
    from channels.telegram_bot import NetworkError, call
    from channels.telegram_pipeline import process_update

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
            offset = _offset(services, config)
            try:
                updates = call(config.bot, lambda bot, o=offset, w=wait: bot.get_updates(
                    offset=o, timeout=w, allowed_updates=list(ALLOWED_UPDATES)),
                    timeout=wait + 60)
            except (NetworkError, TimeoutError) as exc:
                log.warning("telegram poll: %s; retrying", type(exc).__name__)
                time.sleep(1)
                continue
            for item in updates:
                process_update(services, config, item.to_dict())
                _save_offset(services, config, item.update_id + 1)
                handled += 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return handled


def _offset(services, config) -> int | None:
    from bot.models import TelegramCursor

    with services.db.read() as session:
        return session.scalar(select(TelegramCursor.next_offset).where(
            TelegramCursor.bot_id == config.bot.bot_id))


def _save_offset(services, config, offset: int) -> None:
    from bot.models import TelegramCursor, utcnow

    with services.db.write() as session:
        row = session.get(TelegramCursor, config.bot.bot_id)
        if row is None:
            session.add(TelegramCursor(bot_id=config.bot.bot_id, next_offset=offset))
        else:
            row.next_offset = max(row.next_offset, offset)
            row.updated_at = utcnow()
