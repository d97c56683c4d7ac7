"""Telegram updates parsed into what the pipeline acts on; pure, no I/O.

Works on the update JSON as Telegram sends it (plain dicts), so fields Telegram adds later
are ignored rather than refused. Only private chats carry a conversation; anything from a
group, supergroup or channel is recognised so the bot can say, once, that it only talks in
private, without reading the content. A shared location or venue becomes a `Place`; a
private chat's `my_chat_member` update says whether the resident blocked the bot
(``kicked``) or unblocked it (``member``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flows.messages import Media, Place
from flows.places import place_from

# Telegram sends one of these per update; the rest are ignored (we ask for these only).
MESSAGE, EDITED, CALLBACK, GROUP, IGNORED = "message", "edited", "callback", "group", "ignored"
MEMBER = "member"  # the bot's membership of a private chat changed: blocked or unblocked

COMMANDS = {"start": "start", "help": "help", "language": "language", "restart": "restart"}
DONE = "!done"

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.S)
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Media types kept as evidence: (update field, default content type).
_FILES = (("document", "application/octet-stream"), ("video", "video/mp4"),
          ("audio", "audio/mpeg"), ("voice", "audio/ogg"), ("video_note", "video/mp4"),
          ("animation", "video/mp4"))

FILE_SCHEME = "telegram-file:"


@dataclass(frozen=True)
class Parsed:
    """One update, reduced to what the pipeline needs.

    `chat_id` is the private chat (also the resident's user id). For a button press,
    `callback_id` must be answered, `step`/`option` come from its callback_data and
    `keyboard` is the pressed message's inline keyboard (to redraw ticks).
    """

    kind: str
    update_id: int
    chat_id: str = ""
    message_id: int | None = None
    text: str = ""
    command: str | None = None
    payload: str | None = None
    media: tuple[Media, ...] = ()
    language_code: str | None = None
    callback_id: str | None = None
    step: str | None = None
    option: str | None = None
    keyboard: list = field(default_factory=list)
    place: Place | None = None
    status: str | None = None  # a MEMBER update's new status: "kicked", "member", …


def parse_update(update: dict) -> Parsed | None:
    """Parse an update dict; return None when it is not an update at all."""
    update_id = update.get("update_id") if isinstance(update, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    for key, kind in (("message", MESSAGE), ("edited_message", EDITED)):
        message = update.get(key)
        if isinstance(message, dict):
            return _message(update_id, message, kind)
    query = update.get("callback_query")
    if isinstance(query, dict):
        return _callback(update_id, query)
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        return _membership(update_id, member)
    return Parsed(IGNORED, update_id)


def _membership(update_id: int, change: dict) -> Parsed:
    """Read a private chat's change of the bot's status (blocked, unblocked)."""
    chat_id, chat_type = _chat(change)
    new = change.get("new_chat_member") if isinstance(change.get("new_chat_member"), dict) \
        else {}
    status = new.get("status")
    if chat_id is None or chat_type != "private" or not isinstance(status, str):
        return Parsed(IGNORED, update_id)
    return Parsed(MEMBER, update_id, chat_id=chat_id, status=status[:20])


def _chat(message: dict) -> tuple[str | None, str]:
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    chat_id = chat.get("id")
    return (str(chat_id) if isinstance(chat_id, int) else None), str(chat.get("type", ""))


def _language(sender) -> str | None:
    code = sender.get("language_code") if isinstance(sender, dict) else None
    return code if isinstance(code, str) and len(code) <= 16 else None


def _message(update_id: int, message: dict, kind: str) -> Parsed:
    chat_id, chat_type = _chat(message)
    if chat_id is None:
        return Parsed(IGNORED, update_id)
    if chat_type != "private":
        return Parsed(GROUP, update_id, chat_id=chat_id)
    text = message.get("text") if isinstance(message.get("text"), str) else ""
    caption = message.get("caption") if isinstance(message.get("caption"), str) else ""
    command = payload = None
    match = _COMMAND.match(text.strip())
    if match:
        # Unknown commands (a Telegram menu, a typo) get help, never count as an answer.
        command = COMMANDS.get(match.group(1).lower(), "help")
        rest = (match.group(2) or "").strip()
        payload = rest if _PAYLOAD.match(rest) else None
        text = ""
    message_id = message.get("message_id")
    return Parsed(
        kind, update_id, chat_id=chat_id,
        message_id=message_id if isinstance(message_id, int) else None,
        text=text or caption, command=command, payload=payload,
        media=_media(message), language_code=_language(message.get("from")),
        place=_place(message),
    )


def _place(message: dict) -> Place | None:
    """Return a shared location, or a venue with its name and address, if any."""
    venue = message.get("venue") if isinstance(message.get("venue"), dict) else {}
    where = venue.get("location") if isinstance(venue.get("location"), dict) else \
        message.get("location")
    if not isinstance(where, dict):
        return None
    return place_from(where.get("latitude"), where.get("longitude"),
                      venue.get("address", ""), venue.get("title", ""))


def _media(message: dict) -> tuple[Media, ...]:
    """Return the files attached to a message, by file id (never by URL)."""
    found: list[Media] = []
    photos = message.get("photo")
    if isinstance(photos, list) and photos:
        # Telegram lists the sizes smallest first; keep the largest.
        best = photos[-1] if isinstance(photos[-1], dict) else {}
        if isinstance(best.get("file_id"), str):
            found.append(Media("image/jpeg", url=FILE_SCHEME + best["file_id"]))
    for key, default_type in _FILES:
        item = message.get(key)
        if isinstance(item, dict) and isinstance(item.get("file_id"), str):
            content_type = item.get("mime_type") or default_type
            name = item.get("file_name")
            found.append(Media(str(content_type)[:100], url=FILE_SCHEME + item["file_id"],
                               filename=name if isinstance(name, str) else None))
    return tuple(found)


def _callback(update_id: int, query: dict) -> Parsed:
    query_id = query.get("id") if isinstance(query.get("id"), str) else None
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat_id, chat_type = _chat(message)
    if chat_id is None or query_id is None:
        return Parsed(IGNORED, update_id, callback_id=query_id)
    if chat_type != "private":
        return Parsed(GROUP, update_id, chat_id=chat_id, callback_id=query_id)
    data = query.get("data") if isinstance(query.get("data"), str) else ""
    step, _, option = data.partition(":")
    markup = message.get("reply_markup") if isinstance(message.get("reply_markup"), dict) \
        else {}
    keyboard = markup.get("inline_keyboard")
    message_id = message.get("message_id")
    return Parsed(
        CALLBACK, update_id, chat_id=chat_id,
        message_id=message_id if isinstance(message_id, int) else None,
        callback_id=query_id, step=step or None, option=option or None,
        keyboard=keyboard if isinstance(keyboard, list) else [],
        language_code=_language(query.get("from")),
    )


def file_id(url: str | None) -> str | None:
    """Return the Telegram file id from a pending evidence source, if it is one."""
    if url and url.startswith(FILE_SCHEME):
        return url[len(FILE_SCHEME):]
    return None
