"""MMS and WhatsApp attachments: recorded by the webhook, fetched by the worker from a local
fake of Twilio's media URLs (Basic auth, then a redirect to short-lived storage)."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import assemble, create_app
from bot.media import MAX_ATTEMPTS
from bot.models import Evidence, utcnow
from channels.twilio import media
from tests.channels.twilio_support import (
    TwilioResident,
    bodies,
    fake_twilio,
    new_sid,
    payload,
    post,
    twilio_services,
)

PHOTO = b"\xff\xd8\xff\xe0" + b"fictional jpeg bytes " * 200


@pytest.fixture
def fake():
    with fake_twilio() as running:
        yield running


@pytest.fixture
def tw(tmp_path, db_url, fake):
    with twilio_services(tmp_path, db_url, TWILIO_API_BASE_URL=fake.url,
                         TWILIO_MEDIA_MAX_BYTES="100000") as services:
        yield services


def _send_media(tw, fake, content_type="image/jpeg", data=PHOTO, name="mms_inbound.txt",
                url=None):
    client = create_app(services=tw).test_client()
    resident = TwilioResident(client, "whatsapp" if "whatsapp" in name else "sms",
                              "+447700900124" if "whatsapp" in name else "+447700900123")
    resident.start()
    sid = new_sid("MM")
    url = url or fake.add_media(sid, new_sid("ME"), content_type, data)
    fields = payload(name, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, MediaUrl0=url,
                     MediaContentType0=content_type)
    return bodies(post(client, fields))


def _evidence(tw) -> Evidence:
    with tw.db.read() as session:
        [row] = session.scalars(select(Evidence)).all()
        return row


def _fetch(tw, now=None) -> int:
    channel = assemble(tw).channels.get("twilio")
    return media.fetch_pending_media(channel.ports.media, channel.config, now=now)


def _later(days: int = 2):
    return utcnow() + timedelta(days=days)


def test_photo_is_fetched_through_the_redirect_and_sealed(tw, fake, caplog):
    replies = _send_media(tw, fake)
    assert "kept this file" in replies[0]
    assert fake.media_requests == 0  # the reply never waits for the download
    with caplog.at_level(logging.DEBUG):
        assert _fetch(tw) == 1
    row = _evidence(tw)
    assert row.status == "stored" and row.size == len(PHOTO)
    assert row.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert tw.vault.open(row.data_enc) == PHOTO and PHOTO not in row.data_enc
    assert "Signature=" not in caplog.text and "/Media/" not in caplog.text
    assert _fetch(tw) == 0


def test_whatsapp_document_is_fetched(tw, fake):
    _send_media(tw, fake, "application/pdf", b"%PDF-1.4 fictional", "whatsapp_media.txt")
    _fetch(tw)
    row = _evidence(tw)
    assert (row.channel, row.status, row.content_type) == ("whatsapp", "stored",
                                                           "application/pdf")


def test_a_failed_fetch_is_retried_later(tw, fake):
    _send_media(tw, fake)
    fake.media_failures = 1
    assert _fetch(tw) == 1
    row = _evidence(tw)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > utcnow()
    assert _fetch(tw) == 0  # not due yet
    assert _fetch(tw, now=_later()) == 1
    assert _evidence(tw).status == "stored"


def test_fetching_gives_up_after_several_attempts(tw, fake):
    _send_media(tw, fake)
    fake.media_failures = 1000
    for attempt in range(MAX_ATTEMPTS):
        assert _fetch(tw, now=_later(attempt + 1)) == 1
    row = _evidence(tw)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.data_enc is None
    assert _fetch(tw, now=_later(30)) == 0


@pytest.mark.parametrize("content_type, data", [
    ("text/html", b"<script>alert(1)</script>"),
    ("image/svg+xml", b"<svg onload='x'/>"),
    ("image/jpeg", b"x" * 100_001),
])
def test_wrong_type_or_too_large_is_refused_for_good(tw, fake, content_type, data):
    _send_media(tw, fake, content_type, data)
    _fetch(tw)
    row = _evidence(tw)
    assert row.status == "rejected" and row.data_enc is None
    assert _fetch(tw, now=_later()) == 0


def test_credentials_are_never_sent_to_a_url_that_is_not_twilio(tw, fake):
    elsewhere = f"http://127.0.0.1:{fake.storage.server_address[1]}/media/anything"
    _send_media(tw, fake, url=elsewhere)
    _fetch(tw)
    assert _evidence(tw).status == "rejected"
