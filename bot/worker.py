"""`reportbot worker`: deliver the outbox (replies, staff alerts, webhooks), fetch files,
escalate deadlines, expire abandoned conversations and apply the retention policy (daily),
forever."""

from __future__ import annotations

import logging
import signal
import time
from typing import TYPE_CHECKING

from bot import notify, retention, webhooks
from bot.outbox import Outbox

if TYPE_CHECKING:
    from bot.app import Assembly

log = logging.getLogger("reportbot.worker")


def build_outbox(assembly: Assembly) -> Outbox:
    """Return an outbox with a sender for every configured target kind."""
    services = assembly.services
    senders = assembly.channels.senders()
    email = notify.email_sender(services)
    if email is not None:
        senders[notify.CHANNEL] = email
    if services.org.webhooks:
        senders[webhooks.CHANNEL] = webhooks.WebhookSender(services)
    notify.check_targets(services, frozenset(senders))
    return Outbox(services, senders, policies={webhooks.CHANNEL: webhooks.POLICY})


def run(assembly: Assembly, interval: float = 1.0, expire_every: float = 3600.0,
        stop_after: float | None = None, escalate_every: float = 60.0,
        retention_every: float = 86400.0) -> None:
    """Deliver due messages every `interval` seconds until SIGTERM/SIGINT."""
    services, runner, channels = assembly.services, assembly.runner, assembly.channels
    outbox = build_outbox(assembly)
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
            count = runner.purge_expired()
            if count:
                log.info("expired %d abandoned conversation(s)", count)
            last_expiry = time.monotonic()
        if time.monotonic() - last_retention >= retention_every:
            # Personal data past the organisation's retention period (bot/retention.py).
            retention.run(services)
            last_retention = time.monotonic()
        attempted = outbox.run_once() if outbox.senders else 0
        attempted += channels.fetch_media()
        if stop_after is not None and time.monotonic() - started >= stop_after:
            break
        if not attempted:
            time.sleep(interval)
    log.info("worker stopped")
