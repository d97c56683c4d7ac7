"""Photos and files from the web chat: multipart upload, limits, sealed with SHA-256."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import select

from bot.app import create_app
from bot.models import Case, Evidence
from bot.services import build_services
from tests.channels.test_webchat import WebchatResident
from tests.conftest import make_settings
from tests.databases import migrated
from tests.helpers import ANONYMOUS_REPORT
from tests.test_filetypes import PNG


def _upload(client, token: str, data: bytes, name: str = "photo.png", **form):
    return client.post(f"/api/chat/sessions/{token}/files",
                       data={"file": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def test_a_photo_is_kept_sealed_with_its_checksum_once(client, services):
    web = WebchatResident(client)
    web.start()
    for message, _ in ANONYMOUS_REPORT[:3]:
        web.says(message)
    for _ in range(2):  # a retried upload keeps the file once
        response = _upload(client, web.token, PNG)
        assert response.status_code == 200, response.json
    assert "kept this file" in response.json["messages"][0]["text"]
    assert response.json["messages"][-1]["question"] == "narrative"
    for message, _ in ANONYMOUS_REPORT[3:]:
        web.says(message)
    with services.db.read() as session:
        [item] = session.scalars(select(Evidence)).all()
        case = session.scalars(select(Case)).one()
    assert item.case_id == case.id and item.channel == "webchat"
    assert item.content_type == "image/png" and item.sha256 == hashlib.sha256(PNG).hexdigest()
    assert item.data_enc != PNG and services.vault.open(item.data_enc) == PNG


def test_wrong_kind_too_big_and_unknown_session_get_kind_errors(tmp_path):
    settings = make_settings(tmp_path, REPORTBOT_WEBCHAT_MAX_FILE_BYTES="1024")
    migrated(settings.database_url)
    services = build_services(settings)
    client = create_app(services=services).test_client()
    web = WebchatResident(client)
    web.start()
    html = _upload(client, web.token, b"<html><script>alert(1)</script></html>" * 5,
                   name="photo.jpg")
    assert html.status_code == 415 and "cannot take this kind of file" in html.json["message"]
    big = _upload(client, web.token, PNG + b"\0" * 2048)
    assert big.status_code == 413 and "too big" in big.json["message"]
    none = client.post(f"/api/chat/sessions/{web.token}/files", data={},
                       content_type="multipart/form-data")
    assert none.status_code == 400
    assert _upload(client, "x" * 43, PNG).status_code == 404
    with services.db.read() as session:
        assert session.scalars(select(Evidence)).all() == []
    services.db.dispose()
