"""Twilio as the tests meet it: real webhook bodies signed with the twilio library, a resident
who texts through them, and a local fake of Twilio's REST API and media storage."""

from __future__ import annotations

import base64
import hmac
import itertools
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from tests.channels.contract import ChannelResident

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "twilio"
ACCOUNT_SID = "ACf0e1d2c3b4a5968778695a4b3c2d1e0f"
AUTH_TOKEN = "fictional-auth-token-0123456789ab"
PUBLIC_URL = "https://reportbot.example.org"
WEBHOOK = "/webhooks/twilio/messaging"
SMS_FROM = "+447700900000"

_sids = itertools.count(1)


def payload(name: str, **fields: str) -> list[tuple[str, str]]:
    """Return a stored Twilio webhook body as ordered fields, with some replaced or added."""
    pairs = parse_qsl((PAYLOADS / name).read_text().strip(), keep_blank_values=True)
    pairs = [(k, fields.pop(k) if k in fields else v) for k, v in pairs]
    return pairs + list(fields.items())


def new_sid(prefix: str = "SM") -> str:
    """Return a fresh, fictional MessageSid."""
    return prefix + uuid.uuid4().hex


def sign(fields: list[tuple[str, str]], url: str = PUBLIC_URL + WEBHOOK,
         token: str = AUTH_TOKEN) -> str:
    """Sign fields the way Twilio does, with the twilio library."""
    return RequestValidator(token).compute_signature(url, dict(fields))


def post(client, fields: list[tuple[str, str]], signature: str | None = "sign"):
    """POST a form body to the webhook as Twilio does, signed unless told otherwise."""
    headers = {}
    if signature == "sign":
        signature = sign(fields)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.post(WEBHOOK, data=urlencode(fields), headers=headers,
                       content_type="application/x-www-form-urlencoded; charset=UTF-8")


def bodies(response) -> list[str]:
    """Return the <Message> bodies of a TwiML response."""
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)  # noqa: S314 - our own app's TwiML
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]


class TwilioResident(ChannelResident):
    """A resident texting the landlord by SMS or WhatsApp."""

    def __init__(self, client, channel: str = "sms", number: str = "+447700900123") -> None:
        self.client = client
        self.channel = channel
        self.number = number
        self.template = "whatsapp_inbound.txt" if channel == "whatsapp" else "sms_inbound.txt"

    @property
    def address(self) -> str:
        return f"whatsapp:{self.number}" if self.channel == "whatsapp" else self.number

    def fields(self, text: str, message_id: str | None = None, **extra: str):
        sid = message_id or new_sid()
        more = {"WaId": self.number.lstrip("+")} if self.channel == "whatsapp" else {}
        return payload(self.template, Body=text, From=self.address, MessageSid=sid,
                       SmsMessageSid=sid, SmsSid=sid, **more, **extra)

    def send(self, text: str, message_id: str | None = None, **extra: str):
        return post(self.client, self.fields(text, message_id, **extra))

    def start(self) -> list[str]:
        return self.says("Hello")

    def says(self, text: str, message_id: str | None = None) -> list[str]:
        return bodies(self.send(text, message_id))


# ---- a local fake of Twilio's REST API and media storage -------------------------------

class FakeTwilio:
    """Twilio's Messages API and media URLs on 127.0.0.1, speaking Twilio's wire format.

    Media URLs need HTTP Basic auth and redirect to a short-lived file URL on another
    origin (like Twilio's storage), which refuses requests that still carry credentials.
    """

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth = "Basic " + base64.b64encode(
            f"{account_sid}:{auth_token}".encode()).decode()
        self.created: list[dict[str, str]] = []
        self.replies: list[tuple[int, dict]] = []
        self.media: dict[str, tuple[str, bytes]] = {}
        self.media_failures = 0
        self.media_requests = 0
        self.files: dict[str, tuple[str, bytes]] = {}
        self.deleted: list[str] = []
        self.delete_failures = 0
        self.api = _serve(self._api_handler())
        self.storage = _serve(self._storage_handler())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    def media_url(self, message_sid: str, media_sid: str) -> str:
        return (f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}"
                f"/Media/{media_sid}")

    def add_media(self, message_sid: str, media_sid: str, content_type: str,
                  data: bytes) -> str:
        url = self.media_url(message_sid, media_sid)
        self.media[url.removeprefix(self.url)] = (content_type, data)
        return url

    def add_recording(self, recording_sid: str, data: bytes) -> str:
        """Keep a call recording as Twilio does; return its RecordingUrl."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"
        self.media[path] = ("audio/x-wav", data)
        return self.url + path

    def reply_with(self, status: int, name: str) -> None:
        """Answer the next Messages create with a stored Twilio response body."""
        self.replies.append((status, json.loads((PAYLOADS / name).read_text())))

    def close(self) -> None:
        for server in (self.api, self.storage):
            server.shutdown()
            server.server_close()

    def _api_handler(self):
        fake = self

        class Handler(_Quiet):
            def do_POST(self):  # noqa: N802 - http.server's naming
                if not hmac.compare_digest(self.headers.get("Authorization", ""), fake.auth):
                    return self.json(401, {"code": 20003, "message": "Authenticate",
                                           "more_info": "https://www.twilio.com/docs/errors/"
                                           "20003", "status": 401})
                expected = f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
                if self.path != expected:
                    return self.json(404, {"code": 20404, "message": "Not found",
                                           "status": 404})
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(),
                                      keep_blank_values=True))
                fake.created.append(form)
                if fake.replies:
                    status, body = fake.replies.pop(0)
                    return self.json(status, body)
                body = json.loads((PAYLOADS / "message_created.json").read_text())
                body.update({"body": form.get("Body", ""), "to": form.get("To"),
                             "from": form.get("From"), "sid": new_sid()})
                return self.json(201, body)

            def do_DELETE(self):  # noqa: N802
                if not hmac.compare_digest(self.headers.get("Authorization", ""), fake.auth):
                    return self.json(401, {"code": 20003, "message": "Authenticate",
                                           "status": 401})
                if fake.delete_failures > 0:
                    fake.delete_failures -= 1
                    return self.json(503, {"code": 20503, "message": "Service unavailable",
                                           "status": 503})
                prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Recordings/"
                sid = self.path.removeprefix(prefix).removesuffix(".json")
                if not self.path.startswith(prefix) or \
                        fake.media.pop(prefix + sid, None) is None:
                    return self.json(404, {"code": 20404, "message": "Not found",
                                           "status": 404})
                fake.deleted.append(sid)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):  # noqa: N802
                fake.media_requests += 1
                if not hmac.compare_digest(self.headers.get("Authorization", ""), fake.auth):
                    return self.json(401, {"code": 20003, "message": "Authenticate",
                                           "status": 401})
                if fake.media_failures > 0:
                    fake.media_failures -= 1
                    return self.json(503, {"code": 20503, "message": "Service unavailable",
                                           "status": 503})
                item = fake.media.get(self.path)
                if item is None:
                    return self.json(404, {"code": 20404, "message": "Not found",
                                           "status": 404})
                token = uuid.uuid4().hex
                fake.files[token] = item
                port = fake.storage.server_address[1]
                self.send_response(307)
                self.send_header("Location", f"http://127.0.0.1:{port}/media/{token}"
                                 f"?Expires=1893456000&Signature=fictional{token[:8]}")
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def _storage_handler(self):
        fake = self

        class Handler(_Quiet):
            def do_GET(self):  # noqa: N802
                if "Authorization" in self.headers:
                    return self.json(400, {"error": "Only one auth mechanism allowed"})
                token = self.path.split("?")[0].rsplit("/", 1)[-1]
                item = fake.files.pop(token, None)
                if item is None:
                    return self.json(403, {"error": "Request has expired"})
                content_type, data = item
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(handler) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def fake_twilio() -> Iterator[FakeTwilio]:
    """Run a fake Twilio for the length of a test."""
    fake = FakeTwilio()
    try:
        yield fake
    finally:
        fake.close()


def twilio_env(**extra: str) -> dict[str, str]:
    """Return the environment of a landlord with Twilio SMS and WhatsApp set up."""
    return {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "REPORTBOT_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_SMS_FROM": SMS_FROM,
        "TWILIO_WHATSAPP_FROM": f"whatsapp:{SMS_FROM}", **extra,
    }


@contextmanager
def twilio_services(tmp_path: Path, url: str, **extra: str):
    """Build migrated services on `url` with Twilio configured (and `extra` settings)."""
    from bot.db import Database
    from bot.services import build_services
    from tests.conftest import make_settings
    from tests.databases import migrated

    settings = make_settings(tmp_path, url, **twilio_env(**extra))
    migrated(url)
    services = build_services(settings, db=Database(url))
    try:
        yield services
    finally:
        services.db.dispose()
