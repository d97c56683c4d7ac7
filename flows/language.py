"""Choosing the conversation's language: the menu, a guess offered once, a change any time.

Part of `flows.engine.Flow` (a mixin): the language is confirmed by the resident, never
imposed; changing it keeps every answer and returns to where the conversation was.
"""

from __future__ import annotations

from flows.answers import Invalid, parse_answer
from flows.messages import Choice, Outbound
from flows.types import ConversationState, Kind, Language, Option, Phase, Step, Turn, TurnContext


class LanguageChoice:
    """The language menu and its phase; mixed into `Flow`."""

    def _maybe_offer_language(self, turn: Turn, text: str, ctx: TurnContext) -> Turn:
        """Offer the language a resident seems to be writing in, once, without imposing it."""
        state = turn.state
        # Only while the conversation is in the landlord's default language: once someone
        # has chosen another language, English names and addresses in their answers must
        # not pull them back.
        default = ctx.languages[0].code if ctx.languages else state.locale
        if (ctx.detect is None or state.notes.get("language_offered")
                or state.phase is not Phase.ACTIVE or state.locale != default):
            return turn
        guess = ctx.detect(text)
        if guess is None or guess == state.locale:
            return turn
        state.notes["language_offered"] = True
        state.notes["language_guess"] = guess
        state.resume_phase = Phase.ACTIVE
        state.phase = Phase.CHOOSING_LANGUAGE
        t = ctx.translate(guess)
        offer = self._say(t.gettext("It looks like you may prefer another language. You can "
                                    "choose one here."), ctx, guess)
        menu = self.language_menu(guess, ctx, first=guess)
        return Turn(state, (*turn.replies[:-1], offer, menu))

    def _offer_languages(self, state: ConversationState, ctx: TurnContext) -> Turn:
        if state.phase is not Phase.CHOOSING_LANGUAGE:
            state.resume_phase = state.phase
        state.phase = Phase.CHOOSING_LANGUAGE
        return Turn(state, (self.language_menu(state.locale, ctx),))

    def language_menu(self, locale: str, ctx: TurnContext, first: str | None = None) -> Outbound:
        """Return the language question, each language named in its own script."""
        t = ctx.translate(locale)
        ordered = _languages_first(ctx, first or locale)
        choices = tuple(Choice(lang.code, lang.autonym) for lang in ordered)
        return self._render_question(
            "language", t.gettext("Which language would you like to use?"), choices,
            multiple=False, locale=locale, ctx=ctx,
        )

    def _choose_language(self, state: ConversationState, inbound, ctx: TurnContext) -> Turn:
        t = ctx.translate(state.locale)
        ordered = _languages_first(ctx, state.notes.get("language_guess") or state.locale)
        pseudo = Step("language", "", Kind.CHOICE,
                      tuple(Option(lang.code, lang.autonym) for lang in ordered))
        parsed = parse_answer(pseudo, inbound, t, ctx, translate_labels=False)
        if isinstance(parsed, Invalid):
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.language_menu(state.locale, ctx)))
        state.locale = parsed
        state.notes.pop("language_guess", None)
        state.phase = state.resume_phase or Phase.ACTIVE
        state.resume_phase = None
        t = ctx.translate(state.locale)
        done = self._say(t.gettext("Thank you. We will use this language."), ctx, state.locale)
        if state.phase is Phase.SUBMITTED:
            return Turn(state, (done,))
        if state.phase is Phase.OFFERING_DETAILS:
            return Turn(state, (done, self.details_offer(state, ctx)))
        if state.phase is Phase.CHANGING:
            return Turn(state, (done, self._ask_section(state, ctx)))
        if state.phase is Phase.PAUSED:
            state.phase = Phase.ACTIVE
        return Turn(state, (done, self.ask(self._current(state), state, ctx)))


def _languages_first(ctx: TurnContext, code: str) -> list[Language]:
    """Return the enabled languages with `code` first, the rest in configured order."""
    return sorted(ctx.languages, key=lambda lang: lang.code != code)


def is_rtl(locale: str, ctx: TurnContext) -> bool:
    """Return whether `locale` is written right to left among the enabled languages."""
    return any(lang.code == locale and lang.rtl for lang in ctx.languages)
