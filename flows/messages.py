"""The one channel-neutral message type that every channel speaks.

A channel parses its provider's request into an `Inbound` and renders each `Outbound`
within its own limits. Nothing here knows about HTTP, Telegram or Twilio.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Choice:
    """A selectable answer: a stable language-independent id and a translated label."""

    id: str
    label: str


@dataclass(frozen=True)
class Media:
    """A file the resident attached (photo, screenshot, document), already fetched or not."""

    content_type: str
    url: str | None = None
    data: bytes | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Place:
    """A location the resident shared: a map pin, or a venue with its name and address.

    Coordinates are WGS 84 degrees; `address` and `label` are whatever the resident's app
    sent with the pin (a venue's address and name), possibly empty.
    """

    latitude: float
    longitude: float
    address: str = ""
    label: str = ""


@dataclass(frozen=True)
class Inbound:
    """What a resident sent, parsed from any channel.

    `message_id` is the provider's id (Twilio MessageSid, Telegram update_id, a web chat
    client id) and is what makes a retried delivery harmless. `choices` carries ids the
    resident picked with a button; typed text goes in `text`; a shared map pin or venue
    goes in `location`.
    """

    channel: str
    sender: str
    message_id: str
    text: str = ""
    choices: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    received_at: datetime | None = None
    language_hint: str | None = None
    command: str | None = None
    location: Place | None = None


@dataclass(frozen=True)
class Progress:
    """How far through the resident is: part `step` of about `total`, already in words.

    `text` ("Step 3 of about 8") and `section` ("When and where") are translated; each
    channel shows them within its own limits (a progress bar, a line above the question,
    or nothing where an SMS would cost an extra segment).
    """

    step: int
    total: int
    text: str
    section: str = ""

    def as_json(self) -> dict:
        """Return the progress in the web chat API's JSON shape."""
        return {"step": self.step, "total": self.total, "text": self.text,
                "section": self.section}


@dataclass(frozen=True)
class Outbound:
    """What the bot says: text, optionally a question with choices.

    `question` is the stable step id the message asks, `multiple` marks a multi-select
    question, and `input` tells a rich client whether to expect typed text, a choice, or
    nothing (the conversation has finished). `progress`, on a question, says how far
    through the report (or the optional details) the resident is.
    """

    text: str
    question: str | None = None
    choices: tuple[Choice, ...] = ()
    multiple: bool = False
    input: str = "none"
    lang: str = "en"
    dir: str = "ltr"
    progress: Progress | None = None

    def as_json(self) -> dict:
        """Return the message in the web chat API's JSON shape."""
        return {
            "text": self.text,
            "question": self.question,
            "choices": [{"id": c.id, "label": c.label} for c in self.choices],
            "multiple": self.multiple,
            "input": self.input,
            "lang": self.lang,
            "dir": self.dir,
            "progress": self.progress.as_json() if self.progress else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> Outbound:
        """Rebuild a message stored as JSON (used to answer a retried delivery)."""
        return cls(
            text=data["text"],
            question=data.get("question"),
            choices=tuple(Choice(c["id"], c["label"]) for c in data.get("choices", ())),
            multiple=bool(data.get("multiple")),
            input=data.get("input", "none"),
            lang=data.get("lang", "en"),
            dir=data.get("dir", "ltr"),
            progress=_progress(data.get("progress")),
        )


def _progress(data) -> Progress | None:
    if not isinstance(data, dict):
        return None
    return Progress(step=int(data["step"]), total=int(data["total"]), text=str(data["text"]),
                    section=str(data.get("section", "")))
