"""Fetch photos and documents residents sent on Telegram and keep them as sealed evidence.

The turn stores each file as pending evidence whose sealed source is the Telegram file id
(never a URL: a file URL contains the bot token). After the replies have gone, the serving
process tries to fetch the conversation's files with `getFile` and a download; anything it
cannot fetch is retried by `reportbot worker` (bot/media.py), so a slow or failed download
never holds up a reply. Files over the size limit are refused, not truncated.

python-telegram-bot reads a `getFile` answer's `file_path` from the local disk when such a
file exists there, and joins anything else onto the file endpoint. A path is therefore
downloaded only when it is a plain relative path under the configured Bot API file
endpoint; anything else (``../../etc/passwd``, ``/etc/passwd``, a URL on another host) is
refused before any read, and the evidence marked rejected.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from channels.telegram.api import NetworkError, TelegramConfig, TelegramError, call
from channels.telegram.parse import file_id

if TYPE_CHECKING:
    from bot.media import MediaInbox

log = logging.getLogger("reportbot.telegram")

CHANNELS = ("telegram",)


# One segment of a Bot API file path, e.g. "photos" or "file_7.jpg": no "%", "?", "#",
# slashes, colons or spaces, and never "." or "..".
_SEGMENT = re.compile(r"^[A-Za-z0-9_.,+=~-]{1,128}$")


class TooLarge(Exception):
    """The file is over the configured size limit."""


class UnsafePath(Exception):
    """The Bot API named a file outside its own file endpoint."""


def safe_file_url(base_file_url: str, file_path: str | None) -> bool:
    """Return whether `file_path` is `base_file_url` + "/" + a plain relative path."""
    prefix = base_file_url + "/"
    if not file_path or not file_path.startswith(prefix):
        return False
    segments = file_path[len(prefix):].split("/")
    return all(_SEGMENT.match(s) and s not in (".", "..") for s in segments)


def fetch_pending_media(media: MediaInbox, config: TelegramConfig,
                        conversation_id: int | None = None, limit: int = 10,
                        timeout: float = 120.0) -> int:
    """Fetch due pending Telegram evidence; return how many files were attempted."""
    claims = media.claim(CHANNELS, limit, conversation_id)
    for claim in claims:
        try:
            data = _download(config, claim.source, timeout)
        except TooLarge:
            media.rejected(claim, "file too large")
        except UnsafePath:
            media.rejected(claim, "file path refused")
        except (TelegramError, NetworkError, TimeoutError, ValueError) as exc:
            media.failed_attempt(claim, type(exc).__name__)
        else:
            media.stored(claim, data)
    return len(claims)


def _download(config: TelegramConfig, source: str, timeout: float) -> bytes:
    wanted = file_id(source)
    if not wanted:
        raise ValueError("not a Telegram file")
    limit = config.max_file_bytes

    async def fetch(bot) -> bytes:
        file = await bot.get_file(wanted)
        if not safe_file_url(bot.base_file_url, file.file_path):
            raise UnsafePath
        if file.file_size and file.file_size > limit:
            raise TooLarge
        return bytes(await file.download_as_bytearray())

    data = call(config.bot, fetch, timeout=timeout)
    if len(data) > limit:
        raise TooLarge
    return data
