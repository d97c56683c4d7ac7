"""The phone line's settings, as the organisation file declares them (`[voice]`).

Which Twilio `<Say>` voice speaks each language, whether calls in working hours are first
put through to the duty team, and recorded prompts the landlord supplies for languages no
voice speaks. bot/org.py validates the table; channels/twilio/voice/ reads the result.

The default voices were chosen from Twilio's text-to-speech voices (Amazon Polly standard
voices and Google voices, as Twilio names them: ``Polly.<Name>``, ``Google.<code>-Standard-
<letter>``). Somali has no voice in either list, so a Somali caller is offered a recorded
message instead. A landlord can replace any of them in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class Voice:
    """A Twilio `<Say>` voice and the language code it is used with."""

    voice: str
    language: str


DEFAULT_VOICES: Mapping[str, Voice] = {
    "en": Voice("Polly.Amy", "en-GB"),
    "cy": Voice("Polly.Gwyneth", "cy-GB"),
    "pl": Voice("Polly.Ewa", "pl-PL"),
    "ro": Voice("Polly.Carmen", "ro-RO"),
    "es": Voice("Polly.Lucia", "es-ES"),
    "pt": Voice("Polly.Ines", "pt-PT"),
    "tr": Voice("Polly.Filiz", "tr-TR"),
    "ar": Voice("Polly.Zeina", "arb"),
    "bn": Voice("Google.bn-IN-Standard-A", "bn-IN"),
    "gu": Voice("Google.gu-IN-Standard-A", "gu-IN"),
    "pa": Voice("Google.pa-IN-Standard-A", "pa-IN"),
    "ur": Voice("Google.ur-IN-Standard-A", "ur-IN"),
}


@dataclass(frozen=True)
class VoiceLine:
    """How the phone line behaves for this landlord."""

    voices: Mapping[str, Voice] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    recorded_prompts: Mapping[str, str] = field(default_factory=dict)
    transfer_in_hours: bool = False
    duty_number: str | None = None
    dial_timeout: int = 20
    speech: bool = False

    def voice_for(self, locale: str) -> Voice | None:
        """Return the voice that speaks `locale`, or None when no voice can."""
        return self.voices.get(locale) or self.voices.get(locale.split("-")[0])


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError(f"expected an https:// address of an audio file, got {value!r}")
    return value


def _voice_name(value: str) -> str:
    if not value.startswith(("Polly.", "Google.")) and value not in ("man", "woman", "alice"):
        raise ValueError(f"expected a Twilio voice like \"Polly.Amy\" or "
                         f"\"Google.bn-IN-Standard-A\", got {value!r}")
    return value


class VoiceTable(BaseModel):
    """One `[voice.voices.<language>]` entry."""

    model_config = ConfigDict(extra="forbid")

    voice: Annotated[str, AfterValidator(_voice_name)]
    language: Annotated[str, Field(min_length=2, max_length=16)]


class VoiceLineTable(BaseModel):
    """The `[voice]` table of the organisation file."""

    model_config = ConfigDict(extra="forbid")

    transfer_in_hours: bool = False
    duty_number: str | None = None
    dial_timeout: Annotated[int, Field(ge=5, le=60)] = 20
    speech: bool = False
    voices: dict[str, VoiceTable] = Field(default_factory=dict)
    # Languages to leave without a voice even where a default exists.
    no_voice: list[str] = Field(default_factory=list)
    recorded_prompts: dict[str, Annotated[str, AfterValidator(_https)]] = Field(
        default_factory=dict)

    def build(self) -> VoiceLine:
        """Return the phone line's settings, the default voices overridden by the file's."""
        voices = {**DEFAULT_VOICES,
                  **{lang: Voice(v.voice, v.language) for lang, v in self.voices.items()}}
        for lang in self.no_voice:
            voices.pop(lang, None)
        return VoiceLine(voices=voices, recorded_prompts=dict(self.recorded_prompts),
                         transfer_in_hours=self.transfer_in_hours,
                         duty_number=self.duty_number, dial_timeout=self.dial_timeout,
                         speech=self.speech)
