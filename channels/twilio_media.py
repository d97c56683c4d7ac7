"""Fetch MMS and WhatsApp attachments that arrived as Twilio media URLs, for the worker.

The webhook only records each attachment as pending evidence (its URL sealed), so the reply
is never held up. Here the worker fetches it with HTTP Basic auth, following Twilio's
redirect to a short-lived file URL, checks its size and type, and stores it sealed with its
SHA-256. A failed fetch is tried again later with backoff, and given up after a few tries.
URLs and file contents never reach the logs.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update

from bot.models import Case, Evidence, utcnow
from bot.outbox import backoff
from bot.services import Services
from channels.twilio import TwilioConfig, load_config

log = logging.getLogger("reportbot.twilio.media")

CHANNELS = ("sms", "whatsapp")
MAX_ATTEMPTS = 6
BATCH = 10
LEASE = timedelta(minutes=2)
TIMEOUT = httpx.Timeout(20.0, connect=5.0)

ALLOWED_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif",
    "image/bmp", "image/tiff",
    "application/pdf",
    "video/mp4", "video/3gpp", "video/quicktime", "video/webm",
    "audio/mpeg", "audio/mp4", "audio/ogg", "audio/amr", "audio/aac", "audio/wav",
    "audio/x-wav", "audio/webm", "audio/3gpp",
})


class Refused(Exception):
    """The file will never be acceptable (wrong type, too large, not from Twilio)."""


@dataclass(frozen=True)
class _Claim:
    id: int
    url: str
    content_type: str
    attempts: int


def fetch_pending_media(services: Services, now: datetime | None = None) -> int:
    """Fetch due pending SMS/WhatsApp evidence; return how many fetches were attempted."""
    config = load_config(services.settings)
    if config is None or not config.account_sid:
        return 0
    claims = _claim(services, now or utcnow())
    if not claims:
        return 0
    with httpx.Client(auth=(config.account_sid, config.auth_token), follow_redirects=True,
                      timeout=TIMEOUT, max_redirects=5) as client:
        for claim in claims:
            _fetch_one(services, config, client, claim)
    return len(claims)


def _claim(services: Services, now: datetime) -> list[_Claim]:
    """Lease due pending rows to this worker, so two workers never fetch the same file."""
    claims = []
    with services.db.write() as session:
        rows = session.scalars(
            select(Evidence)
            .where(Evidence.status == "pending", Evidence.channel.in_(CHANNELS),
                   Evidence.next_attempt_at <= now)
            .order_by(Evidence.next_attempt_at, Evidence.id)
            .limit(BATCH)
        ).all()
        for row in rows:
            attempts, source = row.attempts + 1, row.source_enc
            # Conditional update: only one worker wins a row, on either engine.
            won = session.execute(
                update(Evidence)
                .where(Evidence.id == row.id, Evidence.status == "pending",
                       Evidence.next_attempt_at == row.next_attempt_at)
                .values(attempts=attempts, next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount == 1
            if won:
                claims.append(_Claim(row.id, services.vault.open_text(source) or "",
                                     row.content_type, attempts))
    return claims


def _fetch_one(services: Services, config: TwilioConfig, client: httpx.Client,
               claim: _Claim) -> None:
    try:
        data, content_type = download(client, config, claim.url, claim.content_type)
    except Refused as exc:
        log.warning("evidence %s: refused (%s)", claim.id, exc)
        _finish(services, claim, "rejected", reason=str(exc))
    except (httpx.HTTPError, OSError) as exc:
        if claim.attempts >= MAX_ATTEMPTS:
            log.warning("evidence %s: gave up after %d attempts (%s)", claim.id,
                        claim.attempts, type(exc).__name__)
            _finish(services, claim, "failed", reason="fetch failed")
        else:
            log.info("evidence %s: fetch failed (%s); will retry", claim.id,
                     type(exc).__name__)
            with services.db.write() as session:
                session.execute(update(Evidence).where(Evidence.id == claim.id).values(
                    next_attempt_at=utcnow() + backoff(claim.attempts)))
    else:
        with services.db.write() as session:
            session.execute(update(Evidence).where(Evidence.id == claim.id).values(
                data_enc=services.vault.seal(data), size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), content_type=content_type,
                status="stored", next_attempt_at=None))
        log.info("evidence %s: stored %d bytes", claim.id, len(data))


def download(client: httpx.Client, config: TwilioConfig, url: str,
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


def _finish(services: Services, claim: _Claim, status: str, reason: str) -> None:
    """Mark a file as given up, and tell the officer on the case's timeline."""
    with services.db.write() as session:
        row = session.get(Evidence, claim.id)
        if row is None:
            return
        row.status = status
        row.next_attempt_at = None
        if row.case_id is not None:
            case = session.get(Case, row.case_id)
            if case is not None:
                services.store.record(session, case, "evidence_not_stored", "reportbot",
                                      evidence_id=row.id, reason=reason)
