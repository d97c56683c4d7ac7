"""Fetch photos and documents residents sent on Telegram and keep them as sealed evidence.

The turn stores each file as pending evidence whose sealed source is the Telegram file id
(never a URL: a file URL contains the bot token). After the replies have gone, the serving
process tries to fetch the conversation's files with `getFile` and a download; anything it
cannot fetch is retried by `reportbot worker`, so a slow or failed download never holds up
a reply. Files over the size limit are refused, not truncated.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from sqlalchemy import select

from bot.models import Evidence, utcnow
from bot.outbox import backoff
from channels.telegram_bot import NetworkError, TelegramError, call, load_config
from channels.telegram_parse import file_id

log = logging.getLogger("reportbot.telegram")

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)


class TooLarge(Exception):
    """The file is over the configured size limit."""


def fetch_pending_media(services, conversation_id: int | None = None, limit: int = 10,
                        timeout: float = 120.0) -> int:
    """Fetch due pending Telegram evidence; return how many files were attempted."""
    config = load_config(services.settings)
    if config is None:
        return 0
    claimed = _claim(services, conversation_id, limit)
    for evidence_id, source, attempts in claimed:
        try:
            data = _download(config, source, timeout)
        except TooLarge:
            _finish(services, evidence_id, status="too_large")
            log.info("telegram: evidence %s refused: over the size limit", evidence_id)
        except (TelegramError, NetworkError, TimeoutError, ValueError) as exc:
            log.warning("telegram: evidence %s fetch failed (%s)", evidence_id,
                        type(exc).__name__)
            if attempts >= MAX_ATTEMPTS:
                _finish(services, evidence_id, status="failed")
            else:
                _finish(services, evidence_id, status="pending",
                        next_attempt_at=utcnow() + backoff(attempts))
        else:
            _finish(services, evidence_id, status="stored", data=data)
    return len(claimed)


def _claim(services, conversation_id: int | None, limit: int) -> list[tuple[int, str, int]]:
    now = utcnow()
    db, vault = services.db, services.vault
    with db.write() as session:
        query = (select(Evidence)
                 .where(Evidence.channel == "telegram", Evidence.status == "pending",
                        Evidence.next_attempt_at <= now)
                 .order_by(Evidence.id).limit(limit))
        if conversation_id is not None:
            query = query.where(Evidence.conversation_id == conversation_id)
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        claimed = []
        for row in session.scalars(query):
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            claimed.append((row.id, vault.open_text(row.source_enc) or "", row.attempts))
        return claimed


def _download(config, source: str, timeout: float) -> bytes:
    wanted = file_id(source)
    if not wanted:
        raise ValueError("not a Telegram file")
    limit = config.max_file_bytes

    async def fetch(bot) -> bytes:
        file = await bot.get_file(wanted)
        if file.file_size and file.file_size > limit:
            raise TooLarge
        return bytes(await file.download_as_bytearray())

    data = call(config.bot, fetch, timeout=timeout)
    if len(data) > limit:
        raise TooLarge
    return data


def _finish(services, evidence_id: int, status: str, data: bytes | None = None,
            next_attempt_at=None) -> None:
    with services.db.write() as session:
        row = session.get(Evidence, evidence_id)
        if row is None:
            return
        row.status = status
        row.next_attempt_at = next_attempt_at
        if data is not None:
            row.data_enc = services.vault.seal(data)
            row.size = len(data)
            row.sha256 = hashlib.sha256(data).hexdigest()
