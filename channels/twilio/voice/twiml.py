"""Say the conversation on the phone: TwiML with twilio's `VoiceResponse`.

Statements become `<Say>` in the voice of the caller's language. A choice question becomes a
`<Gather input="dtmf">` reading "press 1 for …", then "press 9 to hear the options again, or
0 to go back"; a multi-select question takes several digits ended with the hash key. A
question answered in words becomes a `<Record>` with a beep (or a speech `<Gather>` when the
landlord enables transcription). The language menu names each language in that language's
own voice; a language no voice speaks is named in English, with the landlord's recorded
prompt when there is one. Every action URL carries the call's next step number, so a
retried webhook is recognised (channels/twilio/voice/calls.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from babel import Locale
from twilio.twiml.voice_response import Gather, VoiceResponse

from bot.voice_config import Voice, VoiceLine
from flows.engine import N_, Translator
from flows.messages import Outbound

BASE = "/webhooks/twilio/voice"
ENGLISH = Voice("Polly.Amy", "en-GB")
REPEAT, BACK = "9", "0"
# Keys that end a recording: any key, as the caller is told.
ANY_KEY = "0123456789*#"
GATHER_TIMEOUT = 6
RECORD_SECONDS = {"narrative": 300}
RECORD_DEFAULT_SECONDS = 120

FOR_LANGUAGE = N_("For %(language)s, press %(digits)s.")
PRESS_FOR = N_("Press %(digits)s for %(option)s.")
MULTI_HINT = N_("Press the numbers of all that apply, then the hash key.")
REPEAT_HINT = N_("Press 9 to hear the options again, or 0 to go back.")
RECORD_HINT = N_("Please speak after the tone. Press any key when you have finished.")
OPTIONAL_HINT = N_("If you would rather not answer, stay silent and we will move on.")
NOT_HEARD = N_("Sorry, we did not hear an answer.")
NOT_AN_OPTION = N_("Sorry, that is not one of the options.")
REFERENCE_AGAIN = N_("Your reference number again: %(reference)s. To hear it again, "
                     "press 1.")
GOODBYE = N_("Thank you for calling. Goodbye.")
TEXT_OFFER = N_("If it is safe to send you a text message, press 2 and we will text you the "
                "reference.")
TEXT_SENT = N_("We are sending you a text message with the reference now.")
# The text itself: the acknowledgement's own wording.
REFERENCE_TEXT = N_("Your reference number is %(reference)s. Please keep it.")
NO_VOICE = N_("We cannot speak %(language)s on this phone line yet. After the tone, please "
              "leave a message in your own language: tell us what happened and where. We "
              "will find an interpreter and contact you. Press any key when you have "
              "finished.")
MESSAGE_RECEIVED = N_("Thank you. Your message has been received. We will find an "
                      "interpreter and contact you. Your reference number is %(reference)s.")
PUTTING_THROUGH = N_("Please hold while we put you through to our duty team.")
NOBODY_FREE = N_("Nobody could answer just now, so we will take your report on this call.")

_ISOLATES = re.compile("[\u2068\u2069\u200e\u200f]")


def menu_numbers(count: int) -> list[str]:
    """Return the keys for `count` options: 1-8, then 11-18, 21-28 (9 and 0 are kept)."""
    numbers: list[str] = []
    n = 0
    while len(numbers) < count:
        n += 1
        if "9" not in str(n) and "0" not in str(n):
            numbers.append(str(n))
    return numbers


def spoken_digits(digits: str) -> str:
    """Return keys as said one by one ("1 1", not "eleven")."""
    return " ".join(digits)


def slowly(reference: str) -> str:
    """Return a reference read slowly: each character apart, small groups with a pause."""
    groups = [g for g in re.split(r"[-\s]+", reference) if g]
    return ". ".join(", ".join(group) for group in groups)


def plain(text: str) -> str:
    """Return text as it should be spoken: no bullets, isolates or list marks."""
    text = _ISOLATES.sub("", text).replace("•", "")
    return " ".join(text.split())


@dataclass(frozen=True)
class Speaker:
    """Renders one call's replies in the caller's language."""

    line: VoiceLine
    translate: Callable[[str], Translator]
    locale: str
    step: int  # the step number the next action URL carries

    @property
    def voice(self) -> Voice:
        """Return the voice of the caller's language (English when none speaks it)."""
        return self.line.voice_for(self.locale) or self.line.voice_for("en") or ENGLISH

    def t(self, message: str) -> str:
        """Translate a msgid into the caller's language."""
        return self.translate(self.locale).gettext(message)

    def url(self, action: str) -> str:
        """Return the path Twilio requests next for `action`, with the next step number."""
        return f"{BASE}/{action}?n={self.step}"

    def say(self, target, text: str, voice: Voice | None = None) -> None:
        """Speak `text` in the caller's voice (or `voice`)."""
        voice = voice or self.voice
        if text.strip():
            target.say(plain(text), voice=voice.voice, language=voice.language)

    # ---- questions ----------------------------------------------------------------

    def replies(self, response: VoiceResponse, replies: Sequence[Outbound]) -> None:
        """Say the statements and ask the question among `replies`."""
        for reply in replies:
            if reply.question == "language":
                self.language_menu(response, reply)
            elif reply.question is not None and reply.input == "text":
                self.record(response, reply)
            elif reply.question is not None:
                self.choice(response, reply)
            else:
                self.say(response, reply.text)

    def choice(self, response: VoiceResponse, question: Outbound) -> None:
        """Ask a choice question on the keypad."""
        keys = menu_numbers(len(question.choices))
        single = not question.multiple and all(len(k) == 1 for k in keys)
        gather = Gather(input="dtmf", action=self.url("gather"), method="POST",
                        timeout=GATHER_TIMEOUT, action_on_empty_result=True,
                        **({"num_digits": 1} if single else {"finish_on_key": "#"}))
        self.say(gather, question.text)
        for key, choice in zip(keys, question.choices, strict=True):
            self.say(gather, self.t(PRESS_FOR) % {"digits": spoken_digits(key),
                                                   "option": choice.label})
        if question.multiple:
            self.say(gather, self.t(MULTI_HINT))
        self.say(gather, self.t(REPEAT_HINT))
        response.append(gather)

    def language_menu(self, response: VoiceResponse, question: Outbound) -> None:
        """Offer each language in its own voice; one without a voice in English."""
        gather = Gather(input="dtmf", action=self.url("gather"), method="POST",
                        timeout=GATHER_TIMEOUT, finish_on_key="#",
                        action_on_empty_result=True)
        for key, choice in zip(menu_numbers(len(question.choices)), question.choices,
                               strict=True):
            voice = self.line.voice_for(choice.id)
            if voice is not None:
                line = self.translate(choice.id).gettext(FOR_LANGUAGE)
                self.say(gather, line % {"language": choice.label,
                                         "digits": spoken_digits(key)}, voice)
                continue
            english = self.translate("en").gettext(FOR_LANGUAGE)
            self.say(gather, english % {"language": english_name(choice.id),
                                        "digits": spoken_digits(key)}, self.english)
            prompt = self.line.recorded_prompts.get(choice.id)
            if prompt:
                gather.play(prompt)
        response.append(gather)

    def record(self, response: VoiceResponse, question: Outbound) -> None:
        """Ask for words: a recording after the beep, or speech when transcription is on."""
        optional = any(c.id == "skip" for c in question.choices)
        if self.line.speech:
            gather = Gather(input="speech", action=self.url("speech"), method="POST",
                            language=self.voice.language, speech_timeout="auto",
                            action_on_empty_result=True)
            self.say(gather, question.text)
            if optional:
                self.say(gather, self.t(OPTIONAL_HINT))
            response.append(gather)
            return
        self.say(response, question.text)
        if optional:
            self.say(response, self.t(OPTIONAL_HINT))
        self.say(response, self.t(RECORD_HINT))
        response.record(action=self.url("record"), method="POST", play_beep=True,
                        max_length=RECORD_SECONDS.get(question.question or "",
                                                      RECORD_DEFAULT_SECONDS),
                        finish_on_key=ANY_KEY, trim="trim-silence", timeout=5)
        # Verbs after <Record> run only when nothing was recorded.
        response.redirect(self.url("skip" if optional else "silent"), method="POST")

    # ---- the end of the call ------------------------------------------------------

    def acknowledgement(self, response: VoiceResponse, replies: Sequence[Outbound],
                        reference: str, offer_text: bool = False) -> None:
        """Say the acknowledgement with the reference read slowly, then offer it again."""
        for reply in [r for r in replies if r.question is None][:2]:
            self.say(response, reply.text.replace(reference, slowly(reference)))
        self.reference_menu(response, reference, offer_text=offer_text)

    def reference_menu(self, response: VoiceResponse, reference: str,
                       voice: Voice | None = None, locale: str | None = None,
                       offer_text: bool = False) -> None:
        """Read the reference again, offer to repeat (or text) it, then say goodbye."""
        t = self.translate(locale or self.locale).gettext
        gather = Gather(input="dtmf", action=self.url("reference"), method="POST",
                        timeout=GATHER_TIMEOUT, num_digits=1)
        self.say(gather, t(REFERENCE_AGAIN) % {"reference": slowly(reference)}, voice)
        if offer_text:
            self.say(gather, t(TEXT_OFFER), voice)
        response.append(gather)
        self.say(response, t(GOODBYE), voice)
        response.hangup()

    def message_prompt(self, response: VoiceResponse) -> None:
        """Invite a message in a language no voice speaks: in English, then recorded."""
        english = self.translate("en").gettext(NO_VOICE)
        self.say(response, english % {"language": english_name(self.locale)}, self.english)
        prompt = self.line.recorded_prompts.get(self.locale)
        if prompt:
            response.play(prompt)
        response.record(action=self.url("message"), method="POST", play_beep=True,
                        max_length=RECORD_SECONDS["narrative"], finish_on_key=ANY_KEY,
                        trim="trim-silence", timeout=8)
        response.redirect(self.url("leave"), method="POST")

    def message_received(self, response: VoiceResponse, reference: str,
                         offer_text: bool = False) -> None:
        """Acknowledge a message left in a language no voice speaks, in English."""
        english = self.translate("en").gettext(MESSAGE_RECEIVED)
        self.say(response, english % {"reference": slowly(reference)}, self.english)
        self.reference_menu(response, reference, self.english, "en", offer_text)

    @property
    def english(self) -> Voice:
        """Return the English voice."""
        return self.line.voice_for("en") or ENGLISH


def english_name(code: str) -> str:
    """Return a language's name in English ("Somali")."""
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name("en") or code
    except (ValueError, LookupError):
        return code
