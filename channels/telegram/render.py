"""Render `Outbound` messages for Telegram: inline keyboards, ticks, 4096-character parts.

A rendered message is a plain JSON-safe dict (``text`` and optional ``reply_markup``) so it
can be sealed into the outbox and sent later by any process. Buttons carry
``step:option`` as callback_data, which the flow has already checked fits in 64 bytes.
"""

from __future__ import annotations

from channels.base import ChannelLimits, split_text
from channels.telegram.parse import DONE
from flows.messages import Outbound

LIMITS = ChannelLimits(name="telegram", max_text=4096, buttons=True, can_reply_later=True)
TICK = "✓ "
MAX_CALLBACK_BYTES = 64


def callback_data(step: str, option: str) -> str:
    """Return a button's callback_data, refusing one Telegram would reject."""
    data = f"{step}:{option}"
    if not 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES:
        raise ValueError(f"callback_data for {step}:{option} is over 64 bytes")
    return data


def done_label(translate) -> str:
    """Return the label of a multi-select keyboard's submit button."""
    return translate.gettext("Done – send my choices")


def render(message: Outbound, translate) -> list[dict]:
    """Return the Telegram messages for one `Outbound`; the keyboard goes on the last part."""
    text = message.text or " "
    if message.progress is not None:
        # Where the resident is: "Step 3 of about 8 · When and where", above the question.
        where = " · ".join(p for p in (message.progress.text, message.progress.section) if p)
        text = f"{where}\n\n{text}"
    parts = split_text(text, LIMITS.max_text)
    rendered: list[dict] = [{"text": part} for part in parts]
    if message.choices and message.question:
        rows = [[{"text": c.label, "callback_data": callback_data(message.question, c.id)}]
                for c in message.choices]
        if message.multiple:
            rows.append([{"text": done_label(translate),
                          "callback_data": callback_data(message.question, DONE)}])
        rendered[-1]["reply_markup"] = {"inline_keyboard": rows}
    return rendered


def render_all(messages, translate) -> list[dict]:
    """Render a turn's replies, in order."""
    return [part for message in messages for part in render(message, translate)]


def with_ticks(keyboard: list, step: str, selected: set[str]) -> dict:
    """Redraw a multi-select keyboard received back from Telegram with `selected` ticked."""
    rows = []
    for row in keyboard:
        new_row = []
        for button in row if isinstance(row, list) else ():
            if not isinstance(button, dict):
                continue
            data = str(button.get("callback_data", ""))
            label = str(button.get("text", ""))
            label = label[len(TICK):] if label.startswith(TICK) else label
            option = data.partition(":")[2]
            if data.startswith(step + ":") and option != DONE and option in selected:
                label = TICK + label
            new_row.append({"text": label, "callback_data": data})
        rows.append(new_row)
    return {"inline_keyboard": rows}
