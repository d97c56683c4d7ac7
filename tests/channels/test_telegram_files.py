"""Telegram files (issue 14): the Bot API's `file_path` is trusted only under its own file
endpoint, and what is kept is judged on the bytes, then served with a safe name and type."""

from __future__ import annotations

import copy
import struct
import zlib

import pytest
from sqlalchemy import select, update

from bot.app import create_app
from bot.db import Database
from bot.models import Case, Evidence
from bot.services import build_services
from channels.telegram.media import safe_file_url
from tests.channels.fake_telegram import FakeBotApi
from tests.channels.telegram_support import TOKEN, TelegramResident, payload, telegram_env
from tests.channels.test_telegram import webhook_poster
from tests.conftest import make_settings
from tests.console.conftest import add_staff, login, report

DOC_ID = "BQACAgQAAxkBAAMPZ-doc"


def _png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@pytest.fixture
def fake():
    server = FakeBotApi(TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def tg(db_url, tmp_path, fake):
    services = build_services(make_settings(tmp_path, db_url, **telegram_env(fake)),
                              db=Database(db_url))
    app = create_app(services=services)
    yield services, app
    services.db.dispose()


def _send_document(services, app, fake, path: str, data: bytes, mime: str) -> Evidence:
    fake.add_file(DOC_ID, data, path)
    resident = TelegramResident(webhook_poster(app.test_client()), fake)
    resident.start()
    update = copy.deepcopy(payload("document"))
    update["message"]["document"]["mime_type"] = mime
    resident.post(update)
    with services.db.read() as session:
        return session.scalars(select(Evidence)).one()


@pytest.mark.parametrize("path", [
    "../../../../etc/passwd", "/etc/passwd", "http://198.51.100.9/documents/file_9.pdf",
    "documents/../../file_9.pdf", "documents/./file_9.pdf", "documents//file_9.pdf",
    "documents/%2e%2e/file_9.pdf", "documents/file_9.pdf?x=1", "documents/file_9.pdf#x",
])
def test_a_file_path_outside_the_file_endpoint_is_refused_before_any_read(tg, fake, path,
                                                                         caplog):
    services, app = tg
    caplog.set_level("WARNING", logger="reportbot.media")
    evidence = _send_document(services, app, fake, path, b"%PDF-1.4 fictional", "application/pdf")
    assert evidence.status == "rejected" and evidence.data_enc is None
    assert fake.calls_of("download") == []  # nothing fetched, nothing read from the disk
    assert "refused (file path refused)" in caplog.text  # refused for its path, not bytes


def test_only_plain_relative_paths_under_the_endpoint_pass():
    base = "http://127.0.0.1:9/file/bot1:abc"
    assert safe_file_url(base, base + "/documents/file_9.pdf")
    assert not safe_file_url(base, "../../../../etc/passwd")
    assert not safe_file_url(base, "http://127.0.0.1:9/file/bot1:abcd/x.pdf")
    assert not safe_file_url(base, base + "/http://evil.example.org/x.pdf")
    assert not safe_file_url(base, base + "/a/..")
    assert not safe_file_url(base, None)


def test_an_html_document_is_rejected_whatever_it_is_called(tg, fake):
    services, app = tg
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    evidence = _send_document(services, app, fake, "documents/file_9.pdf", page, "text/html")
    assert evidence.status == "rejected" and evidence.data_enc is None
    assert fake.calls_of("download")  # fetched, judged on its bytes, not kept


def test_a_real_png_is_kept_as_png_and_downloaded_as_png(tg, fake):
    services, app = tg
    image = _png()
    # Declared a PDF: the kept type is what the bytes are.
    evidence = _send_document(services, app, fake, "documents/file_9.pdf", image,
                              "application/pdf")
    assert evidence.status == "stored" and evidence.content_type == "image/png"
    reference = report(services, details=False)
    with services.db.write() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        session.execute(update(Evidence).values(case_id=case.id))
    add_staff(services)
    client = app.test_client()
    login(client, "duty1")
    response = client.get(f"/console/cases/{reference}/evidence/{evidence.id}")
    assert response.status_code == 200 and response.data == image
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{reference}-{evidence.id}.png"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
