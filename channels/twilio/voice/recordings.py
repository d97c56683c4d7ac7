"""Fetch call recordings for the worker, keep them sealed, then delete them from Twilio.

A recording arrives as a `RecordingUrl` on Twilio's API host; the turn keeps it as pending
evidence (bot/runner.py). Here it is fetched with the account's credentials, only from the
configured Twilio API host (the same rule as message media, channels/twilio/media.py), its
type judged on the bytes (bot/filetypes.py `sniff`), and handed to the media inbox, which
seals it with its SHA-256. Only then is it deleted from Twilio's storage with the REST
client; a failed fetch or delete is retried with backoff under the inbox's lease, and a
recording already deleted (404) counts as deleted. URLs and audio never reach the logs.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.filetypes import sniff
from channels.twilio.media import TIMEOUT, Refused, download

if TYPE_CHECKING:
    from twilio.rest import Client

    from bot.media import MediaClaim, MediaInbox
    from bot.settings import TwilioSettings

log = logging.getLogger("reportbot.twilio.voice")

CHANNELS = ("voice",)
BATCH = 10
_RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.[a-z0-9]+)?$")


def recording_sid(url: str) -> str | None:
    """Return the RecordingSid a recording URL names, or None."""
    found = _RECORDING_SID.search(urlsplit(url).path)
    return found.group(1) if found else None


def fetch_recordings(media: MediaInbox, config: TwilioSettings, client: Client) -> int:
    """Fetch, keep and delete due recordings; return how many were attempted."""
    claims = media.claim(CHANNELS, BATCH)
    if not claims:
        return 0
    with httpx.Client(auth=(config.account_sid, config.auth_token), follow_redirects=True,
                      timeout=TIMEOUT, max_redirects=5) as http:
        for claim in claims:
            _fetch_one(media, config, http, client, claim)
    return len(claims)


def _fetch_one(media: MediaInbox, config: TwilioSettings, http: httpx.Client,
               client: Client, claim: MediaClaim) -> None:
    sid = recording_sid(claim.source)
    if sid is None:
        media.rejected(claim, "not a Twilio recording URL")
        return
    try:
        data, declared = download(http, config, claim.source, claim.content_type)
        kind = sniff(data)
        if kind is None or not kind.mime.startswith("audio/"):
            raise Refused("not audio")
    except Refused as exc:
        media.rejected(claim, str(exc))
        return
    except (httpx.HTTPError, OSError) as exc:
        media.failed_attempt(claim, type(exc).__name__)
        return
    # Keep it first: a recording is deleted from Twilio only once it is ours, sealed.
    media.stored(claim, data, kind.mime)
    try:
        client.recordings(sid).delete()
    except TwilioRestException as exc:
        if exc.status != 404:
            log.warning("recording for evidence %s: not deleted from Twilio (http %s)",
                        claim.id, exc.status)
    except (OSError, TwilioException) as exc:
        log.warning("recording for evidence %s: not deleted from Twilio (%s)", claim.id,
                    type(exc).__name__)
