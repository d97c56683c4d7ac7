"""After the acknowledgement: offering the optional details, and collecting them.

Part of `flows.engine.Flow` (a mixin). Once the essentials are sent and acknowledged the
resident is offered the optional details ("about N questions"). Saying yes moves the
conversation to ADDING_DETAILS, where the non-essential steps are asked in order and each
answer goes to the case at once through `ctx.ports.add_detail`, so nothing answered is lost
if the resident stops half-way. "Not now", or the last detail, ends the conversation.

Other channels reuse this: a voice call runs only the essential steps, and a follow-up menu
can call `begin_details` while `details_pending` is not empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.answers import Commands, Invalid, parse_answer
from flows.messages import Choice, Outbound
from flows.types import N_, ConversationState, Kind, Option, Phase, Step, Turn, TurnContext

OFFER_STEP = "details_offer"
ADD = Option("add", N_("Yes, add details"))
# "No" typed on its own declines too.
LATER = Option("later", N_("No, not now"))


class DetailsPhase:
    """The optional details after the acknowledgement; mixed into `Flow`."""

    def details_pending(self, answers: Mapping[str, Any]) -> list[Step]:
        """Return the optional steps that apply to these answers and are not answered yet."""
        return [s for s in self.steps
                if not s.essential and s.id not in answers and s.applies(answers)]

    def details_offer(self, state: ConversationState, ctx: TurnContext) -> Outbound:
        """Return the offer to add the optional details, saying about how many questions."""
        t = ctx.translate(state.locale)
        count = len(self.details_pending(state.answers))
        text = t.ngettext(
            "If you have a few more minutes, you can add details that help us (about "
            "%(num)d question). Would you like to?",
            "If you have a few more minutes, you can add details that help us (about "
            "%(num)d questions). Would you like to?", count) % {"num": count}
        return self._render_question(
            OFFER_STEP, text, tuple(Choice(o.id, t.gettext(o.label)) for o in (ADD, LATER)),
            multiple=False, locale=state.locale, ctx=ctx)

    def begin_details(self, state: ConversationState, ctx: TurnContext) -> Turn:
        """Start asking the optional details of a submitted report (state holds its answers)."""
        state.phase = Phase.ADDING_DETAILS
        state.history = []
        first = self.details_pending(state.answers)
        if not first:
            return self._details_done(state, ctx)
        state.asked = first[0].id
        return Turn(state, (self.ask(first[0], state, ctx),))

    def _after_submit_offer(self, state: ConversationState, ctx: TurnContext) -> Outbound | None:
        """Move a just-submitted conversation on to the offer, or to the end if none apply."""
        state.history = []
        if not self.details_pending(state.answers):
            state.phase = Phase.SUBMITTED
            state.asked = None
            return None
        state.phase = Phase.OFFERING_DETAILS
        state.asked = OFFER_STEP
        return self.details_offer(state, ctx)

    def _answer_offer(self, state: ConversationState, inbound, ctx: TurnContext,
                      command: str | None) -> Turn:
        t = ctx.translate(state.locale)
        if command == Commands.HELP:
            help_text = self._say(self.help_text(self._help_step(state), t), ctx, state.locale)
            return Turn(state, (help_text, self.details_offer(state, ctx)))
        if command == Commands.BACK:
            note = self._say(t.gettext("Your report has already been sent."), ctx,
                             state.locale)
            return Turn(state, (note, self.details_offer(state, ctx)))
        pseudo = Step(OFFER_STEP, "", Kind.CHOICE, (ADD, LATER))
        parsed = parse_answer(pseudo, inbound, t, ctx)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.details_offer(state, ctx)))
        if parsed == ADD.id:
            return self.begin_details(state, ctx)
        state.phase = Phase.SUBMITTED
        state.asked = None
        text = t.gettext("That is fine. Your report has been sent as it is. If you are in "
                         "danger, call 999.")
        return Turn(state, (self._say(text, ctx, state.locale, done=True),))

    def _details_done(self, state: ConversationState, ctx: TurnContext,
                      prefix: tuple[Outbound, ...] = ()) -> Turn:
        t = ctx.translate(state.locale)
        state.phase = Phase.SUBMITTED
        state.asked = None
        text = t.gettext("Thank you. We have added these details to your report. If you are "
                         "in danger, call 999.")
        return Turn(state, (*prefix, self._say(text, ctx, state.locale, done=True)))
