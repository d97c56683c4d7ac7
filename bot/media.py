"""Evidence files that arrived as a link or file id and are fetched after the reply.

A turn records each attachment as pending evidence with its source sealed (bot/runner.py).
A channel's fetcher then claims due files (bot/leases.py), downloads them from its
provider, and reports one of the outcomes below; a failed download is retried with backoff
and given up after a few attempts. One set of statuses for every channel:

- ``pending``: waiting to be fetched (or being fetched, under a lease);
- ``stored``: the file is kept, sealed, with its SHA-256;
- ``rejected``: it will never be acceptable (too large, a type we do not keep, gone);
  whether a file is a kept type is judged here, on its bytes (bot/filetypes.py), for
  every channel, and the type kept is the one the bytes say, never the declared one;
- ``failed``: it could not be fetched after several attempts.

The officer is told on the case's timeline when a file was not stored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import filetypes, leases
from bot.models import Case, Evidence, utcnow

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("reportbot.media")

STORED, REJECTED, FAILED = "stored", "rejected", "failed"
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class MediaClaim:
    """One pending file leased to this process."""

    id: int
    channel: str
    source: str  # the provider's URL or file id; never logged
    content_type: str
    attempts: int


class MediaInbox:
    """Claim pending evidence and record how fetching it went."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def claim(self, channels: Iterable[str], limit: int = 10,
              conversation_id: int | None = None, now: datetime | None = None
              ) -> list[MediaClaim]:
        """Lease up to `limit` due files of `channels` (one conversation's, if given)."""
        where = [Evidence.channel.in_(list(channels))]
        if conversation_id is not None:
            where.append(Evidence.conversation_id == conversation_id)
        s = self._services
        with s.db.write() as session:
            rows = leases.claim(session, Evidence, *where, limit=limit, lease=LEASE,
                                now=now or utcnow())
            return [MediaClaim(row.id, row.channel, s.vault.open_text(row.source_enc) or "",
                               row.content_type, row.attempts) for row in rows]

    def stored(self, claim: MediaClaim, data: bytes, content_type: str | None = None) -> None:
        """Keep the fetched file, sealed, with its size and SHA-256, if it is a kept type.

        The type kept is what the bytes are; `content_type` (the provider's word) is
        ignored, and a file that is not a kept type is rejected unread by anyone.
        """
        kind = filetypes.sniff(data)
        if kind is None:
            self.rejected(claim, "file type not accepted")
            return
        s = self._services
        with s.db.write() as session:
            row = session.get(Evidence, claim.id)
            if row is None:
                return
            row.data_enc = s.vault.seal(data)
            row.size = len(data)
            row.sha256 = hashlib.sha256(data).hexdigest()
            row.content_type = kind.mime
            row.status = STORED
            row.next_attempt_at = None
        log.info("evidence %s: stored %d bytes", claim.id, len(data))

    def rejected(self, claim: MediaClaim, reason: str) -> None:
        """Give up on a file that will never be acceptable, and tell the officer."""
        log.warning("evidence %s: refused (%s)", claim.id, reason)
        self._finish(claim, REJECTED, reason)

    def failed_attempt(self, claim: MediaClaim, error: str) -> None:
        """Try again later with backoff, or give up after `MAX_ATTEMPTS`."""
        if claim.attempts >= MAX_ATTEMPTS:
            log.warning("evidence %s: gave up after %d attempts (%s)", claim.id,
                        claim.attempts, error)
            self._finish(claim, FAILED, "fetch failed")
            return
        log.info("evidence %s: fetch failed (%s); will retry", claim.id, error)
        with self._services.db.write() as session:
            row = session.get(Evidence, claim.id)
            if row is not None:
                row.next_attempt_at = utcnow() + leases.backoff(claim.attempts)

    def _finish(self, claim: MediaClaim, status: str, reason: str) -> None:
        s = self._services
        with s.db.write() as session:
            row = session.get(Evidence, claim.id)
            if row is None:
                return
            row.status = status
            row.next_attempt_at = None
            found = session.get(Case, row.case_id) if row.case_id is not None else None
            if found is not None:
                s.store.record(session, found, "evidence_not_stored", "reportbot",
                               evidence_id=row.id, reason=reason)
