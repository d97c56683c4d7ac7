"""What arrives besides words: files and shared locations, kept and acknowledged.

Part of `flows.engine.Flow` (a mixin). The runner keeps every file and every shared
location with the report (as evidence) before the flow runs; the flow says so, uses a
location as the answer where the step takes one (the location step), uses words sent with
files as the answer when they are one, and otherwise asks the current question again.
"""

from __future__ import annotations

from flows.messages import Inbound, Outbound
from flows.types import ConversationState, Phase, Turn, TurnContext


class Attachments:
    """Files and locations that are not (only) an answer; mixed into `Flow`."""

    def _kept_note(self, state: ConversationState, inbound: Inbound, ctx: TurnContext
                   ) -> Turn | None:
        """Thank for a file or a location that is not an answer here, and ask again.

        The runner has already kept the files, and any shared location, with the report
        (evidence); only a location at a step that takes one is an answer.
        """
        if state.phase is Phase.PAUSED:
            return None  # anything sent now means they are back: carry on
        takes_place = state.phase in (Phase.ACTIVE, Phase.ADDING_DETAILS) \
            and self._current(state).place
        if inbound.location is not None and not takes_place:
            t = ctx.translate(state.locale)
            note = self._say(t.gettext("Thank you. We have kept this location with your "
                                       "report."), ctx, state.locale)
            return Turn(state, (note, *self._ask_again(state, ctx)))
        if inbound.media and not inbound.text.strip() and not inbound.choices \
                and inbound.location is None:
            return Turn(state, (self._files_note(inbound, ctx, state.locale),
                                *self._ask_again(state, ctx)))
        return None

    def _files_note(self, inbound: Inbound, ctx: TurnContext, locale: str) -> Outbound:
        t = ctx.translate(locale)
        return self._say(t.ngettext(
            "Thank you. We have kept this file with your report.",
            "Thank you. We have kept these %(num)d files with your report.",
            len(inbound.media)) % {"num": len(inbound.media)}, ctx, locale)

    def _ask_again(self, state: ConversationState, ctx: TurnContext) -> tuple[Outbound, ...]:
        """Return what the conversation is waiting for now, asked again."""
        if state.phase is Phase.CHOOSING_LANGUAGE:
            return (self.language_menu(state.locale, ctx),)
        if state.phase is Phase.OFFERING_DETAILS:
            return (self.details_offer(state, ctx),)
        if state.phase is Phase.CHANGING:
            return (self._ask_section(state, ctx),)
        if state.phase in (Phase.RECONNECTING, Phase.FOLLOWING_UP):
            return self.follow_up_again(state, ctx)
        if state.phase is Phase.SUBMITTED:
            t = ctx.translate(state.locale)
            return (self._say(self.after_submit(state, t), ctx, state.locale, done=True),)
        return (self.ask(self._current(state), state, ctx),)

