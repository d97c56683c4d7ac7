"""Fetch call recordings for the worker, keep them sealed, then delete them from Twilio.

A recording arrives as a `RecordingUrl` on Twilio's API host; the turn keeps it as pending
evidence (bot/runner.py). Here it is fetched with the account's credentials, only from the
configured Twilio API host (the same rule as message media, channels/twilio/media.py), its
type judged on the bytes (bot/filetypes.py `sniff`), and handed to the media inbox, which
seals it with its SHA-256 (a failed fetch is retried with backoff under the inbox's lease).
Only once it is ours is it deleted from Twilio's storage with the REST client: the deletion
goes through the outbox (channel ``twilio_recording``), which tries it at once and retries
it with backoff, never giving up; a recording already deleted (404) counts as deleted.
URLs and audio never reach the logs.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.filetypes import sniff
from bot.sending import Envelope, SendResult
from channels.twilio.media import TIMEOUT, Refused, download

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.delivery import Delivery
    from bot.media import MediaClaim, MediaInbox
    from bot.settings import TwilioSettings

log = logging.getLogger("reportbot.twilio.voice")

CHANNELS = ("voice",)
DELETIONS = "twilio_recording"  # the outbox channel of deletions from Twilio's storage
BATCH = 10
_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
_RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.[a-z0-9]+)?$")


def recording_sid(url: str) -> str | None:
    """Return the RecordingSid a recording URL names, or None."""
    found = _RECORDING_SID.search(urlsplit(url).path)
    return found.group(1) if found else None


class RecordingDeleter:
    """Delete one recording from Twilio's storage (an outbox message's sender)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, envelope: Envelope) -> SendResult:
        """Delete the recording the envelope names; a 404 means it is already gone."""
        sid = envelope.payload.get("recording")
        if not isinstance(sid, str) or not _SID.match(sid):
            return SendResult.failed("bad payload: recording")
        try:
            self.client.recordings(sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return SendResult.sent(sid)
            return SendResult.retry(f"twilio http {exc.status}")
        except (OSError, TwilioException) as exc:
            return SendResult.retry(type(exc).__name__)
        return SendResult.sent(sid)


def fetch_recordings(media: MediaInbox, config: TwilioSettings, delivery: Delivery,
                     deleter: RecordingDeleter) -> int:
    """Fetch, keep and delete due recordings; return how many were attempted."""
    claims = media.claim(CHANNELS, BATCH)
    if not claims:
        return 0
    with httpx.Client(auth=(config.account_sid, config.auth_token), follow_redirects=True,
                      timeout=TIMEOUT, max_redirects=5) as http:
        for claim in claims:
            sid = _fetch_one(media, config, http, claim)
            if sid is not None:
                delivery.send(kind="delete", channel=DELETIONS, payload={"recording": sid},
                              dedupe_key=f"delete-recording:{sid}", conversation_id=None,
                              sender=deleter)
    return len(claims)


def _fetch_one(media: MediaInbox, config: TwilioSettings, http: httpx.Client,
               claim: MediaClaim) -> str | None:
    """Fetch and keep one recording; return its sid once it is stored."""
    sid = recording_sid(claim.source)
    if sid is None:
        media.rejected(claim, "not a Twilio recording URL")
        return None
    try:
        data, declared = download(http, config, claim.source, claim.content_type)
        kind = sniff(data)
        if kind is None or not kind.mime.startswith("audio/"):
            raise Refused("not audio")
    except Refused as exc:
        media.rejected(claim, str(exc))
        return None
    except (httpx.HTTPError, OSError) as exc:
        media.failed_attempt(claim, type(exc).__name__)
        return None
    # Kept first: a recording is deleted from Twilio only once it is ours, sealed.
    media.stored(claim, data, kind.mime)
    return sid
