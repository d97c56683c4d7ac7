"""The web chat: the page at /chat and the small JSON API it uses.

Views verify, parse, hand off to the conversation runner and return; nothing else.
"""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, current_app, jsonify, render_template, request

from bot.services import Services
from channels.base import ChannelLimits
from flows.messages import Inbound

LIMITS = ChannelLimits(name="webchat", max_text=5000, buttons=True, can_reply_later=False)

def gettext(message: str) -> str:
    """Mark a message for extraction; it is translated when the reply is made."""
    return message


_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_TEXT = 5000
MAX_CHOICES = 20

bp = Blueprint("webchat", __name__)


def _services() -> Services:
    return current_app.extensions["reportbot"]


def _error(status: int, code: str, message: str, **values):
    """Answer with a kind message in the browser's language (msgids extracted by Babel)."""
    s = _services()
    t = s.catalogs(s.catalogs.negotiate(request.accept_languages.best) or "en")
    text = t.gettext(message)
    return jsonify({"error": code, "message": text % values if values else text}), status


@bp.get("/chat")
def page():
    """Serve the chat page in the browser's preferred enabled language."""
    s = _services()
    # ?lang= is the language the resident chose in the conversation; otherwise the browser's.
    locale = (s.catalogs.negotiate(request.args.get("lang"))
              or s.catalogs.negotiate(request.accept_languages.best) or "en")
    t = s.catalogs(locale)
    rtl = any(lang.code == locale and lang.rtl for lang in s.catalogs.languages)

    def translate(message: str, **values) -> str:
        text = t.gettext(message)
        return text % values if values else text

    return render_template(
        "chat.html", lang=locale, dir="rtl" if rtl else "ltr", _=translate,
        org_name=s.org.name_in(locale), quick_exit_url=s.org.quick_exit_url,
    )


@bp.post("/api/chat/sessions")
def open_session():
    """Start a conversation and return its opaque session token and first messages."""
    body = request.get_json(silent=True)
    if body is None and request.content_length:
        return _error(400, "bad_request", gettext("The request body must be JSON."))
    language = (body or {}).get("language")
    if language is not None and not isinstance(language, str):
        return _error(400, "bad_request", gettext("language must be a language code."))
    token = secrets.token_urlsafe(32)
    hint = language or request.accept_languages.best
    result = _services().conversations.open(LIMITS.name, token, language_hint=hint)
    return jsonify({"session": token,
                    "messages": [m.as_json() for m in result.replies]}), 201


@bp.post("/api/chat/sessions/<token>/messages")
def post_message(token: str):
    """Hand the resident's message to the conversation and return the replies."""
    gone = gettext("This conversation has ended or does not exist. Please start a new "
                   "report.")
    if not _TOKEN.match(token):
        return _error(404, "unknown_session", gone)
    inbound = _parse(request.get_json(silent=True), token)
    if isinstance(inbound, tuple):
        return _error(400, "bad_request", *inbound[:1], **inbound[1])
    result = _services().conversations.handle(inbound, create=False)
    if result is None:
        return _error(404, "unknown_session", gone)
    return jsonify({"messages": [m.as_json() for m in result.replies], "done": result.done})


def _parse(body, token: str) -> Inbound | tuple[str, dict]:
    """Parse the JSON body into an Inbound, or return why it cannot be (msgid, values)."""
    if not isinstance(body, dict):
        return gettext("The request body must be a JSON object."), {}
    text = body.get("text", "")
    choices = body.get("choices")
    choice = body.get("choice")
    client_id = body.get("client_id")
    if not isinstance(text, str):
        return gettext("text must be a string."), {}
    if len(text) > MAX_TEXT:
        return gettext("Please keep a message under %(limit)d characters."), {"limit": MAX_TEXT}
    if choice is not None:
        if not isinstance(choice, str) or not _ID.match(choice):
            return gettext("choice must be a choice id."), {}
        choices = [choice]
    if choices is not None and (
        not isinstance(choices, list) or len(choices) > MAX_CHOICES
        or not all(isinstance(c, str) and _ID.match(c) for c in choices)
    ):
        return gettext("choices must be a list of choice ids."), {}
    if client_id is not None and (not isinstance(client_id, str) or not _ID.match(client_id)):
        return gettext("client_id must be a short id."), {}
    return Inbound(
        channel=LIMITS.name, sender=token,
        message_id=client_id or secrets.token_hex(16),
        text=text, choices=tuple(choices or ()),
    )
