"""`reportbot worker`: deliver the outbox, expire abandoned conversations and apply the
retention policy (daily), forever."""

from __future__ import annotations

import importlib
import logging
import signal
import time
from collections.abc import Callable

from bot import notify, retention
from bot.outbox import Outbox, Sender
from bot.services import Services

log = logging.getLogger("reportbot.worker")

# Each channel module that can send outside a reply offers `outbox_sender(services)`,
# returning (channel name, sender), a list of such pairs (one module serving several
# channels, like Twilio's SMS and WhatsApp), or None when the channel is not configured.
SENDER_MODULES: tuple[str, ...] = ("bot.notify", "channels.telegram_send",
                                   "channels.twilio_outbound")

# Each channel module whose residents send files by link offers
# `fetch_pending_media(services) -> int`, fetching pending evidence with retries.
MEDIA_MODULES: tuple[str, ...] = ("channels.telegram_media", "channels.twilio_media")


def build_outbox(services: Services) -> Outbox:
    """Return an outbox with a sender for every configured channel."""
    outbox = Outbox(services)
    for name in SENDER_MODULES:
        module = importlib.import_module(name)
        factory: Callable[[Services], tuple[str, Sender] | list | None] = \
            module.outbox_sender
        made = factory(services)
        for channel, sender in ([made] if isinstance(made, tuple) else made or []):
            outbox.register(channel, sender)
    return outbox


def run(services: Services, interval: float = 1.0, expire_every: float = 3600.0,
        stop_after: float | None = None, escalate_every: float = 60.0,
        retention_every: float = 86400.0) -> None:
    """Deliver due messages every `interval` seconds until SIGTERM/SIGINT."""
    outbox = build_outbox(services)
    log.info("worker started; channels: %s", ", ".join(sorted(outbox.senders)) or "none")
    stopping = False

    def stop(_signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = time.monotonic()
    # Minus infinity, not 0: the monotonic clock starts near zero after a reboot, and each
    # job must run once at start-up, not only after its first interval.
    last_expiry = last_escalation = last_retention = float("-inf")
    while not stopping:
        if time.monotonic() - last_escalation >= escalate_every:
            # Deadlines approaching or passed: managers are told once per case (4.10).
            notify.escalate(services)
            last_escalation = time.monotonic()
        if time.monotonic() - last_expiry >= expire_every:
            count = services.conversations.purge_expired()
            if count:
                log.info("expired %d abandoned conversation(s)", count)
            last_expiry = time.monotonic()
        if time.monotonic() - last_retention >= retention_every:
            # Personal data past the organisation's retention period (bot/retention.py).
            retention.run(services)
            last_retention = time.monotonic()
        attempted = outbox.run_once() if outbox.senders else 0
        for name in MEDIA_MODULES:
            attempted += importlib.import_module(name).fetch_pending_media(services)
        if stop_after is not None and time.monotonic() - started >= stop_after:
            break
        if not attempted:
            time.sleep(interval)
    log.info("worker stopped")
