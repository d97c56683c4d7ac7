"""A caller on the phone line: real Twilio voice webhook bodies, signed with the twilio
library, following the TwiML the app answers (Gather and Record actions) as Twilio does."""

from __future__ import annotations

import io
import re
import uuid
import wave
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

from bot.settings import DEMO_ORG_FILE
from tests.channels.twilio_support import PUBLIC_URL, payload, sign

VOICE = "/webhooks/twilio/voice"
NUMBER = "+447700900123"


def voice_org(tmp_path: Path, voice_table: str = "[voice]\n") -> Path:
    """Write the demo landlord (13 languages, no rota) with a `[voice]` table."""
    path = tmp_path / "org-voice.toml"
    text = re.sub(r"^\[\[(duty_rota|managers)\]\]\n(?:[^\[\n].*\n|\n)*", "",
                  DEMO_ORG_FILE.read_text(), flags=re.M)
    path.write_text(text + "\n" + voice_table, encoding="utf-8")
    return path


def wav(seconds: float = 0.5) -> bytes:
    """Return a short silent WAV file, like a Twilio recording."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
    return out.getvalue()


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


class Caller:
    """One phone call, driven key by key as Twilio would relay it."""

    def __init__(self, client, number: str = NUMBER, fake=None) -> None:
        self.client = client
        self.number = number
        self.sid = new_call_sid()
        self.fake = fake
        self.root: ET.Element | None = None
        self.last: tuple[str, list[tuple[str, str]]] | None = None
        self.recordings: list[str] = []

    def post(self, path: str, template: str, **fields: str):
        """POST one signed voice webhook to `path` (with its query), as Twilio does."""
        body = payload(template, CallSid=self.sid, From=self.number, Caller=self.number,
                       **fields)
        self.last = (path, body)
        return self.send(path, body)

    def send(self, path: str, body: list[tuple[str, str]], signature: str | None = None):
        signature = signature or sign(body, PUBLIC_URL + path)
        response = self.client.post(path, data=urlencode(body),
                                    headers={"X-Twilio-Signature": signature},
                                    content_type="application/x-www-form-urlencoded")
        if response.status_code == 200:
            assert response.mimetype == "text/xml"
            self.root = ET.fromstring(response.data)  # noqa: S314 - our own app's TwiML
        return response

    def retry(self):
        """Send the last webhook again, exactly (Twilio's retry)."""
        assert self.last is not None
        return self.send(*self.last)

    def call(self):
        return self.post(VOICE, "voice_incoming.txt")

    def action(self, verb: str) -> str:
        """Return the action path of the `verb` (Gather, Record, Dial) just answered."""
        assert self.root is not None
        found = self.root.find(f".//{verb}")
        assert found is not None, f"no <{verb}> in {ET.tostring(self.root).decode()}"
        return found.attrib["action"]

    def press(self, digits: str):
        return self.post(self.action("Gather"), "voice_digits.txt", Digits=digits)

    def speak(self, data: bytes | None = None):
        """Leave a recording at the beep (kept on the fake Twilio when one is given)."""
        sid = "RE" + uuid.uuid4().hex
        url = (self.fake.add_recording(sid, data or wav()) if self.fake is not None else
               f"https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/{sid}")
        self.recordings.append(sid)
        return self.post(self.action("Record"), "voice_recording.txt", RecordingUrl=url,
                         RecordingSid=sid, RecordingDuration="9")

    def hang_up(self, status: str = "completed"):
        return self.post(f"{VOICE}/status", "voice_status_completed.txt", CallStatus=status)

    @property
    def said(self) -> list[str]:
        """Return everything the last answer says, in order."""
        assert self.root is not None
        return [s.text or "" for s in self.root.iter("Say")]

    def voices(self) -> list[tuple[str, str]]:
        assert self.root is not None
        return [(s.attrib.get("voice", ""), s.attrib.get("language", ""))
                for s in self.root.iter("Say")]

    def verbs(self) -> list[str]:
        assert self.root is not None
        return [child.tag for child in self.root]
