"""A chat's memo: what a channel with buttons must remember between updates.

For Telegram: the resident's last message (so an edit of an unanswered message can count
as the answer) and the ticks of a multi-select keyboard, with the last update that changed
them, so a redelivered button press changes nothing. Kept in the database, keyed by the
sender's blind index, because several workers serve one chat; the ticks are sealed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.crypto import Vault
from bot.models import TelegramChat, utcnow
from bot.upsert import insert


@dataclass
class ChatMemo:
    """One chat's bookkeeping; channels change it only through `update`."""

    last_message_id: int | None = None
    last_unanswered: bool = False
    keyboard_message_id: int | None = None
    keyboard_step: str | None = None
    selected: list[str] = field(default_factory=list)
    last_update_id: int | None = None


def read(session: Session, vault: Vault, channel: str, sender: str) -> ChatMemo:
    """Return the chat's memo (empty for a chat never seen)."""
    row = session.get(TelegramChat, vault.index(channel, sender))
    return _memo(row, vault) if row is not None else ChatMemo()


def update(session: Session, vault: Vault, channel: str, sender: str,
           change: Callable[[ChatMemo], None]) -> ChatMemo:
    """Lock the chat's memo, apply `change` to it and store it; return the new memo."""
    index = vault.index(channel, sender)
    row = session.get(TelegramChat, index, with_for_update=True)
    if row is None:
        row = TelegramChat(chat_index=index, last_unanswered=False)
        session.add(row)
    memo = _memo(row, vault)
    change(memo)
    row.last_message_id = memo.last_message_id
    row.last_unanswered = memo.last_unanswered
    row.keyboard_message_id = memo.keyboard_message_id
    row.keyboard_step = memo.keyboard_step
    row.selected_enc = vault.seal_json(sorted(memo.selected))
    row.last_update_id = memo.last_update_id
    row.updated_at = utcnow()
    return memo


def note_message(session: Session, vault: Vault, channel: str, sender: str,
                 message_id: int | None, unanswered: bool) -> None:
    """Record the chat's last message and whether it went unanswered, in one statement.

    A turn changes only these two, so it writes only these two: no read, no lock of its
    own (the turn holds the conversation's), and a keyboard's ticks stored meanwhile by a
    button press are left as they are.
    """
    now = utcnow()
    values = {"last_message_id": message_id, "last_unanswered": unanswered,
              "updated_at": now}
    session.execute(
        insert(session, TelegramChat)
        .values(chat_index=vault.index(channel, sender), **values)
        .on_conflict_do_update(index_elements=["chat_index"], set_=values))


def _memo(row: TelegramChat, vault: Vault) -> ChatMemo:
    return ChatMemo(
        last_message_id=row.last_message_id, last_unanswered=bool(row.last_unanswered),
        keyboard_message_id=row.keyboard_message_id, keyboard_step=row.keyboard_step,
        selected=list(vault.open_json(row.selected_enc) or ()) if row.selected_enc else [],
        last_update_id=row.last_update_id,
    )
