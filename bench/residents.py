"""Prepared residents for bench/wrk/turns.lua: whole reports, as ready-to-send requests.

Each writer puts `count` residents in a file, one request a line ("path<TAB>content type
<TAB>extra header or empty<TAB>body"), a blank line after each resident. Every resident
walks the whole victim report of tests/helpers.py, from the first message to "submit".
Identities (phone numbers, chat ids, update ids) never repeat within one process, so a
warm-up and the measured run on the same database never share a resident.
"""

from __future__ import annotations

import itertools
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from tests.helpers import VICTIM_REPORT

AUTH_TOKEN = "bench-twilio-auth-token-0123456789"  # noqa: S105 - a fictional credential for the local fake
PUBLIC_URL = "https://reports.bench.example"
SERVICE_NUMBER = "+447700900001"
TG_TOKEN = "123456789:BenchTokenBenchTokenBenchTokenBench"  # noqa: S105 - a fictional credential for the local fake
TG_SECRET = "bench-telegram-secret-0123456789"  # noqa: S105 - a fictional credential for the local fake
ANSWERS = [m if isinstance(m, str) else m[0] for m, _ in VICTIM_REPORT]
SMS_PATH = "/webhooks/twilio/messaging"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

_residents = itertools.count(1)
_updates = itertools.count(1)


def turns(channel: str) -> int:
    """Return how many requests one resident's report takes on `channel`."""
    return len(ANSWERS) + (0 if channel == "webchat" else 1)


def _line(path: str, content_type: str, header: str, body: str) -> str:
    assert "\t" not in body and "\n" not in body  # noqa: S101 - the file format's one rule
    return f"{path}\t{content_type}\t{header}\t{body}\n"


def _write(path: Path, residents: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for lines in residents:
            out.writelines(lines)
            out.write("\n")
    return path


def webchat(path: Path, base_url: str, count: int) -> Path:
    """Open `count` web chat sessions on the server and write their reports."""
    def resident(client: httpx.Client) -> list[str]:
        opened = client.post(f"{base_url}/api/chat/sessions", json={})
        opened.raise_for_status()
        url = f"/api/chat/sessions/{opened.json()['session']}/messages"
        return [_line(url, JSON, "", json.dumps({"text": text, "client_id": uuid.uuid4().hex}))
                for text in ANSWERS]

    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(8) as pool:
        residents = list(pool.map(lambda _: resident(client), range(count)))
    return _write(path, residents)


def sms(path: Path, count: int) -> Path:
    """Write `count` residents' SMS reports as Twilio webhooks, each signed in advance."""
    validator = RequestValidator(AUTH_TOKEN)
    residents = []
    for _ in range(count):
        # Ofcom's drama range (07700 900000-900999) first; 900001 is the service's own.
        number = f"+447700{900001 + next(_residents)}"
        lines = []
        for text in ["Hello", *ANSWERS]:
            fields = {"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
                      "From": number, "To": SERVICE_NUMBER, "Body": text, "NumMedia": "0",
                      "ApiVersion": "2010-04-01"}
            signature = validator.compute_signature(PUBLIC_URL + SMS_PATH, fields)
            lines.append(_line(SMS_PATH, FORM, f"X-Twilio-Signature: {signature}",
                               urlencode(fields)))
        residents.append(lines)
    return _write(path, residents)


def telegram(path: Path, count: int) -> Path:
    """Write `count` residents' Telegram reports as webhook updates with the secret header."""
    residents = []
    for _ in range(count):
        chat = 700000000 + next(_residents)
        lines = []
        for text in ["/start", *ANSWERS]:
            update = {"update_id": next(_updates), "message": {
                "message_id": next(_updates), "date": 1795000000, "text": text,
                "chat": {"id": chat, "type": "private", "first_name": "Sam"},
                "from": {"id": chat, "is_bot": False, "first_name": "Sam",
                         "language_code": "en"}}}
            lines.append(_line("/webhooks/telegram", JSON,
                               f"X-Telegram-Bot-Api-Secret-Token: {TG_SECRET}",
                               json.dumps(update)))
        residents.append(lines)
    return _write(path, residents)
