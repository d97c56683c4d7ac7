"""The phone line's webhooks: verify, turn keys and recordings into answers, answer TwiML.

`POST /webhooks/twilio/voice` answers an incoming call; the TwiML names the follow-on
action (`/webhooks/twilio/voice/<action>?n=<step>`) that Twilio requests next, and
`/webhooks/twilio/voice/status` takes the call-status callback. Every request is signed
exactly as messaging is (channels/twilio/messaging.py `signed`): a forged one gets 403 and
nothing is stored.

A call is a conversation on channel ``voice`` whose sender is the caller's number (or the
call itself when the number is withheld). Each answer is handed to the conversation runner
as an `Inbound` whose message id is the CallSid plus the step number from the action URL,
so a retried webhook gets the same TwiML and never advances the call twice. Pressing 9
repeats the question and nothing is stored; 0 goes back. When the call ends before the
report was sent, what the caller told is stored as a case marked "call ended early"
(flows/partial.py). Recordings are kept as pending evidence and fetched by the worker
(channels/twilio/voice/recordings.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import phonenumbers
from flask import Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from bot.sla import WorkingCalendar
from bot.turns import TurnResult
from channels.base import ChannelLimits
from channels.twilio.messaging import normalise_number, signed
from channels.twilio.voice.texts import KIND, ReferenceTexter
from channels.twilio.voice.twiml import (
    BACK,
    GOODBYE,
    NOBODY_FREE,
    NOT_AN_OPTION,
    NOT_HEARD,
    PUTTING_THROUGH,
    REFERENCE_TEXT,
    REPEAT,
    TEXT_SENT,
    Speaker,
    menu_numbers,
)
from flows.answers import Commands
from flows.messages import Inbound, Media, Outbound

if TYPE_CHECKING:
    from bot.settings import TwilioSettings
    from bot.voice_config import VoiceLine
    from channels.base import ChannelPorts

log = logging.getLogger("reportbot.twilio.voice")

VOICE = ChannelLimits(name="voice", max_text=4000, buttons=False, can_reply_later=False)
RECORDING_TYPE = "audio/x-wav"
ENDED = frozenset({"completed", "no-answer", "busy", "failed", "canceled"})
_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
_REPORT_SENT = frozenset({"offering_details", "adding_details", "submitted"})
MAX_STEP = 10_000


class Call:
    """Who is calling: the call's sid, the conversation's sender and the caller's number."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.sid = form.get("CallSid", "")
        self.number = normalise_number(form.get("From", "")) if form.get("From") else None
        self.sender = self.number or f"withheld:{self.sid}"

    @property
    def mobile(self) -> bool:
        """Return whether the caller's number is a mobile (it could take a text)."""
        if self.number is None:
            return False
        number = phonenumbers.parse(self.number)
        kind = phonenumbers.number_type(number)
        if kind == phonenumbers.PhoneNumberType.UNKNOWN and number.country_code == 44:
            # Ranges the library does not list (Ofcom's drama range 07700 900xxx among
            # them) are mobiles when they start 07, except personal numbers and pagers.
            national = str(number.national_number)
            return national.startswith("7") and not national.startswith(("70", "76"))
        return kind in (phonenumbers.PhoneNumberType.MOBILE,
                        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


class Calls:
    """The voice webhooks of one Twilio account."""

    def __init__(self, ports: ChannelPorts, config: TwilioSettings, line: VoiceLine,
                 texter: ReferenceTexter) -> None:
        self.ports = ports
        self.config = config
        self.line = line
        self.texter = texter
        self.calendar = WorkingCalendar(ports.org.working_hours)
        self.clock = _now  # what time it is, for the transfer in working hours
        self.actions = {
            "incoming": self.incoming, "gather": self.gather, "record": self.record,
            "speech": self.speech, "skip": self.skip, "silent": self.silent,
            "message": self.message, "leave": self.leave, "reference": self.reference,
            "dialled": self.dialled, "status": self.status,
        }

    def webhook(self, action: str = "incoming") -> Response:
        """Verify Twilio's signature, handle one step of the call, answer TwiML."""
        if not signed(self.config):
            log.warning("twilio voice: refused a request with a missing or wrong signature")
            abort(403)
        handler = self.actions.get(action)
        if handler is None:
            abort(404)
        call = Call(request.form)
        if not _SID.match(call.sid):
            log.info("twilio voice: ignored a request without a call sid")
            return _xml(VoiceResponse())
        return _xml(handler(call, _step(request.args.get("n"))))

    # ---- starting ----------------------------------------------------------------

    def incoming(self, call: Call, step: int) -> VoiceResponse:
        """Answer a call: put it through in working hours, else start the report."""
        line = self.line
        if line.transfer_in_hours and line.duty_number and \
                self.calendar.is_working_time(self.clock()):
            response = VoiceResponse()
            speaker = self._speaker("en", 1)
            speaker.say(response, speaker.t(PUTTING_THROUGH))
            response.dial(line.duty_number, timeout=line.dial_timeout,
                          action=speaker.url("dialled"), method="POST")
            return response
        return self._start(call, f"{call.sid}:0")

    def dialled(self, call: Call, step: int) -> VoiceResponse:
        """After the transfer: hang up if the duty team answered, else take the report."""
        if request.form.get("DialCallStatus") == "completed":
            response = VoiceResponse()
            response.hangup()
            return response
        response = self._start(call, f"{call.sid}:dial")
        speaker = self._speaker("en", 1)
        first = VoiceResponse()
        speaker.say(first, speaker.t(NOBODY_FREE))
        for verb in response.verbs:
            first.append(verb)
        return first

    def _start(self, call: Call, key: str) -> VoiceResponse:
        runner = self.ports.runner
        known = runner.peek(VOICE.name, call.sender) is not None
        result = runner.handle(Inbound(
            channel=VOICE.name, sender=call.sender, message_id=key,
            command=Commands.RESTART if known else None))
        return self._answer(call, result, 1)

    # ---- answers -----------------------------------------------------------------

    def gather(self, call: Call, step: int) -> VoiceResponse:
        """Take the keys pressed for the question last asked."""
        question = self._question(call)
        if question is None:
            return self._start(call, f"{call.sid}:{step}")
        digits = (request.form.get("Digits") or "").strip().rstrip("#")
        if not digits:
            return self._again(call, question, step, NOT_HEARD)
        if digits == REPEAT and question.question != "language":
            return self._again(call, question, step, None)
        if digits == BACK:
            return self._turn(call, step, command=Commands.BACK)
        picked = _picked(question, digits)
        if picked is None:
            return self._again(call, question, step, NOT_AN_OPTION)
        return self._turn(call, step, choices=picked)

    def record(self, call: Call, step: int) -> VoiceResponse:
        """Take a recording as the answer to the question in words."""
        url = request.form.get("RecordingUrl", "")
        if not url:
            return self.silent(call, step)
        return self._turn(call, step, command=Commands.RECORDED,
                          media=(Media(RECORDING_TYPE, url=url),))

    def speech(self, call: Call, step: int) -> VoiceResponse:
        """Take Twilio's transcription as the answer, marked as automatic."""
        said = " ".join((request.form.get("SpeechResult") or "").split())
        if not said:
            return self.silent(call, step)
        return self._turn(call, step, text=f"{said} (automatic transcription)")

    def skip(self, call: Call, step: int) -> VoiceResponse:
        """Skip an optional question the caller stayed silent at."""
        return self._turn(call, step, choices=("skip",))

    def silent(self, call: Call, step: int) -> VoiceResponse:
        """Ask the last question again after silence."""
        question = self._question(call)
        if question is None:
            return self._start(call, f"{call.sid}:{step}")
        return self._again(call, question, step, NOT_HEARD)

    def message(self, call: Call, step: int) -> VoiceResponse:
        """Keep a message left in a language no voice speaks, as a case for an interpreter."""
        url = request.form.get("RecordingUrl", "")
        if not url:
            return self.leave(call, step)
        result = self.ports.runner.handle(Inbound(
            channel=VOICE.name, sender=call.sender, message_id=f"{call.sid}:{step}",
            text=call.number or "", command=Commands.MESSAGE_ONLY,
            media=(Media(RECORDING_TYPE, url=url),)))
        response = VoiceResponse()
        view = self.ports.runner.peek(VOICE.name, call.sender)
        speaker = self._speaker(result.locale or "en", step + 1)
        if view is not None and view.reference:
            speaker.message_received(response, view.reference, self._can_text(call))
        else:
            response.hangup()
        return response

    def leave(self, call: Call, step: int) -> VoiceResponse:
        """Invite the message again after silence."""
        view = self.ports.runner.peek(VOICE.name, call.sender)
        response = VoiceResponse()
        self._speaker(view.locale if view else "en", step + 1).message_prompt(response)
        return response

    def reference(self, call: Call, step: int) -> VoiceResponse:
        """Read the reference again when the caller presses 1; else say goodbye."""
        view = self.ports.runner.peek(VOICE.name, call.sender)
        response = VoiceResponse()
        if view is None or not view.reference:
            response.hangup()
            return response
        voiced = self.line.voice_for(view.locale) is not None
        speaker = self._speaker(view.locale if voiced else "en", step + 1)
        offer = self._can_text(call)
        digits = request.form.get("Digits")
        if digits == "1":
            speaker.reference_menu(response, view.reference, offer_text=offer)
            return response
        if digits == "2" and offer:
            self._text_reference(call, view.id, view.reference, speaker.locale)
            speaker.say(response, speaker.t(TEXT_SENT))
        speaker.say(response, speaker.t(GOODBYE))
        response.hangup()
        return response

    def status(self, call: Call, step: int) -> VoiceResponse:
        """When a call ends before the report was sent, keep what the caller told us."""
        if request.form.get("CallStatus") not in ENDED:
            return VoiceResponse()
        view = self.ports.runner.peek(VOICE.name, call.sender)
        if view is not None and view.phase not in _REPORT_SENT:
            self.ports.runner.handle(Inbound(
                channel=VOICE.name, sender=call.sender, message_id=f"{call.sid}:ended",
                text=call.number or "", command=Commands.ENDED_EARLY))
        return VoiceResponse()

    # ---- pieces ------------------------------------------------------------------

    def _turn(self, call: Call, step: int, *, text: str = "",
              choices: tuple[str, ...] = (), command: str | None = None,
              media: tuple[Media, ...] = ()) -> VoiceResponse:
        result = self.ports.runner.handle(Inbound(
            channel=VOICE.name, sender=call.sender, message_id=f"{call.sid}:{step}",
            text=text, choices=choices, command=command, media=media))
        return self._answer(call, result, step + 1)

    def _answer(self, call: Call, result: TurnResult | None, step: int) -> VoiceResponse:
        """Render a turn: the flow's replies, the no-voice message, or the acknowledgement."""
        response = VoiceResponse()
        if result is None:
            response.hangup()
            return response
        locale = result.locale or "en"
        speaker = self._speaker(locale, step)
        if self.line.voice_for(locale) is None:
            speaker.message_prompt(response)
            return response
        view = self.ports.runner.peek(VOICE.name, call.sender)
        if view is not None and view.reference and view.phase in _REPORT_SENT:
            # The voice line runs only the essentials: the details offer is not read.
            speaker.acknowledgement(response, result.replies, view.reference,
                                    self._can_text(call))
            return response
        speaker.replies(response, result.replies)
        return response

    def _again(self, call: Call, question: Outbound, step: int,
               note: str | None) -> VoiceResponse:
        """Say the question again (after `note`), storing nothing."""
        view = self.ports.runner.peek(VOICE.name, call.sender)
        speaker = self._speaker(view.locale if view else "en", step + 1)
        response = VoiceResponse()
        if note:
            speaker.say(response, speaker.t(note))
        speaker.replies(response, (question,))
        return response

    def _can_text(self, call: Call) -> bool:
        """Return whether a text of the reference may be offered: a mobile, and SMS set up."""
        return bool(self.config.sms_from) and call.mobile

    def _text_reference(self, call: Call, conversation_id: int, reference: str,
                        locale: str) -> None:
        """Queue the reference by SMS to the caller, once per call, and try to send it now."""
        text = self.ports.catalogs(locale).gettext(REFERENCE_TEXT) % {
            "reference": reference}
        self.ports.delivery.send(
            kind=KIND, channel=VOICE.name, payload={"text": text, "locale": locale},
            dedupe_key=f"voice-reference:{call.sid}", conversation_id=conversation_id,
            sender=self.texter)

    def _question(self, call: Call) -> Outbound | None:
        view = self.ports.runner.peek(VOICE.name, call.sender)
        return self.ports.runner.last_question(view.id) if view is not None else None

    def _speaker(self, locale: str, step: int) -> Speaker:
        return Speaker(self.line, self.ports.catalogs, locale, step)


def _picked(question: Outbound, digits: str) -> tuple[str, ...] | None:
    """Return the ids the keys pick among the question's choices, or None."""
    keys = menu_numbers(len(question.choices))
    ids = {key: choice.id for key, choice in zip(keys, question.choices, strict=True)}
    if question.multiple:
        picked = [ids.get(d) for d in dict.fromkeys(digits)]
        return None if not picked or None in picked else tuple(p for p in picked if p)
    choice = ids.get(digits)
    return (choice,) if choice else None


def _step(value: str | None) -> int:
    """Return the step number an action URL carries (0 for the incoming call)."""
    if value is None or not value.isdecimal() or len(value) > 5:
        return 0
    return min(int(value), MAX_STEP)


def _now() -> datetime:
    return datetime.now(UTC)


def _xml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")
