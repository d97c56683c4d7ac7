"""One Telegram update, from parsed JSON to replies sent: shared by the webhook and `poll`.

Everything that must survive a redelivered update is keyed on `update_id`: the turn itself
(`Conversations.handle` dedupes on ``update:<id>``), the outbox row of its replies (dedupe
key), and a keyboard tick (`TelegramChat.last_update_id`). The replies are committed to the
outbox first and then sent at once by this process; a crash in between loses nothing
because Telegram redelivers an update until we answer 2xx, and the replay finds the row.

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

from sqlalchemy import select, update

from bot.models import Conversation, InboundMessage, OutboxMessage, TelegramChat, utcnow
from bot.outbox import Outbox, enqueue
from channels import telegram_parse as tp
from channels.telegram_bot import TelegramConfig, TelegramError, call, markup
from channels.telegram_media import fetch_pending_media
from channels.telegram_render import render_all, with_ticks
from channels.telegram_send import CHANNEL, TelegramSender, deliver_now
from flows.engine import Kind
from flows.messages import Inbound, Outbound

log = logging.getLogger("reportbot.telegram")


def process_update(services, config: TelegramConfig, update: dict) -> None:
    """Handle one update exactly once: run the turn, queue and send the replies."""
    parsed = tp.parse_update(update)
    if parsed is None:
        log.warning("telegram: ignored a body that is not an update")
        return
    if parsed.kind in (tp.MESSAGE, tp.EDITED, tp.CALLBACK):
        _reachable_again(services, parsed.chat_id)
    if parsed.kind == tp.GROUP:
        _group(services, config, parsed)
    elif parsed.kind == tp.MESSAGE:
        _message(services, config, parsed)
    elif parsed.kind == tp.EDITED:
        _edited(services, config, parsed)
    elif parsed.kind == tp.CALLBACK:
        _callback(services, config, parsed)
    elif parsed.callback_id:
        _answer(config, parsed.callback_id)


# ---- the kinds of update ---------------------------------------------------------------

def _group(services, config: TelegramConfig, parsed: tp.Parsed) -> None:
    """Say once per group that the bot only talks in private; read nothing of the content."""
    if parsed.callback_id:
        _answer(config, parsed.callback_id)
    t = services.catalogs("en")
    text = t.gettext("Hello. To keep reports private, this service only talks in a private "
                     "chat. Please open a private chat with this bot to report something.")
    key = f"telegram:group:{services.vault.index(CHANNEL, parsed.chat_id)}"
    _send(services, config, parsed.chat_id, [{"text": text}], key, conversation_id=None)


def _message(services, config: TelegramConfig, parsed: tp.Parsed,
             choices: tuple[str, ...] = ()) -> None:
    conv = _conversation(services, parsed.chat_id)
    hint = services.catalogs.negotiate(parsed.payload) or parsed.language_code
    command = parsed.command
    if command == "start":
        command = "help" if conv is not None and conv.state_enc is not None else None
    inbound = Inbound(
        channel=CHANNEL, sender=parsed.chat_id, message_id=f"update:{parsed.update_id}",
        text=parsed.text, choices=choices, media=parsed.media, received_at=utcnow(),
        language_hint=hint, command=command,
    )
    before = _asked(services, conv)
    from_text = parsed.kind in (tp.MESSAGE, tp.EDITED)
    key = _key(config, parsed.update_id)
    queued: list[tuple[int, dict, int]] = []

    def then(session, conversation, result) -> None:
        # Inside the turn's transaction: the replies are queued (born leased to this
        # process) and the chat's bookkeeping updated atomically with the turn itself.
        replies = list(result.replies)
        if conv is None:
            replies = _confirm_language(services, replies)
        after = next((r.question for r in reversed(replies) if r.question), None)

        def bookkeeping(chat: TelegramChat) -> None:
            chat.last_message_id = parsed.message_id if from_text else None
            chat.last_unanswered = from_text and before is not None and before == after

        payload = {"chat_id": parsed.chat_id,
                   "messages": render_all(replies, _translator(services, replies))}
        row = _queue(session, services, parsed.chat_id, payload, key, conversation.id,
                     bookkeeping)
        if row is not None:
            queued.append((row, payload, conversation.id))

    result = services.conversations.handle(inbound, then=then)
    if queued:
        _deliver(services, config, *queued[0])
    elif result.duplicate:
        # A redelivery: queue (a no-op) and send whatever the first delivery left unsent.
        replies = list(result.replies)
        _send(services, config, parsed.chat_id, render_all(replies, _translator(
            services, replies)), key, inbound=True)
    if parsed.media:
        _fetch_media(services, parsed.chat_id)


def _edited(services, config: TelegramConfig, parsed: tp.Parsed) -> None:
    index = services.vault.index(CHANNEL, parsed.chat_id)
    with services.db.read() as session:
        chat = session.get(TelegramChat, index)
    if chat is not None and chat.last_unanswered and chat.last_message_id is not None \
            and chat.last_message_id == parsed.message_id and not parsed.command:
        _message(services, config, parsed)
        return
    conv = _conversation(services, parsed.chat_id)
    t = services.catalogs(conv.locale if conv else "en")
    text = t.gettext("Thank you. We had already noted your earlier message, so this change "
                     "was not added. To change an answer, type: back. You can also change "
                     "anything when we show you the summary at the end.")
    _send(services, config, parsed.chat_id, [{"text": text}], _key(config, parsed.update_id),
          conversation_id=conv.id if conv else None)


def _callback(services, config: TelegramConfig, parsed: tp.Parsed) -> None:
    conv = _conversation(services, parsed.chat_id)
    if conv is None or conv.state_enc is None or conv.phase == "paused":
        # No conversation to match the button against (or a pause): carry on or start.
        _answer(config, parsed.callback_id)
        _message(services, config, parsed)
        return
    current = _asked(services, conv)
    step = services.flow.by_id.get(parsed.step or "")
    t = services.catalogs(conv.locale)
    if parsed.step != current or not parsed.option:
        _answer(config, parsed.callback_id, t.gettext(
            "That question has already been answered. Here is the one we are on now."))
        _reask(services, config, parsed, conv)
        return
    if step is not None and step.kind is Kind.MULTI:
        if parsed.option != tp.DONE:
            _toggle(services, config, parsed, {o.id: o for o in step.options})
            _answer(config, parsed.callback_id)
            return
        picked = _selection(services, parsed)
        if not picked:
            _answer(config, parsed.callback_id, t.gettext(
                "Please choose at least one answer, then press Done."))
            return
        order = [o.id for o in step.options]
        _answer(config, parsed.callback_id)
        _message(services, config, parsed, tuple(sorted(picked, key=order.index)))
        return
    _answer(config, parsed.callback_id)
    _message(services, config, parsed, (parsed.option,))


# ---- keyboards -----------------------------------------------------------------------

def _toggle(services, config: TelegramConfig, parsed: tp.Parsed, options: dict) -> None:
    """Tick or untick one option of a multi-select keyboard, kept in the database."""
    vault = services.vault
    index = vault.index(CHANNEL, parsed.chat_id)
    with services.db.write() as session:
        chat = session.get(TelegramChat, index, with_for_update=True)
        if chat is None:
            chat = TelegramChat(chat_index=index, last_unanswered=False)
            session.add(chat)
        if chat.last_update_id is not None and parsed.update_id <= chat.last_update_id:
            selected = set(vault.open_json(chat.selected_enc) or ())  # a redelivery
        else:
            same = (chat.keyboard_message_id == parsed.message_id
                    and chat.keyboard_step == parsed.step)
            selected = set(vault.open_json(chat.selected_enc) or ()) if same else set()
            option = options.get(parsed.option)
            if option is not None:
                if option.id in selected:
                    selected.discard(option.id)
                elif option.exclusive:
                    selected = {option.id}
                else:
                    selected = {s for s in selected if not getattr(options.get(s),
                                                                   "exclusive", False)}
                    selected.add(option.id)
            chat.keyboard_message_id = parsed.message_id
            chat.keyboard_step = parsed.step
            chat.selected_enc = vault.seal_json(sorted(selected))
            chat.last_update_id = parsed.update_id
            chat.updated_at = utcnow()
    new_markup = with_ticks(parsed.keyboard, parsed.step or "", selected)
    if parsed.message_id is None:
        return
    try:
        call(config.bot, lambda bot: bot.edit_message_reply_markup(
            chat_id=parsed.chat_id, message_id=parsed.message_id,
            reply_markup=markup(new_markup)))
    except (TelegramError, TimeoutError) as exc:
        # The ticks live in the database; "Done" submits them even if the redraw failed.
        log.info("telegram: could not redraw a keyboard (%s)", type(exc).__name__)


def _selection(services, parsed: tp.Parsed) -> set[str]:
    with services.db.read() as session:
        chat = session.get(TelegramChat, services.vault.index(CHANNEL, parsed.chat_id))
    if chat is None or chat.keyboard_message_id != parsed.message_id \
            or chat.keyboard_step != parsed.step:
        return set()
    return set(services.vault.open_json(chat.selected_enc) or ())


def _reask(services, config: TelegramConfig, parsed: tp.Parsed, conv: Conversation) -> None:
    """Send the question being asked now again, as it was last sent."""
    with services.db.read() as session:
        sealed = session.scalar(select(InboundMessage.replies_enc)
                                .where(InboundMessage.conversation_id == conv.id)
                                .order_by(InboundMessage.id.desc()).limit(1))
    replies = [Outbound.from_json(r) for r in services.vault.open_json(sealed) or ()]
    questions = [r for r in replies if r.question]
    if not questions or conv.phase == "submitted":
        return
    _send(services, config, parsed.chat_id,
          render_all(questions[-1:], _translator(services, questions)),
          _key(config, parsed.update_id), conversation_id=conv.id)


# ---- pieces --------------------------------------------------------------------------

def _key(config: TelegramConfig, update_id: int) -> str:
    return f"telegram:{config.bot.bot_id}:update:{update_id}"


def _translator(services, replies):
    return services.catalogs(replies[-1].lang if replies else "en")


def _conversation(services, chat_id: str) -> Conversation | None:
    indexes = services.vault.indexes(CHANNEL, chat_id)
    with services.db.read() as session:
        return session.scalar(select(Conversation).where(
            Conversation.channel == CHANNEL, Conversation.sender_index.in_(indexes)))


def _asked(services, conv: Conversation | None) -> str | None:
    """Return the id of the question the conversation is waiting on, if any."""
    if conv is None or conv.state_enc is None:
        return None
    state = services.vault.open_json(conv.state_enc) or {}
    phase = state.get("phase")
    if phase == "choosing_language":
        return "language"
    if phase == "changing":
        return "change"
    if phase in ("submitted", "paused"):
        return None
    return state.get("asked")


def _confirm_language(services, replies: list[Outbound]) -> list[Outbound]:
    """After the greeting, say which language we picked and how to change it."""
    languages = services.catalogs.languages
    if len(languages) < 2 or not replies:
        return replies
    locale = replies[0].lang
    t = services.catalogs(locale)
    name = next((lang.autonym for lang in languages if lang.code == locale), locale)
    note = Outbound(text=t.gettext("We will write to you in %(language)s. To choose another "
                                   "language, send /language.") % {"language": name},
                    lang=locale, dir=replies[0].dir, input="text")
    return [replies[0], note, *replies[1:]]


def _queue(session, services, chat_id: str, payload: dict, key: str,
           conversation_id: int | None, bookkeeping=None) -> int | None:
    """Queue a reply once, leased to this process; update the chat's bookkeeping."""
    row = None
    if payload["messages"]:
        row = enqueue(session, services.vault, kind="reply", channel=CHANNEL,
                      payload=payload, dedupe_key=key, conversation_id=conversation_id,
                      claim=True)
    if bookkeeping is not None:
        index = services.vault.index(CHANNEL, chat_id)
        chat = session.get(TelegramChat, index, with_for_update=True)
        if chat is None:
            chat = TelegramChat(chat_index=index, last_unanswered=False)
            session.add(chat)
        bookkeeping(chat)
        chat.updated_at = utcnow()
    return row


def _send(services, config: TelegramConfig, chat_id: str, messages: list[dict], key: str,
          conversation_id: int | None = None, inbound: bool = False) -> None:
    """Queue the messages under `key` (once) and try to deliver them now."""
    indexes = services.vault.indexes(CHANNEL, chat_id)
    with services.db.write() as session:
        if inbound:
            conversation_id = session.scalar(select(Conversation.id).where(
                Conversation.channel == CHANNEL, Conversation.sender_index.in_(indexes)))
        payload = {"chat_id": chat_id, "messages": messages}
        row = _queue(session, services, chat_id, payload, key, conversation_id)
        # Already queued (a redelivery): send what is still pending, unless another
        # process holds its lease right now.
        pending = None if row is not None else session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == key, OutboxMessage.status == "pending"))
    if row is not None:
        _deliver(services, config, row, payload, conversation_id)
    elif pending is not None:
        deliver_now(services, config, [pending])


def _deliver(services, config: TelegramConfig, row: int, payload: dict,
             conversation_id: int | None) -> None:
    """Send a reply this process has just queued (and leased) without claiming it again."""
    outbox = Outbox(services, {CHANNEL: TelegramSender(services, config)})
    outbox.deliver_claimed(row, "reply", CHANNEL, payload, conversation_id)


def _reachable_again(services, chat_id: str) -> None:
    """Writing to us again means the resident no longer blocks the bot."""
    indexes = services.vault.indexes(CHANNEL, chat_id)
    with services.db.read() as session:
        blocked = session.scalar(select(Conversation.id).where(
            Conversation.channel == CHANNEL, Conversation.sender_index.in_(indexes),
            Conversation.unreachable.is_(True)))
    if blocked is not None:
        with services.db.write() as session:
            session.execute(update(Conversation).where(Conversation.id == blocked)
                            .values(unreachable=False))


def _answer(config: TelegramConfig, callback_id: str | None, text: str | None = None) -> None:
    """Answer a button press so the resident's app stops its spinner; never raises."""
    if not callback_id:
        return
    try:
        call(config.bot, lambda bot: bot.answer_callback_query(callback_id, text=text))
    except (TelegramError, TimeoutError) as exc:
        # Redelivered or old presses can no longer be answered; that is harmless.
        log.info("telegram: could not answer a button press (%s)", type(exc).__name__)


def _fetch_media(services, chat_id: str) -> None:
    """Fetch this chat's new files after the replies went; the worker retries failures."""
    conv = _conversation(services, chat_id)
    if conv is None:
        return
    try:
        # Short, so a big file never holds the request near gunicorn's timeout; the worker
        # fetches what this could not.
        fetch_pending_media(services, conversation_id=conv.id, timeout=10)
    except Exception:  # noqa: BLE001 - the files stay pending; the worker retries them
        log.exception("telegram: fetching evidence failed; left for the worker")
