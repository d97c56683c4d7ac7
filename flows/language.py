"""Choosing the conversation's language: the menu, a guess offered once, a change any time.

Part of `flows.engine.Flow` (a mixin): the language is confirmed by the resident, never
imposed; changing it keeps every answer and returns to where the conversation was.
"""

from __future__ import annotations

import re

from flows.answers import Invalid, parse_answer
from flows.messages import Choice, Outbound
from flows.types import ConversationState, Kind, Language, Option, Phase, Step, Turn, TurnContext


class LanguageChoice:
    """The language menu and its phase; mixed into `Flow`.

    A guess at the resident's language is only ever offered, never imposed, and only
    before they have made any choice of language (choosing the default counts): from the
    browser's or Telegram's language, from the first message, or from words typed at the
    menu instead of a choice. After a choice, nothing they type (a name, an address, a
    story in another language) changes or offers a language; the `language` command and
    the menu stay there for them.
    """

    def _offer_guess(self, state: ConversationState, text: str, ctx: TurnContext
                     ) -> Turn | None:
        """Offer the language of words typed at the menu, once, before any choice."""
        if (ctx.detect is None or state.notes.get("language_offered")
                or state.notes.get("language_chosen") or not looks_like_words(text)):
            return None
        guess = ctx.detect(text)
        if guess is None or guess == state.locale:
            return None
        state.notes["language_offered"] = True
        state.notes["language_guess"] = guess
        t = ctx.translate(guess)
        offer = self._say(t.gettext("It looks like you may prefer another language. You can "
                                    "choose one here."), ctx, guess)
        return Turn(state, (offer, self.language_menu(guess, ctx, first=guess)))

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
            offer = self._offer_guess(state, inbound.text, ctx)
            if offer is not None:
                return offer
            error = self._say(parsed.message(t), ctx, state.locale)
            return Turn(state, (error, self.language_menu(state.locale, ctx)))
        state.locale = parsed
        state.notes["language_chosen"] = True
        state.notes.pop("language_guess", None)
        state.phase = state.resume_phase or Phase.ACTIVE
        state.resume_phase = None
        t = ctx.translate(state.locale)
        done = self._say(t.gettext("Thank you. We will use this language."), ctx, state.locale)
        if state.phase is Phase.SUBMITTED:
            return Turn(state, (done,))
        if state.phase in (Phase.RECONNECTING, Phase.FOLLOWING_UP):
            return Turn(state, (done, *self.follow_up_again(state, ctx)))
        if state.phase is Phase.OFFERING_DETAILS:
            return Turn(state, (done, self.details_offer(state, ctx)))
        if state.phase is Phase.CHANGING:
            return Turn(state, (done, self._ask_section(state, ctx)))
        if state.phase is Phase.PAUSED:
            state.phase = Phase.ACTIVE
        return Turn(state, (done, self.ask(self._current(state), state, ctx)))


MIN_WORDS = 3
# Links, email addresses and anything with a digit or a mid-word capital (Base64, ids,
# codes, numbers) are not words anyone's language can be told from.
_NOT_WORDS = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S*|\S+@\S+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_MIXED_CASE = re.compile(r"[^\W\d_]*[a-z][A-Z]")


def prose(text: str) -> str:
    """Return only the words of `text`: no links, addresses, numbers or codes.

    This is what a language may be guessed from; empty unless it is at least three words
    and most of the message (one or two words, a name or "yes", are too short to tell, and
    Base64, links and numbers look like a language to a detector but are not).
    """
    tokens = _NOT_WORDS.sub(" \x00 ", text).split()
    words = [tok for tok in (t.strip(".,;:!?¿¡()\"'“”‘’«»،؟।") for t in tokens)
             if _WORD.fullmatch(tok) and not (len(tok) > 3 and _MIXED_CASE.match(tok))]
    if len(words) < MIN_WORDS or len(words) * 2 <= len(tokens):
        return ""
    return " ".join(words)


def looks_like_words(text: str) -> bool:
    """Return whether `text` is at least three words of prose, not a code, link or number."""
    return bool(prose(text))


def _languages_first(ctx: TurnContext, code: str) -> list[Language]:
    """Return the enabled languages with `code` first, the rest in configured order."""
    return sorted(ctx.languages, key=lambda lang: lang.code != code)


def is_rtl(locale: str, ctx: TurnContext) -> bool:
    """Return whether `locale` is written right to left among the enabled languages."""
    return any(lang.code == locale and lang.rtl for lang in ctx.languages)
