"""Fetch MMS and WhatsApp attachments that arrived as Twilio media URLs, for the worker.

The webhook only records each attachment as pending evidence (its URL sealed), so the reply
is never held up. Here the worker fetches it with HTTP Basic auth, following Twilio's
redirect to a short-lived file URL, checks its size and type, and hands it to the media
inbox (bot/media.py), which stores it sealed with its SHA-256, or retries a failed fetch
later with backoff. URLs and file contents never reach the logs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from bot.filetypes import ALLOWED

if TYPE_CHECKING:
    from bot.media import MediaClaim, MediaInbox
    from bot.settings import TwilioSettings

log = logging.getLogger("reportbot.twilio.media")

CHANNELS = ("sms", "whatsapp")
BATCH = 10
TIMEOUT = httpx.Timeout(20.0, connect=5.0)

# A first refusal on the declared type, before any download; the bytes are judged again
# when the file is kept (bot/media.py), with the same allow-list.
ALLOWED_TYPES = frozenset(ALLOWED)


class Refused(Exception):
    """The file will never be acceptable (wrong type, too large, not from Twilio)."""


def fetch_pending_media(media: MediaInbox, config: TwilioSettings,
                        now: datetime | None = None) -> int:
    """Fetch due pending SMS/WhatsApp evidence; return how many fetches were attempted."""
    claims = media.claim(CHANNELS, BATCH, now=now)
    if not claims:
        return 0
    with httpx.Client(auth=(config.account_sid, config.auth_token), follow_redirects=True,
                      timeout=TIMEOUT, max_redirects=5) as client:
        for claim in claims:
            _fetch_one(media, config, client, claim)
    return len(claims)


def _fetch_one(media: MediaInbox, config: TwilioSettings, client: httpx.Client,
               claim: MediaClaim) -> None:
    try:
        data, content_type = download(client, config, claim.source, claim.content_type)
    except Refused as exc:
        media.rejected(claim, str(exc))
    except (httpx.HTTPError, OSError) as exc:
        media.failed_attempt(claim, type(exc).__name__)
    else:
        media.stored(claim, data, content_type)


def download(client: httpx.Client, config: TwilioSettings, url: str,
             declared_type: str) -> tuple[bytes, str]:
    """Fetch one media URL within the size and type limits; return (data, content type)."""
    base = urlsplit(config.api_base_url)
    parts = urlsplit(url)
    # The account's credentials go only to Twilio's API host, never to a URL from elsewhere.
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        raise Refused("not a Twilio media URL")
    with client.stream("GET", url) as response:
        if response.status_code in (404, 410):
            raise Refused(f"gone ({response.status_code})")
        response.raise_for_status()
        content_type = (response.headers.get("content-type") or declared_type)
        content_type = content_type.split(";")[0].strip().lower()
        if content_type not in ALLOWED_TYPES:
            raise Refused("file type not accepted")
        length = response.headers.get("content-length")
        if length and length.isdigit() and int(length) > config.media_max_bytes:
            raise Refused("file too large")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > config.media_max_bytes:
                raise Refused("file too large")
            chunks.append(chunk)
    return b"".join(chunks), content_type
