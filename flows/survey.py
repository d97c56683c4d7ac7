"""The satisfaction survey after a case closes (policy 13.1): two questions, no pressure.

Pure, like the report flow. The first question goes out through the outbox as plain text
with numbered answers (it is not a reply, and SMS has no buttons); the resident's answer
comes back as an ordinary message, which `answer` reads. Any other message (a command, a
new report) is not the survey's, and a reply that is not understood is asked about once,
then left alone: not answering is fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.acknowledgement import isolate
from flows.answers import Invalid, match_command, parse_answer
from flows.messages import Inbound
from flows.types import N_, Kind, Option, Step, Translator

SATISFACTION = Step(
    "satisfaction",
    N_("Your report %(reference)s is now closed. How satisfied are you with how we dealt "
       "with it? Reply with a number, if you wish."),
    Kind.CHOICE, (
        Option("1", N_("Very unhappy")),
        Option("2", N_("Unhappy")),
        Option("3", N_("Neither")),
        Option("4", N_("Happy")),
        Option("5", N_("Very happy")),
    ))
REPORT_AGAIN = Step(
    "report_again",
    N_("Thank you. If something like this happened again, would you report it to us?"),
    Kind.CHOICE, (
        Option("yes", N_("Yes")),
        Option("no", N_("No")),
        Option("not_sure", N_("I'm not sure")),
    ))
THANKS = N_("Thank you for your answers. They help us do better. If you are in danger, "
            "call 999.")
STAGES = {s.id: s for s in (SATISFACTION, REPORT_AGAIN)}


@dataclass(frozen=True)
class _Channel:
    """What parsing needs to know of the channel: every option is offered."""

    can_reply_later: bool = True


@dataclass(frozen=True)
class SurveyReply:
    """What to do with one message of a resident who has an open survey.

    `mine` is False when the message is not an answer (the report flow takes it);
    otherwise `value` is the answer to `stage` (None if not understood) and `text` is
    what to say back. `finished` is True after the last answer.
    """

    mine: bool
    stage: str = ""
    value: str | None = None
    text: str = ""
    finished: bool = False


def question(stage: str, t: Translator, reference: str = "", locale: str = "en") -> str:
    """Return a survey question with its numbered answers, in the resident's language."""
    step = STAGES[stage]
    text = t.gettext(step.prompt)
    if "%(reference)s" in step.prompt:
        text = text % {"reference": isolate(reference, locale)}
    lines = [f"{i}. {t.gettext(o.label)}" for i, o in enumerate(step.options, start=1)]
    return "\n".join([text, *lines])


def answer(stage: str, misunderstood: int, inbound: Inbound, t: Translator,
           locale: str = "en") -> SurveyReply:
    """Read the resident's message as an answer to `stage`, if it is one."""
    if inbound.command or match_command(inbound.text, t) or (
            inbound.media and not inbound.text.strip()):
        return SurveyReply(mine=False)
    step = STAGES[stage]
    parsed = parse_answer(step, inbound, t, _Channel())
    if isinstance(parsed, Invalid):
        if misunderstood:
            return SurveyReply(mine=False)
        again = question(stage, t, locale=locale).split("\n", 1)[1] if stage == \
            SATISFACTION.id else question(stage, t, locale=locale)
        return SurveyReply(mine=True, stage=stage, text=f"{parsed.message(t)}\n{again}")
    if stage == SATISFACTION.id:
        return SurveyReply(mine=True, stage=stage, value=parsed,
                           text=question(REPORT_AGAIN.id, t, locale=locale))
    return SurveyReply(mine=True, stage=stage, value=parsed, text=t.gettext(THANKS),
                       finished=True)
