"""One Telegram update, from parsed JSON to replies sent: shared by the webhook and `poll`.

Everything that must survive a redelivered update is keyed on `update_id`: the turn itself
(the runner dedupes on ``update:<id>``), the outbox row of its replies (dedupe key), and a
keyboard tick (the chat memo's last update id). The replies are committed to the outbox in
the turn's own transaction and handed to the chat's lane (lanes.py), which sends them after
the webhook has answered, in order with everything else for that chat; a crash before they
go loses nothing: the row stays leased in the outbox and the worker sends it when the lease
runs out.

Decisions kept deliberately simple:

* ``/start`` on a new conversation opens it; on an existing one it shows help and the
  current question (it never throws answers away; ``/restart`` does that). A deep-link
  payload is used only as a language hint when it names an enabled language.
* An edited message counts as a new answer only when it is the resident's latest message
  and that message did not move the conversation on (it was not understood, so we are
  still waiting for an answer to the same question). Otherwise the answer was already
  used, and we say so kindly, with how to change it.
* A button from an older question (stale) is answered and the current question is sent
  again. Button ids are only trusted for the question being asked now: "yes" on an old
  question must never answer a new one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.sending import Envelope
from bot.turns import RateLimit
from channels.telegram import lanes
from channels.telegram import parse as tp
from channels.telegram.api import TelegramConfig, markup
from channels.telegram.media import fetch_pending_media
from channels.telegram.render import render_all, with_ticks
from channels.telegram.send import CHANNEL
from flows.engine import Kind
from flows.messages import Inbound, Outbound

if TYPE_CHECKING:
    from bot.chatmemo import ChatMemo
    from bot.runner import TurnTx
    from bot.turns import ConversationView, TurnResult
    from channels.base import ChannelPorts

log = logging.getLogger("reportbot.telegram")


def gettext(message: str) -> str:
    """Mark a message for extraction; it is translated when the reply is made."""
    return message


# The same words as the SMS limit's notice (one msgid, already in every catalog).
SLOW_DOWN = gettext("You are sending messages faster than we can read them. Please wait a "
                    "minute, then send your last answer again.")


class Updates:
    """Handle Telegram updates for one bot."""

    def __init__(self, ports: ChannelPorts, config: TelegramConfig) -> None:
        self.ports = ports
        self.config = config
        self.rate_limit = RateLimit(config.rate_limit, SLOW_DOWN)

    def process(self, update: dict) -> None:
        """Handle one update exactly once: run the turn, queue the replies and hand them to
        the chat's lane (lanes.py), which sends them after this returns."""
        parsed = tp.parse_update(update)
        if parsed is None:
            log.warning("telegram: ignored a body that is not an update")
            return
        conv = None
        if parsed.kind in (tp.MESSAGE, tp.EDITED, tp.CALLBACK):
            # One look at the conversation serves the whole update (it is locked only by
            # the turn). Writing to us again means the resident can be reached again.
            conv = self.ports.runner.peek(CHANNEL, parsed.chat_id)
            if conv is not None and conv.unreachable:
                self.ports.delivery.mark_reachable(CHANNEL, parsed.chat_id)
        if parsed.kind == tp.MEMBER:
            self._membership(parsed)
        elif parsed.kind == tp.GROUP:
            self._group(parsed)
        elif parsed.kind == tp.MESSAGE:
            self._message(parsed, conv)
        elif parsed.kind == tp.EDITED:
            self._edited(parsed, conv)
        elif parsed.kind == tp.CALLBACK:
            self._callback(parsed, conv)
        elif parsed.callback_id:
            self._answer(parsed)

    # ---- the kinds of update -----------------------------------------------------------

    def _membership(self, parsed: tp.Parsed) -> None:
        """A resident who blocks the bot cannot be reached: say so on their case; unblocking
        clears it. Nothing is sent, and no conversation is started."""
        if parsed.status == "kicked":
            conv = self.ports.runner.peek(CHANNEL, parsed.chat_id)
            if conv is not None and not conv.unreachable:
                self.ports.delivery.mark(conv.id, unreachable=True)
        elif parsed.status == "member":
            self.ports.delivery.mark_reachable(CHANNEL, parsed.chat_id)

    def _group(self, parsed: tp.Parsed) -> None:
        """Say once per group that the bot only talks in private; read nothing of it."""
        if parsed.callback_id:
            self._answer(parsed)
        t = self.ports.catalogs("en")
        text = t.gettext("Hello. To keep reports private, this service only talks in a "
                         "private chat. Please open a private chat with this bot to report "
                         "something.")
        key = f"telegram:group:{self.ports.delivery.key(CHANNEL, parsed.chat_id)}"
        self._send(parsed.chat_id, [{"text": text}], key, conversation_id=None)

    def _message(self, parsed: tp.Parsed, conv: ConversationView | None,
                 choices: tuple[str, ...] = ()) -> None:
        runner, catalogs = self.ports.runner, self.ports.catalogs
        hint = catalogs.negotiate(parsed.payload) or parsed.language_code
        command = parsed.command
        if command == "start":
            command = "help" if conv is not None and conv.active else None
        inbound = Inbound(
            channel=CHANNEL, sender=parsed.chat_id, message_id=f"update:{parsed.update_id}",
            text=parsed.text, choices=choices, media=parsed.media, language_hint=hint,
            command=command, location=parsed.place,
        )
        before = conv.question if conv is not None else None
        from_text = parsed.kind in (tp.MESSAGE, tp.EDITED)
        key = self._key(parsed.update_id)
        queued: list[tuple[int, dict, int]] = []

        def then(tx: TurnTx, result: TurnResult) -> None:
            # Inside the turn's transaction: the replies are queued (born leased to this
            # process) and the chat's memo updated atomically with the turn itself.
            replies = list(result.replies)
            if conv is None:
                replies = self._confirm_language(replies)
            after = next((r.question for r in reversed(replies) if r.question), None)

            payload = {"chat_id": parsed.chat_id,
                       "messages": render_all(replies, self._translator(replies))}
            row = tx.queue(kind="reply", channel=CHANNEL, payload=payload, dedupe_key=key) \
                if payload["messages"] else None
            tx.note_message(parsed.chat_id, parsed.message_id if from_text else None,
                            from_text and before is not None and before == after)
            if row is not None:
                queued.append((row, payload, tx.conversation_id))

        result = runner.handle(inbound, rate_limit=self.rate_limit, then=then)
        if result.refused:
            # Over the chat's limit: the message is not taken; the first refusal of the
            # minute carries one notice, the rest nothing.
            replies = list(result.replies)
            found = runner.peek(CHANNEL, parsed.chat_id)
            self._send(parsed.chat_id, render_all(replies, self._translator(replies)), key,
                       conversation_id=found.id if found else None)
            return
        if queued:
            row, payload, conversation_id = queued[0]
            lanes.send(parsed.chat_id, Envelope(row, "reply", CHANNEL, conversation_id, None,
                                                payload, attempts=1),
                       self.ports.delivery, self.config.bot)
        elif result.duplicate:
            # A redelivery: queue (a no-op) and send whatever the first delivery left unsent.
            replies = list(result.replies)
            found = runner.peek(CHANNEL, parsed.chat_id)
            self._send(parsed.chat_id, render_all(replies, self._translator(replies)), key,
                       conversation_id=found.id if found else None)
        if parsed.media:
            self._fetch_media(parsed.chat_id)

    def _edited(self, parsed: tp.Parsed, conv: ConversationView | None) -> None:
        memo = self.ports.delivery.memo(CHANNEL, parsed.chat_id)
        if memo.last_unanswered and memo.last_message_id is not None \
                and memo.last_message_id == parsed.message_id and not parsed.command:
            self._message(parsed, conv)
            return
        t = self.ports.catalogs(conv.locale if conv else "en")
        text = t.gettext("Thank you. We had already noted your earlier message, so this "
                         "change was not added. To change an answer, type: back. You can "
                         "also change anything when we show you the summary at the end.")
        self._send(parsed.chat_id, [{"text": text}], self._key(parsed.update_id),
                   conversation_id=conv.id if conv else None)

    def _callback(self, parsed: tp.Parsed, conv: ConversationView | None) -> None:
        if conv is None or not conv.active or conv.phase == "paused":
            # No conversation to match the button against (or a pause): carry on or start.
            self._answer(parsed)
            self._message(parsed, conv)
            return
        step = self.ports.flow.by_id.get(parsed.step or "")
        t = self.ports.catalogs(conv.locale)
        if parsed.step != conv.question or not parsed.option:
            self._answer(parsed, t.gettext(
                "That question has already been answered. Here is the one we are on now."))
            self._reask(parsed, conv)
            return
        if step is not None and step.kind is Kind.MULTI:
            if parsed.option != tp.DONE:
                self._answer(parsed)
                self._toggle(parsed, {o.id: o for o in step.options})
                return
            picked = self._selection(parsed)
            if not picked:
                self._answer(parsed, t.gettext(
                    "Please choose at least one answer, then press Done."))
                return
            order = [o.id for o in step.options]
            self._answer(parsed)
            self._message(parsed, conv, tuple(sorted(picked, key=order.index)))
            return
        self._answer(parsed)
        self._message(parsed, conv, (parsed.option,))

    # ---- keyboards -------------------------------------------------------------------

    def _toggle(self, parsed: tp.Parsed, options: dict) -> None:
        """Tick or untick one option of a multi-select keyboard, kept in the chat memo."""

        def tick(memo: ChatMemo) -> None:
            if memo.last_update_id is not None and parsed.update_id <= memo.last_update_id:
                return  # a redelivery: the tick was counted already
            same = (memo.keyboard_message_id == parsed.message_id
                    and memo.keyboard_step == parsed.step)
            selected = set(memo.selected) if same else set()
            option = options.get(parsed.option)
            if option is not None:
                if option.id in selected:
                    selected.discard(option.id)
                elif option.exclusive:
                    selected = {option.id}
                else:
                    selected = {s for s in selected
                                if not getattr(options.get(s), "exclusive", False)}
                    selected.add(option.id)
            memo.keyboard_message_id = parsed.message_id
            memo.keyboard_step = parsed.step
            memo.selected = sorted(selected)
            memo.last_update_id = parsed.update_id

        memo = self.ports.delivery.update_memo(CHANNEL, parsed.chat_id, tick)
        new_markup = with_ticks(parsed.keyboard, parsed.step or "", set(memo.selected))
        if parsed.message_id is None:
            return
        # The ticks live in the database; "Done" submits them even if the redraw failed.
        lanes.call_later(parsed.chat_id, self.config.bot,
                         lambda bot: bot.edit_message_reply_markup(
                             chat_id=parsed.chat_id, message_id=parsed.message_id,
                             reply_markup=markup(new_markup)), "redraw a keyboard")

    def _selection(self, parsed: tp.Parsed) -> set[str]:
        memo = self.ports.delivery.memo(CHANNEL, parsed.chat_id)
        if memo.keyboard_message_id != parsed.message_id \
                or memo.keyboard_step != parsed.step:
            return set()
        return set(memo.selected)

    def _reask(self, parsed: tp.Parsed, conv: ConversationView) -> None:
        """Send the question being asked now again, as it was last sent."""
        question = self.ports.runner.last_question(conv.id)
        if question is None or conv.phase == "submitted":
            return
        self._send(parsed.chat_id, render_all([question], self._translator([question])),
                   self._key(parsed.update_id), conversation_id=conv.id)

    # ---- pieces ----------------------------------------------------------------------

    def _key(self, update_id: int) -> str:
        return f"telegram:{self.config.bot.bot_id}:update:{update_id}"

    def _translator(self, replies):
        return self.ports.catalogs(replies[-1].lang if replies else "en")

    def _confirm_language(self, replies: list[Outbound]) -> list[Outbound]:
        """After the greeting, say which language we picked and how to change it."""
        languages = self.ports.catalogs.languages
        if len(languages) < 2 or not replies:
            return replies
        locale = replies[0].lang
        t = self.ports.catalogs(locale)
        name = next((lang.autonym for lang in languages if lang.code == locale), locale)
        note = Outbound(text=t.gettext("We will write to you in %(language)s. To choose "
                                       "another language, send /language.")
                        % {"language": name}, lang=locale, dir=replies[0].dir, input="text")
        return [replies[0], note, *replies[1:]]

    def _send(self, chat_id: str, messages: list[dict], key: str,
              conversation_id: int | None) -> None:
        """Queue the messages under `key` (once) and hand them to the chat's lane."""
        if not messages:
            return
        queued = self.ports.delivery.queue(
            kind="reply", channel=CHANNEL, payload={"chat_id": chat_id, "messages": messages},
            dedupe_key=key, conversation_id=conversation_id)
        if queued is not None:
            envelope, done = queued
            lanes.send(chat_id, envelope, self.ports.delivery, self.config.bot, done)

    def _answer(self, parsed: tp.Parsed, text: str | None = None) -> None:
        """Answer a button press so the resident's app stops its spinner (in the chat's
        lane, after the replies before it); a press too old to answer is harmless."""
        callback_id = parsed.callback_id
        if not callback_id:
            return
        lanes.call_later(parsed.chat_id, self.config.bot,
                         lambda bot: bot.answer_callback_query(callback_id, text=text),
                         "answer a button press")

    def _fetch_media(self, chat_id: str) -> None:
        """Fetch this chat's new files after the replies went; the worker retries failures."""
        conv = self.ports.runner.peek(CHANNEL, chat_id)
        if conv is None:
            return
        try:
            # Short, so a big file never holds the request near gunicorn's timeout; the
            # worker fetches what this could not.
            fetch_pending_media(self.ports.media, self.config, conversation_id=conv.id,
                                timeout=10)
        except Exception:  # noqa: BLE001 - the files stay pending; the worker retries them
            log.exception("telegram: fetching evidence failed; left for the worker")
